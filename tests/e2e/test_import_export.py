"""customers-admin import and export against a whole local stack, run as the command a user runs:
each source's sample into the table (the bulk path) and over HTTP, re-runs that create nothing, a run
killed with SIGKILL midway and resumed, the dry run's report, and export → import round trips."""

from __future__ import annotations

import csv
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from customers_admin import samples

from tests.import_samples import E1, G1, SAMPLES, TX, Expect, check_customer, write_sample

SCRIPT = Path(sys.executable).parent / "customers-admin"
PROVENANCE = ("source_id", "source_created")


@pytest.fixture
def fresh_account(stack_table):
    """Another empty account each call: returns (account id, a test-mode secret key)."""
    from customers_core.logic import api_keys

    def make() -> tuple[str, str]:
        account = api_keys.create_account(stack_table, "import e2e")
        return account["id"], str(api_keys.create_key(stack_table, account["id"], "test")["secret"])

    return make


def _where(stack: dict[str, Any], target: str, account: str, key: str) -> list[str]:
    if target == "api":
        return ["--api", stack["api_url"], "--key", key]
    return ["--local", "--stack-file", str(Path(stack["data_dir"]) / "stack.json")]


def _command(stack: dict[str, Any], target: str, account: str, key: str, *args: str) -> list[str]:
    scope = ["--account", account] if target == "local" else []
    return [str(SCRIPT), *_where(stack, target, account, key), *args, *scope]


