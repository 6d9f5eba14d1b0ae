"""customers-admin import/export, in process: reading files, each format's mapping field by field,
validation, repeats within a file, the write path's decisions (against moto's DynamoDB through the
logic layer, and against a mocked HTTP API), the dry run's report, the checkpoint, progress."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from customers_admin import importing, migrate, reading
from customers_admin.formats import FORMATS
from customers_admin.formats.common import Builder, normalize_tags, unix_seconds
from customers_admin.importing import Options, Scan
from customers_admin.progress import Meter
from customers_admin.reading import FileError, Malformed, read_records
from customers_admin.targets import HttpTarget, TableTarget, batch_key
from customers_admin.validation import Checked, check
from customers_core.dal.table import Table
from rich.console import Console

from tests.import_samples import E1, G1, G_BAD, SAMPLES, check_customer, write_sample

# --- reading -------------------------------------------------------------------------------------------


def _read(path: Path) -> list[tuple[int, Any]]:
    return [(r.line, r.record) for r in read_records(path)]


def test_reads_a_json_array_with_the_line_of_each_record(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[\n  {"id": 1},\n\n  {"id": 2,\n   "x": [1, 2]}, {"id": 3}\n]\n')
    assert _read(path) == [(2, {"id": 1}), (4, {"id": 2, "x": [1, 2]}), (5, {"id": 3})]


def test_reads_a_pretty_printed_page_under_data_or_customers(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text('{\n "success": true,\n "pagination": {"page": 1},\n "customers": [\n  {"id": "a"},\n'
                    '  {"id": "b"}\n ],\n "more": {"data": [9]}\n}\n')
    assert _read(path) == [(5, {"id": "a"}), (6, {"id": "b"})]


def test_reads_json_lines_and_a_page_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text('{"id": "a"}\n\n{"object": "list", "data": [{"id": "b"}, {"id": "c"}]}\nnot json\n[1]\n{"id": "d"}')
    got = _read(path)
    assert got[:3] == [(1, {"id": "a"}), (3, {"id": "b"}), (3, {"id": "c"})]
    assert got[3][0] == 4 and isinstance(got[3][1], Malformed)
    assert got[4][0] == 5 and isinstance(got[4][1], Malformed)  # an array line: not a record
    assert got[5] == (6, {"id": "d"})  # the last line has no newline


def test_a_wrapped_single_record_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{\n  "customer": {"id": "pc_1", "email": "a@example.com"}\n}\n')
    assert _read(path) == [(1, {"id": "pc_1", "email": "a@example.com"})]
    path.write_text('{"success": true, "data": {"id": "u1"}}\n')
    assert _read(path) == [(1, {"id": "u1"})]


def test_reads_across_window_refills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "CHUNK", 7)  # every value straddles a refill
    items = [{"id": f"r{i}", "n": 12345678 + i, "s": "é" * i, "ok": i % 2 == 0} for i in range(30)]
    path = tmp_path / "big.json"
    path.write_text("\ufeff{\"object\": \"list\", \"data\": [\n" + ",\n".join(json.dumps(i) for i in items) + "]}")
    got = _read(path)
    assert [r for _, r in got] == items
    assert [line for line, _ in got] == list(range(2, 32))
    lines = tmp_path / "big.jsonl"
    lines.write_text("".join(json.dumps(i) + "\n" for i in items))
    assert [r for _, r in _read(lines)] == items


@pytest.mark.parametrize("text", ['[{"id": 1},, {"id": 2}]', '{"data": [{"id": 1}', '"just a string"',
                                  '[{"id": 1}] trailing'])
def test_a_broken_file_stops_with_its_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(FileError, match="line 1"):
        _read(path)


def test_a_value_over_the_limit_stops_the_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "CHUNK", 100)
    monkeypatch.setattr(reading, "MAX_VALUE", 1000)
    path = tmp_path / "big-record.json"
    path.write_text('[\n{"id": "a"},\n{"id": "b", "notes": "' + "x" * 2000 + '"}\n]')
    with pytest.raises(FileError, match="line 3: a JSON value larger than"):
        _read(path)
    lines = tmp_path / "big-line.jsonl"
    lines.write_text('{"id": "a"}\n{"id": "b", "notes": "' + "x" * 2000 + '"}\n')
    with pytest.raises(FileError, match="line 2: a line longer than"):
        _read(lines)
    never_ends = tmp_path / "never-ends.json"
    never_ends.write_text('[{"id": "a"}, {"id": "b", "notes": "' + "x" * 5000)
    with pytest.raises(FileError, match="larger than"):  # not read whole to find out
        _read(never_ends)


def test_a_whole_page_on_one_line_is_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page longer than any one value may be, on one line (`curl … > page.json`), is read record by
    record like a pretty-printed one."""
    monkeypatch.setattr(reading, "CHUNK", 64)
    monkeypatch.setattr(reading, "MAX_VALUE", 1000)
    items = [{"id": f"cus_{i}", "email": f"e{i}@example.com"} for i in range(100)]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"object": "list", "data": items, "has_more": False}))
    assert _read(path) == [(1, item) for item in items]


