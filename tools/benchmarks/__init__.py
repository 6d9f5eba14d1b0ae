"""Benchmarks (`make bench`): figures measured in one run, written to docs/benchmarks.md."""
