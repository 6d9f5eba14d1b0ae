"""make bench puts the first-start measurement into docs/benchmarks.md as a section of its own."""

from __future__ import annotations

from local_stack.first_start import into_section

REPORT = "# First start and restart of the local stack\n\nfirst start 20.4 s\n"


def test_the_report_is_appended_once_and_then_replaced_in_place():
    document = "# Benchmarks\n\n## What a request costs\n\n| a |\n"
    once = into_section(document, REPORT)
    assert once.count("## First start and restart of the local stack") == 1 and once.startswith(document.rstrip())
    again = into_section(once + "\n## Later\n\nkept\n", REPORT.replace("20.4", "19.0"))
    assert again.count("## First start and restart") == 1 and "19.0 s" in again and "20.4" not in again
    assert again.rstrip().endswith("kept") and "## What a request costs" in again
