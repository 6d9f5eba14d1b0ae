"""make bench renders the bulk-import benchmark (tools/benchmarks/bulk_import.py) as a section of
docs/benchmarks.md: its tables and the bound computed from the run's own figures. No stack here."""

from __future__ import annotations

from typing import Any

from benchmarks import bulk_import


def _run(target: str, **changes: Any) -> dict[str, Any]:
    """One of bench_import.run_one's rows, 400 records."""
    row = {"target": target, "records": 400, "created": 400, "failed": 0, "seconds": 5.0,
           "records_per_second": 80.0, "customers_in_account": 400, "events_after_s": 21.3, "events": 400,
           "load_average": [1.2, 2.4],
           "cpu_ms_per_record": {"import": 2.1, "stack": 0.3, "dynamodb_local": 8.0, "moto": 0.01},
           "cpu_ms_per_record_until_events": {"stack": 9.5, "dynamodb_local": 15.2, "moto": 0.02},
           "jvm_busiest_thread": {"name": "SQLiteQueue[sha", "cpu_ms_per_record": 6.5, "busy": 0.52},
           "jvm_sqlite_thread": {"name": "SQLiteQueue[sha", "cpu_ms_per_record": 6.5, "busy": 0.52},
           "dynamodb_calls_per_record": {"GetItem": 0.003, "TransactWriteItems": 0.2},
           "dynamodb_items_per_record": {"GetItem": 0.01, "TransactWriteItems": 16.0},
           "command": f"customers-admin --{target} import --format cstar cstar-400-{target}.json --concurrency 8",
           "exit": 0}
    return {**row, **changes}


REPORT: dict[str, Any] = {
    "results": [_run("local"),
                _run("api", records_per_second=40.0, seconds=10.0, dynamodb_calls_per_record={},
                     dynamodb_items_per_record={})],
    "engine": [{"engine": "PutItem", "items_per_call": 1, "items_per_second": 450, "ms_per_call": 8.9,
                "jvm_cpu_us_per_item": 1075, "jvm_cores": 0.48, "load_average": 2.0},
               {"engine": "TransactWriteItems", "items_per_call": 100, "items_per_second": 1570,
                "ms_per_call": 254.0, "jvm_cpu_us_per_item": 505, "jvm_cores": 0.79, "load_average": 2.1}],
    "count": 400, "filesystem": "ext4", "started": "2026-12-02T10:06:00+00:00",
    "finished": "2026-12-02T10:09:00+00:00", "seconds": 180,
}


def test_the_section_has_its_heading_command_tables_and_the_computed_bound():
    text = "\n".join(bulk_import.render(REPORT, "make bench"))
    assert text.lstrip().startswith("## Import into the local stack: 400 records (`customers-admin import`)\n")
    assert "Produced by `make bench` on 2026-12-02 between 10:06 and 10:09 UTC" in text
    assert "a `cstar` page of 400 synthetic records" in text and "ext4" in text
    assert "customers-admin --local import --format cstar cstar-400-local.json --concurrency 8" in text
    # the per-run, CPU, busiest-thread and engine tables
    assert "| `--local` (bulk path) | 400 | 5.0 | 80.0 | 400 | 21.3 | 1.2–2.4 |" in text
    assert ("| `--local` (bulk path) | 2.1 | 8.0 | 0.3 | 15.2 | 9.5 | GetItem 0.003 (0.01), TransactWriteItems 0.2 "
            "(16.0) |") in text
    assert "| `--api` (HTTP array creates) | 2.1 | 8.0 | 0.3 | 15.2 | 9.5 | none (HTTP) |" in text
    assert "| `--local` (bulk path) | busiest: `SQLiteQueue[sha` | 6.5 | 52% |" in text
    assert "| SQLite: " not in text  # the busiest thread is the SQLite one: one row
    assert "| TransactWriteItems | 100 | 1,570 | 254.0 | 505 | 0.79 | 2.1 |" in text
    # the bound, from the bulk run: 16 items written per record (reads not counted), 8 ms of JVM CPU
    assert "write 16.0 items" in text
    assert "500 µs per item" in text  # 8.0 ms / 16 items
    assert "kept 0.64 cores busy" in text  # 8.0 ms × 80 records/s / 1000
    assert "1000 / 8.0 ms ≈ **125 records/s**" in text and "reached 64% of it." in text
    assert "which took 6.5 ms per record here and was on a CPU 52% of the import's time" in text
    assert "under 5 ms (1.6× less than measured)" in text
    assert "Not every record" not in text


def test_when_the_jvm_was_not_serial_the_sqlite_thread_gives_the_bound():
    """A short run: the JIT compiler is the JVM's busiest thread and the JVM keeps more than a core
    busy, so 1000 / (JVM ms per record) is below the rate reached."""
    warm_up = _run("local", records_per_second=31.4, cpu_ms_per_record={"import": 7.3, "stack": 1.8,
                                                                         "dynamodb_local": 45.8},
                   jvm_busiest_thread={"name": "C2 CompilerThre", "cpu_ms_per_record": 21.0, "busy": 0.66},
                   jvm_sqlite_thread={"name": "SQLiteQueue[sha", "cpu_ms_per_record": 12.5, "busy": 0.39})
    text = "\n".join(bulk_import.render({**REPORT, "results": [warm_up]}))
    assert "| `--local` (bulk path) | busiest: `C2 CompilerThre` | 21.0 | 66% |" in text
    assert "| `--local` (bulk path) | SQLite: `SQLiteQueue[sha` | 12.5 | 39% |" in text
    assert "kept 1.44 cores busy" in text and "≈ **22 records/s**" in text
    assert "the SQLite thread's: 1000 / 12.5 ms ≈ 80 records/s" in text
    assert "(9.2× less than measured)" in text


def test_a_short_import_is_said_and_without_a_bulk_run_there_is_no_bound():
    short = {**REPORT, "results": [_run("api", customers_in_account=399, created=399, events=390,
                                        dynamodb_calls_per_record={}, dynamodb_items_per_record={})]}
    text = "\n".join(bulk_import.render(short))
    assert "Not every record was imported" in text and "(390 made)" in text
    assert "What bounds the bulk path" not in text


def test_the_section_replaces_its_own_or_is_appended():
    section = bulk_import.render(REPORT, "make bench")
    document = (f"# Benchmarks\n\n## Before\n\nkept\n\n{bulk_import.HEADING}\n\nold hand-written text\n\n"
                "## Metadata filters, by account size\n\nkept too\n")
    replaced = bulk_import.replace_section(document, section)
    assert bulk_import.HEADING not in replaced and "old hand-written text" not in replaced  # 10,000 → 400
    assert replaced.count("## Import into the local stack: 400 records") == 1
    assert "≈ **125 records/s**" in replaced
    assert replaced.index("## Before") < replaced.index("## Import") < replaced.index("## Metadata filters")
    assert replaced.rstrip().endswith("kept too")
    full = bulk_import.render({**REPORT, "count": 10_000}, "make bench")
    assert bulk_import.replace_section(replaced, full).count(bulk_import.HEADING) == 1  # and back

    appended = bulk_import.replace_section("# Benchmarks\n\n## Before\n\nkept\n", full)
    assert appended.startswith("# Benchmarks\n\n## Before\n\nkept\n\n" + bulk_import.HEADING + "\n")
    assert appended.count("## Import into the local stack") == 1 and appended.endswith("\n")