def test_reading_holds_a_window_of_the_file_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    monkeypatch.setattr(reading, "CHUNK", 64 << 10)
    items = [{"id": f"cus_{i:08d}", "email": f"someone.{i}@example.com", "name": "Grace Hopper",
              "metadata": {"plan": "pro", "n": str(i)}} for i in range(40_000)]
    page, lines = tmp_path / "page.json", tmp_path / "lines.jsonl"
    page.write_text('{"object": "list", "data": [\n' + ",\n".join(json.dumps(i) for i in items) + "\n]}\n")
    lines.write_text("".join(json.dumps(i) + "\n" for i in items))
    del items
    for path in (page, lines):
        assert path.stat().st_size > 4_000_000
        tracemalloc.start()
        count = sum(1 for _ in read_records(path))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == 40_000
        assert peak < 1_000_000, (path.name, peak)  # a window of 64 KiB (as text), not 4 MB


def test_an_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("\n  \n")
    assert _read(path) == []


# --- mapping rules -------------------------------------------------------------------------------------


def test_the_command_line_lists_every_format() -> None:
    assert set(migrate.IMPORT_FORMATS) == set(FORMATS)
    assert set(migrate.ON_CONFLICT) == {"skip", "update", "fail"}


@pytest.mark.parametrize(("value", "seconds"), [
    ("2026-03-30T12:00:00Z", 1774872000), ("2026-03-30T14:00:00+02:00", 1774872000),
    ("2026-03-30T12:00:00", 1774872000), ("2026-03-30T12:00:00.999Z", 1774872000), (1713100800, 1713100800),
    ("1713100800", 1713100800), ("yesterday", None), (True, None), (None, None)])
def test_timestamps(value: Any, seconds: int | None) -> None:
    assert unix_seconds(value) == seconds


def test_names_are_split_and_joined() -> None:
    out = Builder()
    out.names("Jean-Luc  Picard")
    assert out.params == {"name": "Jean-Luc  Picard", "first_name": "Jean-Luc", "last_name": "Picard"}
    out = Builder()
    out.names(None, "Ada", "Lovelace")
    assert out.params == {"first_name": "Ada", "last_name": "Lovelace", "name": "Ada Lovelace"}
    out = Builder()
    out.names(None, None, "Hopper")
    assert out.params == {"last_name": "Hopper", "name": "Hopper"}


def test_tags_are_made_valid() -> None:
    assert normalize_tags(["VIP", "high value", "  a/b  ", "vip", "", "high-value", "x" * 70]) == [
        "VIP", "high-value", "a-b", "vip", "x" * 64]


def test_provenance_keys_give_way_to_the_sources_metadata() -> None:
    out = Builder()
    out.identity("src-1", "own-1")
    out.metadata({f"k{i}": "v" for i in range(49)})
    out.created("2026-03-30T12:00:00Z", "createdAt")
    mapped = out.build()
    assert mapped.params["external_id"] == "own-1"
    assert mapped.params["metadata"]["source_id"] == "src-1"  # the 50th key
    assert "source_created" not in mapped.params["metadata"]  # no room left: left out, the record still imports
    assert isinstance(check(mapped), Checked)