def _run(command: list[str], *, expect_code: int | None = None, timeout: float = 600) -> tuple[dict[str, int], str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if expect_code is not None:
        assert done.returncode == expect_code, (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    return json.loads(lines[-1]), done.stdout


def _get(stack: dict[str, Any], key: str, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{stack['api_url']}{path}", headers={"Authorization": f"Bearer {key}"},
                            params=params, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _all_customers(stack: dict[str, Any], key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = _get(stack, key, "/v1/customers", **params)
        out += page["data"]
        if not page["has_more"]:
            return out
        params["starting_after"] = page["data"][-1]["id"]


def _by_source(customers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {(c["metadata"] or {}).get("source_id") or c["external_id"]: c for c in customers}


def _counts(sample_expect: list[Expect]) -> dict[str, int]:
    return {r: sum(1 for e in sample_expect if e.result == r) for r in ("created", "updated", "skipped", "failed")}


@pytest.mark.slow
@pytest.mark.parametrize("target", ["local", "api"])
def test_every_format_imports_maps_every_field_and_reruns_create_nothing(stack, fresh_account, tmp_path, target):
    """Each source's sample, in its own empty account: the summary, the failures file (line and reason
    of each bad record), every mapped field of every customer, the events the stream made of the
    writes; then the same import again creates nothing."""
    for format_name, make in SAMPLES.items():
        account, key = fresh_account()
        sample = make()
        path = write_sample(sample, tmp_path / f"{target}-{format_name}.json")
        wanted = _counts(sample.expect)
        command = _command(stack, target, account, key, "import", "--format", format_name, str(path))
        summary, stdout = _run(command, expect_code=1 if wanted["failed"] else 0)
        assert summary == wanted, (format_name, stdout)
        failures = [json.loads(line) for line in
                    path.with_name(path.name + ".failures.jsonl").read_text().splitlines()]
        assert [(f["line"], f["code"]) for f in failures] == [(e.line, e.code) for e in sample.expect
                                                              if e.result == "failed"], format_name
        assert str(path.with_name(path.name + ".failures.jsonl")) in stdout
        customers = _by_source(_all_customers(stack, key))
        created = [e for e in sample.expect if e.result == "created"]
        assert len(customers) == len(created), format_name
        for expect in created:
            assert expect.source_id is not None
            check_customer(customers[expect.source_id], expect)

        again, _ = _run(command)
        assert again["created"] == 0 and again["skipped"] == wanted["created"] + wanted["skipped"], format_name
        assert len(_all_customers(stack, key)) == len(created), format_name

        # Each customer is one customer.created event, from the table's stream, naming the import's key.
        deadline = time.monotonic() + 60
        while True:
            events = _get(stack, key, "/v1/events", type="customer.created", limit=100)["data"]
            if len(events) >= len(created) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(events) == len(created), format_name
        assert all(str(e["request"]["idempotency_key"]).startswith("import-") for e in events)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["local", "api"])
def test_a_run_killed_midway_and_resumed_ends_with_exactly_the_files_records(stack, fresh_account, tmp_path, target):
    count = 600
    account, key = fresh_account()
    path = tmp_path / "cstar.json"
    samples.write(path, "cstar", samples.records("cstar", count), "page")
    checkpoint = path.with_name(path.name + ".checkpoint")
    command = _command(stack, target, account, key, "import", "--format", "cstar", str(path),
                       "--concurrency", "2")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    done = 0
    while done < 150:  # a few batches in: then kill it, with no chance to tidy up
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
        done = checkpoint.read_text().count("\n") - 1 if checkpoint.exists() else 0
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # What the killed run had sent still lands (the service finishes a request whose client died):
    # count once that has settled.
    before, previous = len(_all_customers(stack, key)), -1
    while before != previous:
        time.sleep(3)
        before, previous = len(_all_customers(stack, key)), before
    assert done <= before < count  # some written, the checkpoint behind or level, not all

    resumed, stdout = _run([*command, "--resume"], expect_code=0)
    assert resumed["created"] + resumed["skipped"] == count and resumed["failed"] == 0, stdout
    assert resumed["created"] == count - before  # what the killed run wrote is not written again
    assert "done before, per the checkpoint" in stdout
    customers = _all_customers(stack, key)
    assert len(customers) == count
    assert sorted(c["external_id"] for c in customers) == sorted(f"cus_cs{n:08d}" for n in range(count))
    total = _get(stack, key, "/v1/customers", limit=1, **{"include[]": "total_count"})["total_count"]
    assert total == count  # the counters were kept as the API keeps them


@pytest.mark.slow
def test_the_dry_run_reports_every_bad_record_and_writes_nothing(stack, fresh_account, tmp_path):
    account, key = fresh_account()
    existing = requests.post(f"{stack['api_url']}/v1/customers", headers={"Authorization": f"Bearer {key}"},
                             json={"email": "owned@example.com", "external_id": "crm-1"}, timeout=30).json()
    sample = SAMPLES["evm"]()
    sample.records.append({"id": "0b7e5c1a-0000-4000-8000-00000000000a", "externalId": "crm-1",
                           "email": "new@example.com"})
    sample.expect.append(Expect("0b7e5c1a-0000-4000-8000-00000000000a", "failed", "external_id_taken"))
    path = write_sample(sample, tmp_path / "evm.json")
    for target in ("local", "api"):
        summary, stdout = _run(_command(stack, target, account, key, "import", "--format", "evm",
                                        str(path), "--dry-run", "--on-conflict", "fail"), expect_code=1)
        bad = [e for e in sample.expect if e.result == "failed"]
        assert summary == {"created": 2, "updated": 0, "skipped": 0, "failed": len(bad)}, stdout
        assert f"would create 2, update 0, skip 0, fail {len(bad)}" in stdout
        for expect in bad:
            line = next(x for x in stdout.splitlines() if x.startswith(f"  line {expect.line}: "))
            assert expect.source_id is not None
            assert f": {expect.code}: " in line and expect.source_id in line, line
        assert existing["id"] in stdout  # the conflict names the customer that holds the value
    assert [c["id"] for c in _all_customers(stack, key)] == [existing["id"]]  # nothing was written


def _comparable(customer: dict[str, Any], *, imported: bool) -> dict[str, Any]:
    """A customer without what an import cannot keep: ids, times, version, and the provenance it adds."""
    out = {k: v for k, v in customer.items() if k not in ("id", "created", "updated", "version", "wallets")}
    out["metadata"] = {k: v for k, v in (customer["metadata"] or {}).items() if not (imported and k in PROVENANCE)}
    out["wallets"] = [{k: v for k, v in w.items() if k not in ("id", "customer", "created", "updated")}
                      for w in customer["wallets"]]
    return out


@pytest.mark.slow
def test_export_then_import_into_an_empty_account_reproduces_every_customer(stack, fresh_account, tmp_path):
    source_account, source_key = fresh_account()
    url = f"{stack['api_url']}/v1/customers"
    headers = {"Authorization": f"Bearer {source_key}"}
    bodies: list[dict[str, Any]] = [
        {"email": "ada@example.com", "name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace",
         "company_name": "Analytical Engines", "phone": "+18765551234", "description": "first", "notes": "n",
         "image": "https://example.com/ada.png", "external_id": "user-42", "status": "inactive",
         "sentiment": "happy", "tags": ["vip", "beta"], "custom_fields": {"seats": 40, "sso": True, "x": None},
         "metadata": {"plan": "pro"}, "address": {"line1": "12 St James's Sq", "city": "London", "country": "GB"},
         "shipping": {"name": "Ada", "address": {"line1": "1 Main", "city": "London"}},
         "preferred_locales": ["en-GB"], "tax_exempt": "reverse", "business_name": "AE", "individual_name": "Ada L"},
        {"name": "Nameless Email"},
        {"email": "grace@example.com", "metadata": {f"k{i}": "v" for i in range(48)}},
        *({"email": f"bulk{i}@example.com", "name": f"Bulk {i}", "tags": ["bulk"]} for i in range(120)),
    ]
    created = []
    for body in bodies:
        response = requests.post(url, headers=headers, json=body, timeout=30)
        assert response.status_code == 200, response.text
        created.append(response.json())
    wallet = requests.post(f"{url}/{created[0]['id']}/wallets", headers=headers, timeout=30,
                           json={"network": "evm", "chain_id": 1, "address": E1}).json()
    requests.post(f"{url}/{created[0]['id']}/wallets/{wallet['id']}", headers=headers, timeout=30,
                  json={"authorization_type": "PERMIT", "authorization_tx_hash": TX, "authorized_at": 1713100900,
                        "has_active_authorization": True}).raise_for_status()
    requests.post(f"{url}/{created[1]['id']}/wallets", headers=headers, timeout=30,
                  json={"network": "stellar", "address": G1}).raise_for_status()
    originals = {c["id"]: c for c in _all_customers(stack, source_key)}
    assert len(originals) == len(bodies)

    exported = tmp_path / "export.ndjson"
    out, _ = _run(_command(stack, "local", source_account, source_key, "export", "--format", "ndjson",
                           "--out", str(exported)), expect_code=0)
    assert out["exported"] == len(bodies)
    over_http = tmp_path / "export-http.ndjson"
    _run(_command(stack, "api", source_account, source_key, "export", "--format", "ndjson", "--out",
                  str(over_http)), expect_code=0)
    assert sorted(over_http.read_text().splitlines()) == sorted(exported.read_text().splitlines())
    table = tmp_path / "export.csv"
    _run(_command(stack, "api", source_account, source_key, "export", "--format", "csv", "--out", str(table)),
         expect_code=0)
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert {r["id"] for r in rows} == set(originals)
    ada = next(r for r in rows if r["id"] == created[0]["id"])
    assert ada["address_city"] == "London" and json.loads(ada["tags"]) == ["vip", "beta"]
    assert json.loads(ada["wallets"])[0]["address"] == E1

    for target in ("local", "api"):
        account, key = fresh_account()  # an empty account
        summary, stdout = _run(_command(stack, target, account, key, "import", "--format", "ndjson",
                                        str(exported)), expect_code=0)
        assert summary == {"created": len(bodies), "updated": 0, "skipped": 0, "failed": 0}, stdout
        imported = _by_source(_all_customers(stack, key))
        assert set(imported) == set(originals)
        for source_id, original in originals.items():
            copy = imported[source_id]
            wanted = _comparable(original, imported=False)
            got = _comparable(copy, imported=True)
            if original["external_id"] is None:  # the source id is kept as external_id
                assert got.pop("external_id") == source_id
                wanted.pop("external_id")
            else:
                assert copy["metadata"]["source_id"] == source_id
            assert got == wanted, source_id
            if len(original["metadata"]) < 49:
                assert copy["metadata"]["source_created"] == str(original["created"])


@pytest.mark.slow
def test_progress_is_drawn_on_a_terminal(stack, fresh_account, tmp_path):
    account, key = fresh_account()
    path = tmp_path / "stripe.jsonl"
    samples.write(path, "stripe", samples.records("stripe", 250), "lines")
    primary, replica = pty.openpty()
    process = subprocess.Popen(_command(stack, "api", account, key, "import", "--format", "stripe",
                                        str(path)), stdout=subprocess.PIPE, stderr=replica, text=True)
    os.close(replica)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    stdout, _ = process.communicate(timeout=300)
    os.close(primary)
    assert process.returncode == 0
    assert json.loads(stdout.strip().splitlines()[-1])["created"] == 250
    text = drawn.decode(errors="replace")
    assert "250/250" in text and "rec/s" in text and "left" in text  # count, rate, time left


@pytest.mark.slow
@pytest.mark.parametrize("target", ["local", "api"])
def test_on_conflict_update_and_fail(stack, fresh_account, tmp_path, target):
    account, key = fresh_account()
    existing = requests.post(f"{stack['api_url']}/v1/customers", headers={"Authorization": f"Bearer {key}"},
                             timeout=30, json={"email": "lin@example.com", "name": "Old", "external_id": "crm-9",
                                               "metadata": {"keep": "me"},
                                               "address": {"city": "Oslo", "country": "NO"}}).json()
    path = tmp_path / "evm.jsonl"
    path.write_text(json.dumps({"id": "0b7e5c1a-0000-4000-8000-0000000000b1", "externalId": None,
                                "email": "LIN@example.com", "name": "Lin New", "city": "Bergen",
                                "wallets": [{"chainId": 10, "walletAddress": E1}]}) + "\n")
    base = _command(stack, target, account, key, "import", "--format", "evm", str(path))
    failed, stdout = _run([*base, "--on-conflict", "fail"], expect_code=1)
    assert failed == {"created": 0, "updated": 0, "skipped": 0, "failed": 1}
    assert existing["id"] in path.with_name(path.name + ".failures.jsonl").read_text()

    updated, stdout = _run([*base, "--on-conflict", "update"], expect_code=0)
    assert updated == {"created": 0, "updated": 1, "skipped": 0, "failed": 0}, stdout
    after = _get(stack, key, f"/v1/customers/{existing['id']}")
    assert (after["name"], after["first_name"], after["last_name"]) == ("Lin New", "Lin", "New")
    assert after["address"]["city"] == "Bergen" and after["address"]["country"] == "NO"  # merged
    assert after["external_id"] == "crm-9"  # kept; the source id noted beside it
    assert after["metadata"]["keep"] == "me"
    assert after["metadata"]["source_id"] == "0b7e5c1a-0000-4000-8000-0000000000b1"
    assert [(w["chain_id"], w["address"]) for w in after["wallets"]] == [(10, E1)]

    again, _ = _run([*base, "--on-conflict", "update"], expect_code=0)
    assert again == {"created": 0, "updated": 0, "skipped": 1, "failed": 0}  # nothing differs any more

    # Export to stdout: the customers there, the summary on stderr.
    done = subprocess.run(_command(stack, target, account, key, "export", "--format", "ndjson"), capture_output=True,
                          text=True, timeout=120, check=True)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [existing["id"]]
    assert json.loads(done.stderr.strip().splitlines()[-1])["exported"] == 1


@pytest.mark.slow
def test_a_bulk_import_is_found_by_search_filters_and_counts_as_api_creates_are(stack, fresh_account, tmp_path):
    """The bulk path writes many customers a transaction, with one counter update for them all: what the
    API reads back — search tokens, filter index entries, total_count — is what API creates give."""
    account, key = fresh_account()
    path = tmp_path / "cstar.jsonl"
    records = list(samples.records("cstar", 130))
    samples.write(path, "cstar", records, "lines")
    summary, _ = _run(_command(stack, "local", account, key, "import", "--format", "cstar", str(path)), expect_code=0)
    assert summary["created"] == 130
    total = _get(stack, key, "/v1/customers", limit=1, **{"include[]": "total_count"})["total_count"]
    plan = records[7]["tags"][0]
    tagged = _get(stack, key, "/v1/customers", limit=1, tag=plan, **{"include[]": "total_count"})["total_count"]
    assert (total, tagged) == (130, sum(1 for r in records if r["tags"] == [plan]))
    found = _get(stack, key, "/v1/customers/search", query=f"email:'{records[7]['email']}'")["data"]
    assert [c["external_id"] for c in found] == [records[7]["id"]]