DEFAULTS = {"status": "active", "sentiment": "neutral", "tags": [], "custom_fields": {}, "metadata": {}}


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
def test_each_format_maps_every_field(tmp_path: Path, format_name: str) -> None:
    """Each record of the sample mapped and checked: the create body has exactly the expected fields,
    the failures have the expected codes."""
    sample = SAMPLES[format_name]()
    path = write_sample(sample, tmp_path / f"{format_name}.json")
    scan = Scan(path, format_name)
    items = list(scan.records(first_pass=True))
    assert len(items) == len(sample.expect)
    for item, expect in zip(items, sample.expect, strict=True):
        assert item.line == expect.line, (expect.source_id, item.line, expect.line)
        if expect.result == "created":
            assert isinstance(item, importing.Prepared), (expect.source_id, item)
            assert item.source_id == expect.source_id
            for name, value in expect.fields.items():
                if name not in item.body:  # left to the service's default
                    assert value == DEFAULTS.get(name), (expect.source_id, name, value)
                elif name == "address":
                    assert {k: v for k, v in value.items() if v is not None} == item.body[name]
                elif name == "shipping":
                    assert item.body[name]["name"] == value["name"]
                else:
                    assert item.body.get(name) == value, (expect.source_id, name, item.body.get(name), value)
            assert len(item.wallets) == len(expect.wallets)
        else:
            assert isinstance(item, importing.Outcome), (expect.source_id, item)
            assert (item.result, item.code) == (expect.result, expect.code), (expect.source_id, item.message)
            assert item.message


def test_validation_reasons(tmp_path: Path) -> None:
    def problem(record: dict[str, Any], fmt: str = "ndjson") -> Any:
        return check(FORMATS[fmt](record))

    assert problem({"id": "a", "email": "x@"}).code == "email_invalid"
    assert problem({"id": "a", "metadata": {f"k{i}": "v" for i in range(51)}}).code == "metadata_too_many_keys"
    assert problem({"id": "a", "metadata": {"k" * 41: "v"}}).code == "metadata_invalid"
    bad = problem({"id": "a", "wallets": [{"address": G_BAD}]}, "stellartools")
    assert (bad.code, bad.param) == ("wallet_invalid", "wallets[0].address")
    assert "checksum" in bad.message
    twice = problem({"id": "a", "wallets": [{"network": "evm", "chain_id": 1, "address": E1},
                                            {"network": "evm", "chain_id": 1, "address": E1.lower()}]})
    assert twice.code == "duplicate_wallet"
    assert problem({"email": "a@example.com"}).code == "id_missing"
    two = problem({"id": "a", "email": "nope", "status": "gone"})
    assert two.code == "email_invalid" and "also invalid: status" in two.message
    assert isinstance(problem({"id": "a", "wallets": [{"network": "evm", "chain_id": 5, "address": E1,
                                                       "authorization_type": "PERMIT"}]}), Checked)


def test_repeats_within_the_file_fail_all_but_the_first(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"id": "1", "email": "a@example.com", "wallets": [G1]},
            {"id": "2", "email": "A@EXAMPLE.COM"},
            {"id": "3", "email": "b@example.com", "wallets": [{"address": G1}]},
            {"id": "1", "email": "c@example.com"},
            {"id": "4", "email": "not valid"},
            {"id": "5", "email": "not-valid@example.com"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scan = Scan(path, "stellartools")
    got = [(i.line, getattr(i, "code", None)) for i in scan.records(first_pass=True)]
    assert got == [(1, None), (2, "duplicate_email"), (3, "duplicate_wallet"), (4, "duplicate_source_id"),
                   (5, "email_invalid"), (6, None)]
    again = [(i.line, getattr(i, "code", None)) for i in scan.records(first_pass=False)]
    assert again == got  # the second pass takes the first's verdicts
    assert sorted(scan.repeats) == [1, 2, 3]  # … which it keeps for the repeats alone (by record number)


# --- writing through the logic layer (moto) ------------------------------------------------------------------


def _target(table: Table, account: dict[str, Any]) -> TableTarget:
    return TableTarget(table, account["account_id"], False, "unit table")


def _import(target: Any, path: Path, fmt: str, **options: Any) -> tuple[importing.Summary, str]:
    out = io.StringIO()
    summary = importing.run(target, Options(path, fmt, concurrency=1, progress=False, **options), out)
    text = out.getvalue()
    assert json.loads(text.strip().splitlines()[-1]) == summary.counts  # the last line is the summary
    return summary, text


def _customers(target: TableTarget) -> dict[str, dict[str, Any]]:
    return {c["external_id"]: c for page in target.pages() for c in page}


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
def test_each_format_imports_into_the_table(table: Table, account: dict, tmp_path: Path, format_name: str) -> None:
    sample = SAMPLES[format_name]()
    path = write_sample(sample, tmp_path / f"{format_name}.json")
    target = _target(table, account)
    summary, _ = _import(target, path, format_name)
    wanted = {r: sum(1 for e in sample.expect if e.result == r) for r in importing.RESULTS}
    assert summary.counts == wanted
    failures = [json.loads(line) for line in path.with_name(path.name + ".failures.jsonl").read_text().splitlines()]
    assert [(f["line"], f["code"]) for f in failures] == [(e.line, e.code) for e in sample.expect
                                                          if e.result == "failed"]
    assert all(f["reason"] and f["record"] for f in failures)
    customers = _customers(target)
    created = [e for e in sample.expect if e.result == "created"]
    assert len(customers) == len(created)
    by_source = {}
    for customer in customers.values():
        source = (customer["metadata"] or {}).get("source_id") or customer["external_id"]
        by_source[source] = customer
    for expect in created:
        check_customer(by_source[expect.source_id], expect)

    again, _ = _import(target, path, format_name)  # a re-run creates nothing
    assert again.counts["created"] == 0
    assert again.counts["skipped"] == wanted["created"] + wanted["skipped"]
    assert len(_customers(target)) == len(created)


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_on_conflict_skip_update_fail(table: Table, account: dict, tmp_path: Path) -> None:
    from customers_core.logic import customers
    from customers_core.models.customer import CustomerParams

    target = _target(table, account)
    existing = customers.create_customer(table, target.who, CustomerParams(
        email="taken@example.com", name="Old Name", external_id="crm-1", metadata={"keep": "me"}), {})
    rows: list[dict[str, Any]] = [{"id": "cus_new1", "email": "TAKEN@example.com", "name": "New Name",
                                   "tags": ["moved"]},
                                  {"id": "cus_new2", "email": "free@example.com"}]
    path = _write_lines(tmp_path / "c.jsonl", rows)

    fail, _ = _import(target, path, "cstar", on_conflict="fail")
    assert fail.counts == {"created": 1, "updated": 0, "skipped": 0, "failed": 1}
    failure = json.loads(path.with_name(path.name + ".failures.jsonl").read_text())
    assert failure["code"] == "email_taken" and existing["id"] in failure["reason"]

    skip, _ = _import(target, path, "cstar", on_conflict="skip")
    assert skip.counts == {"created": 0, "updated": 0, "skipped": 2, "failed": 0}

    update, _ = _import(target, path, "cstar", on_conflict="update")
    assert update.counts == {"created": 0, "updated": 1, "skipped": 1, "failed": 0}
    after = customers.retrieve_customer(table, target.who, existing["id"])
    assert after["name"] == "New Name" and after["tags"] == ["moved"] and after["first_name"] == "New"
    assert after["external_id"] == "crm-1"  # its own external_id is kept …
    assert after["metadata"] == {"keep": "me", "source_id": "cus_new1"}  # … and the source id noted beside it
    assert after["email"] == "taken@example.com"

    unchanged, _ = _import(target, path, "cstar", on_conflict="update")
    assert unchanged.counts == {"created": 0, "updated": 0, "skipped": 2, "failed": 0}


def test_a_wallet_taken_by_another_customer_fails_the_record(table: Table, account: dict, tmp_path: Path) -> None:
    from customers_core.logic import customers, wallets
    from customers_core.models.customer import CustomerParams
    from customers_core.models.wallets import WalletCreate

    target = _target(table, account)
    holder = customers.create_customer(table, target.who, CustomerParams(email="holder@example.com"), {})
    wallets.add_wallet(table, target.who, holder["id"], WalletCreate(network="stellar", address=G1), {})
    path = _write_lines(tmp_path / "w.jsonl", [{"id": "cus_w1", "email": "w1@example.com", "wallets": [G1]}])

    dry, text = _import(target, path, "stellartools", dry_run=True)
    assert dry.counts["failed"] == 1 and "wallet_taken" in text and holder["id"] in text

    real, _ = _import(target, path, "stellartools")
    assert real.counts["failed"] == 1
    failure = json.loads(path.with_name(path.name + ".failures.jsonl").read_text())
    assert failure["code"] == "wallet_taken" and failure["customer"]  # the customer exists, without the wallet


def test_the_dry_run_reports_every_bad_record_and_writes_nothing(table: Table, account: dict, tmp_path: Path) -> None:
    from customers_core.logic import customers
    from customers_core.models.customer import CustomerParams

    target = _target(table, account)
    customers.create_customer(table, target.who, CustomerParams(email="exists@example.com"), {})
    sample = SAMPLES["cstar"]()
    sample.records.append({"id": "cus_clash", "name": "Clash", "email": "EXISTS@example.com"})
    sample.expect.append(type(sample.expect[0])("cus_clash", "failed", "email_taken"))
    path = write_sample(sample, tmp_path / "cstar.json")

    summary, text = _import(target, path, "cstar", dry_run=True, on_conflict="fail")
    lines = text.splitlines()
    assert lines[0].startswith(f"dry run of {path} (cstar, 6 records)")
    assert "would create 3, update 0, skip 0, fail 3" in lines[0]
    for expect in sample.expect:
        if expect.result == "failed":
            assert any(line.startswith(f"  line {expect.line}: {expect.code}: ") for line in lines), expect
    assert summary.counts == {"created": 3, "updated": 0, "skipped": 0, "failed": 3}
    assert len(_customers(target)) == 1  # nothing written
    assert not path.with_name(path.name + ".checkpoint").exists()

    skip, text = _import(target, path, "cstar", dry_run=True)  # --on-conflict skip: the clash is a skip
    assert skip.counts["skipped"] == 1 and "email_taken" in text


def test_resume_skips_what_the_checkpoint_says_is_done(table: Table, account: dict, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "BATCH", 4)  # moto copies its whole table per transaction: keep it small
    target = _target(table, account)
    rows = [{"id": f"pc_{i}", "email": f"p{i}@example.com"} for i in range(25)]
    path = _write_lines(tmp_path / "b.jsonl", rows)
    first, _ = _import(target, path, "billstack")
    assert first.counts["created"] == 25
    checkpoint = path.with_name(path.name + ".checkpoint")
    entries = checkpoint.read_text().splitlines()
    assert json.loads(entries[0])["format"] == "billstack" and len(entries) == 26
    # A run that died after 12 records, its last line cut short:
    checkpoint.write_text("\n".join(entries[:13]) + "\n" + entries[13][:10])
    resumed, text = _import(target, path, "billstack", resume=True)
    assert resumed.counts == {"created": 0, "updated": 0, "skipped": 25, "failed": 0}
    assert resumed.from_checkpoint == 12 and "12 done before" in text
    assert len(_customers(target)) == 25
    with pytest.raises(importing.CheckpointMismatch):
        _import(target, path, "cstar", resume=True)


def test_the_dry_run_reports_in_file_order_across_its_chunks(table: Table, account: dict, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from customers_core.logic import customers
    from customers_core.models.customer import CustomerParams

    monkeypatch.setattr(importing, "BATCH", 2)  # holders asked 2 records at a time
    target = _target(table, account)
    customers.create_customer(table, target.who, CustomerParams(email="held@example.com"), {})
    rows = [{"id": "pc_1", "email": "held@example.com"}, {"id": "pc_2", "email": "bad"},
            {"id": "pc_3", "email": "ok3@example.com"}, {"id": "pc_4", "email": "HELD@example.com"},
            {"id": "pc_5", "email": "bad"}, {"id": "pc_6", "email": "ok6@example.com"}]
    path = _write_lines(tmp_path / "d.jsonl", rows)
    summary, text = _import(target, path, "billstack", dry_run=True, on_conflict="fail")
    assert summary.counts == {"created": 2, "updated": 0, "skipped": 0, "failed": 4}
    reported = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  line ")]
    assert reported == ["line 1", "line 2", "line 4", "line 5"]
    assert "duplicate_email" in text and "email_taken" in text and "email_invalid" in text


def test_a_resume_ignores_checkpoint_lines_it_cannot_read(table: Table, account: dict, tmp_path: Path) -> None:
    target = _target(table, account)
    path = _write_lines(tmp_path / "k.jsonl", [{"id": "pc_k1", "email": "k1@example.com"}])
    checkpoint = path.with_name(path.name + ".checkpoint")
    checkpoint.write_text(json.dumps({"checkpoint": 1, "format": "billstack"}) + "\n"
                          + '{"k": "not hex", "r": "created"}\n[1, 2]\n{"r": "created"}\n{"k": "ab')
    resumed, _ = _import(target, path, "billstack", resume=True)
    assert resumed.counts == {"created": 1, "updated": 0, "skipped": 0, "failed": 0} and resumed.from_checkpoint == 0


def test_a_replayed_create_completes_its_wallets(table: Table, account: dict, tmp_path: Path) -> None:
    """A run that died after creating a customer but before adding its wallet: the re-run's create
    replays (same idempotency key), and the wallet is added then."""
    target = _target(table, account)
    path = _write_lines(tmp_path / "s.jsonl", [{"id": "cus_half", "email": "half@example.com", "wallets": [G1]}])
    prepared = next(i for i in Scan(path, "stellartools").records(first_pass=True))
    assert isinstance(prepared, importing.Prepared)
    target.create_many([prepared.body], [prepared.idem])  # the customer only, as the dead run left it
    summary, _ = _import(target, path, "stellartools")
    assert summary.counts == {"created": 0, "updated": 0, "skipped": 1, "failed": 0}
    (customer,) = _customers(target).values()
    assert [w["address"] for w in customer["wallets"]] == [G1]


def test_export_streams_every_customer(table: Table, account: dict, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from customers_admin import exporting, targets

    monkeypatch.setattr(targets, "PAGE", 4)  # several pages from few customers
    target = _target(table, account)
    rows = [{"id": f"cus_{i}", "email": f"e{i}@example.com", "name": f"E {i}", "tags": ["t"],
             "customFields": {"n": i}} for i in range(23)]
    _import(target, _write_lines(tmp_path / "in.jsonl", rows), "cstar")
    out = tmp_path / "out.ndjson"
    summary = io.StringIO()
    assert exporting.run(target, "ndjson", out, progress=False, summary_out=summary) == 23
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len({c["id"] for c in exported}) == 23
    assert json.loads(summary.getvalue())["exported"] == 23
    csv_out = tmp_path / "out.csv"
    assert exporting.run(target, "csv", csv_out, progress=False, summary_out=io.StringIO()) == 23
    import csv

    rows_back = list(csv.DictReader(csv_out.open()))
    assert len(rows_back) == 23
    first = next(r for r in rows_back if r["external_id"] == "cus_7")
    assert first["email"] == "e7@example.com" and json.loads(first["custom_fields"]) == {"n": 7}
    assert json.loads(first["tags"]) == ["t"] and first["address_city"] == ""
    assert "balance" not in rows_back[0]  # Stripe's neutral billing fields are not columns


# --- HTTP ----------------------------------------------------------------------------------------------------


API = "http://api.test"


def _customer(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"cus_{n:026d}", "object": "customer", "wallets": [], "metadata": {}, **fields}


@responses.activate
def test_http_array_create_honours_429_and_derives_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("customers_admin.targets.time.sleep", slept.append)
    rows = [{"id": f"pc_{i}", "email": f"h{i}@example.com"} for i in range(150)]
    path = _write_lines(tmp_path / "h.jsonl", rows)
    seen: list[tuple[str, int]] = []

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        seen.append((request.headers["Idempotency-Key"], len(body)))
        if len(seen) == 1:
            return 429, {"Retry-After": "2"}, json.dumps({"error": {"type": "rate_limit_error",
                                                                    "code": "rate_limited", "message": "slow"}})
        data = [_customer(i, email=b["email"], external_id=b["external_id"]) for i, b in enumerate(body)]
        return 200, {}, json.dumps({"object": "list", "data": data})

    responses.add_callback(responses.POST, f"{API}/v1/customers", callback=create)
    summary, _ = _import(HttpTarget(API, "sk_test_x"), path, "billstack")
    assert summary.counts["created"] == 150
    assert slept == [2.0]  # Retry-After honoured
    assert [n for _, n in seen] == [100, 100, 50]  # 100 a request; the 429'd one sent again
    assert seen[0][0] == seen[1][0]  # … with the same key
    scan = [i for i in Scan(path, "billstack").records(first_pass=True) if isinstance(i, importing.Prepared)]
    assert len(scan) == 150  # every record valid
    assert seen[1][0] == batch_key([i.idem for i in scan[:100]])  # derived from the records


@responses.activate
def test_http_conflicts_replays_and_refused_items(tmp_path: Path) -> None:
    rows = [{"id": "pc_0", "email": "zero@example.com"}, {"id": "pc_1", "email": "one@example.com"},
            {"id": "pc_2", "email": "two@example.com"}]
    path = _write_lines(tmp_path / "h.jsonl", rows)
    calls: list[int] = []

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        calls.append(len(body))
        if len(body) == 3:  # the service refuses one item whole-batch: it is failed, the rest sent again
            return 400, {}, json.dumps({"error": {"type": "invalid_request_error", "code": "parameter_invalid",
                                                  "message": "Invalid [2].email", "param": "[2].email"}})
        errors = [{"index": 0, "error": {"type": "invalid_request_error", "code": "email_taken",
                                         "message": "taken", "param": "email"}}]
        return 207, {"Idempotent-Replayed": "true"}, json.dumps(
            {"object": "list", "data": [_customer(9, email="one@example.com", external_id="pc_1")], "errors": errors})

    responses.add_callback(responses.POST, f"{API}/v1/customers", callback=create)
    holder = _customer(5, email="zero@example.com", external_id="crm-0")
    responses.add(responses.GET, f"{API}/v1/customers", json={"object": "list", "data": []},
                  match=[responses.matchers.query_param_matcher({"external_id": "pc_0", "limit": "1"})])
    responses.add(responses.GET, f"{API}/v1/customers", json={"object": "list", "data": [holder]},
                  match=[responses.matchers.query_param_matcher({"email": "zero@example.com", "limit": "1"})])
    summary, _ = _import(HttpTarget(API, "sk_test_x"), path, "billstack")
    assert calls == [3, 2]
    # pc_0: email taken by another customer (skip); pc_1: replayed (made by an earlier run); pc_2: refused
    assert summary.counts == {"created": 0, "updated": 0, "skipped": 2, "failed": 1}
    failure = json.loads(path.with_name(path.name + ".failures.jsonl").read_text())
    assert (failure["line"], failure["param"]) == (3, "[2].email")


@responses.activate
def test_http_dry_run_indexes_the_account_by_value_and_reads_only_the_holders(tmp_path: Path) -> None:
    holder = _customer(7, email="held@example.com", external_id="crm-7")
    others = [_customer(n, email=f"o{n}@example.com", external_id=None) for n in range(10, 13)]
    responses.add(responses.GET, f"{API}/v1/customers", json={"object": "list", "data": [holder, *others],
                                                               "has_more": False})
    fetched = responses.add(responses.GET, f"{API}/v1/customers/{holder['id']}", json=holder)
    rows = [{"id": "pc_1", "email": "HELD@example.com"}, {"id": "pc_2", "email": "new@example.com"}]
    summary, text = _import(HttpTarget(API, "sk_test_x"), _write_lines(tmp_path / "h.jsonl", rows), "billstack",
                            dry_run=True, on_conflict="fail")
    assert summary.counts == {"created": 1, "updated": 0, "skipped": 0, "failed": 1}
    assert f"email_taken: email 'HELD@example.com' belongs to {holder['id']}" in text
    assert fetched.call_count == 1  # the one customer holding a record's value, not the account


# --- progress ------------------------------------------------------------------------------------------------


def test_progress_shows_count_rate_and_time_left() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with Meter("importing", 1000, enabled=True, console=console) as meter:
        meter.advance(250)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "250/1000" in text and "rec/s" in text and "left" in text
    assert meter.done == 250


# --- the command line ------------------------------------------------------------------------------------------


def test_usage_errors_exit_2_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from customers_admin import cli

    missing = str(tmp_path / "nope.json")
    assert cli.main(["--api", API, "import", "--format", "cstar", missing]) == 2
    assert "needs --key" in capsys.readouterr().err
    assert cli.main(["--api", API, "--key", "sk_test_x", "import", "--format", "cstar", missing]) == 2
    assert "no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"id": "a"},\n  {"id": "b"\n')
    assert cli.main(["--api", API, "--key", "sk_test_x", "import", "--format", "cstar", str(broken)]) == 2
    assert "line 3" in capsys.readouterr().err  # the file is read whole before any write: no request was made
    with pytest.raises(SystemExit):
        cli.main(["--api", API, "--key", "k", "import", "--format", "csv", missing])  # not an import format


def test_the_bulk_path_retries_throttling_and_5xx_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError
    from customers_admin import targets

    monkeypatch.setattr(targets.time, "sleep", lambda _: None)
    calls = {"n": 0}

    def throttled() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                              "TransactWriteItems")
        return "written"

    assert targets._with_retries(throttled) == "written" and calls["n"] == 3
    answers = iter([targets.Answer(500, {}), targets.Answer(200, {"id": "cus_1"})])
    assert targets._with_retries(lambda: next(answers)).status == 200

    def refused() -> str:
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "PutItem")

    with pytest.raises(ClientError):
        targets._with_retries(refused)  # not transient: raised at once
