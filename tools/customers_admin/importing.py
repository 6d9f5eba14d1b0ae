"""`customers-admin import --format F FILE`: a source system's export into an account and mode.

Two passes over the file (it is read, never held whole):

1. **Check** every record: map it (customers_admin.formats), validate it as the API would
   (customers_admin.validation), and find repeats within the file — an email (any case), an
   external_id, a source id or a wallet that an earlier valid record already has. A dry run also asks
   the target who already holds each record's email, external_id and wallets, and stops here with a
   report.
2. **Write** the valid records, 100 at a time, `--concurrency` batches at once, skipping those the
   checkpoint says are done. Each record's idempotency key is derived from its source, id and content
   (`record_keys`), so a re-run, or a run resumed after a crash, replays instead of writing again; and
   every imported customer has an external_id (its own, or its source id), whose uniqueness marker
   stops a second copy even after the 24 h idempotency window.

A record whose email or external_id is already taken goes by `--on-conflict`: `skip` (the default),
`update` (the existing customer gets the record's fields that differ; its own external_id is kept),
or `fail`. A customer this import made before (same external_id, and same `metadata[source_id]` when
there is one) is "already imported": skipped, not a conflict, also under `fail`.

The checkpoint (`--checkpoint`, default `FILE.checkpoint`) is JSON lines: a header, then one line per
record done (`{"k": record key, "r": result, "id": customer}`), flushed and fsync'd after each batch.
`--resume` skips what it lists; without `--resume` a new checkpoint is started. Failures are not
checkpointed: a resumed run tries them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from customers_admin.formats import FORMATS
from customers_admin.formats.common import METADATA_MAX_KEYS, Problem
from customers_admin.progress import Meter
from customers_admin.reading import Malformed, read_records
from customers_admin.targets import Answer, Holders, Target
from customers_admin.validation import Checked, check, wallet_key

RESULTS = ("created", "updated", "skipped", "failed")
BATCH = 100
CHECKPOINT_VERSION = 1


@dataclass
class Prepared:
    """A valid record, ready to write."""

    n: int  # its place in the file (0-based), whatever its line
    line: int
    source_id: str
    key: str  # the record key: format and source id (the checkpoint's)
    idem: str  # the idempotency key of its create: format, source id and content
    body: dict[str, Any]
    wallets: list[dict[str, Any]]
    raw: dict[str, Any]


@dataclass
class Outcome:
    n: int
    line: int
    result: str  # created | updated | skipped | failed
    source_id: str | None = None
    key: str | None = None
    customer_id: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
    raw: Any = None

    def failure_line(self) -> dict[str, Any]:
        out = {"line": self.line, "source_id": self.source_id, "code": self.code, "reason": self.message}
        if self.param:
            out["param"] = self.param
        if self.customer_id:
            out["customer"] = self.customer_id
        out["record"] = self.raw
        return out


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    total: int = 0
    from_checkpoint: int = 0
    seconds: float = 0.0
    written: int = 0  # records written (not skipped by the checkpoint or the check) in `seconds`

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.result] += 1

    def line(self) -> str:
        return json.dumps(self.counts, separators=(",", ":"))


def record_key(format_name: str, source_id: str) -> str:
    return hashlib.sha256(f"{format_name}\0{source_id}".encode()).hexdigest()[:32]


def idempotency_key(format_name: str, key: str, body: dict[str, Any], wallets: list[dict[str, Any]]) -> str:
    """`import-<format>-<record key>-<content>`: the same record with the same content always gets the
    same key; a record changed in the source gets another (and then meets its earlier copy's
    external_id, which `--on-conflict` and the already-imported rule decide)."""
    content = hashlib.sha256(json.dumps([body, wallets], sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False).encode()).hexdigest()[:16]
    return f"import-{format_name}-{key}-{content}"


# --- pass 1: check ------------------------------------------------------------------------------------------
class Scan:
    """The file's records, mapped and checked. Mapping and checking a record depend on nothing else,
    so each pass does them again; what only the first pass can know — which records repeat an earlier
    one's email, external_id, source id or wallet — it remembers, by record number, for the next.

    Memory: the records are not kept. Finding repeats keeps one entry per distinct value seen (a
    64-bit hash of the value and the line of its first record, about 100 bytes: some 300–400 bytes per
    valid record, so 0.3–0.4 GB for a million records), and one per repeated record."""

    def __init__(self, path: Path, format_name: str) -> None:
        self.path = path
        self.format_name = format_name
        self.mapper = FORMATS[format_name]
        self.total = 0
        self.repeats: dict[int, Problem] = {}  # by n: a record that repeats an earlier one, and which
        self._firsts: dict[int, int] = {}  # hash of (kind, value) → line of the first valid record with it

    def _outcome(self, n: int, line: int, raw: Any, problem: Problem, source_id: str | None = None) -> Outcome:
        return Outcome(n, line, "failed", source_id, record_key(self.format_name, source_id) if source_id else None,
                       code=problem.code, message=problem.message, param=problem.param, raw=raw)

    def records(self, *, first_pass: bool) -> Iterator[Prepared | Outcome]:
        """Every record as a Prepared or (failure, skip) Outcome. The first pass finds repeats; later
        passes take its verdicts."""
        for n, source in enumerate(read_records(self.path)):
            if first_pass:
                self.total = n + 1
            raw = source.record
            if isinstance(raw, Malformed):
                yield self._outcome(n, source.line, None, Problem("json_invalid", raw.reason))
                continue
            mapped = self.mapper(raw)
            if mapped.skip and mapped.source_id:
                yield Outcome(n, source.line, "skipped", mapped.source_id,
                              record_key(self.format_name, mapped.source_id), code="source_deleted",
                              message=mapped.skip, raw=raw)
                continue
            checked = check(mapped)
            if isinstance(checked, Problem):
                yield self._outcome(n, source.line, raw, checked, mapped.source_id)
                continue
            assert mapped.source_id is not None  # a record without one has a problem
            if first_pass:
                found = self._repeat(source.line, mapped.source_id, checked)
                if found:
                    self.repeats[n] = found
            repeat = self.repeats.get(n)
            if repeat:
                yield self._outcome(n, source.line, raw, repeat, mapped.source_id)
                continue
            key = record_key(self.format_name, mapped.source_id)
            yield Prepared(n, source.line, mapped.source_id, key,
                           idempotency_key(self.format_name, key, checked.params, checked.wallets),
                           checked.params, checked.wallets, raw)

    def _repeat(self, line: int, source_id: str, checked: Checked) -> Problem | None:
        """A value an earlier valid record of the file already has; else reserves this record's."""
        body = checked.params
        values: list[tuple[str, Any, str, str]] = [("source id", source_id, "duplicate_source_id", "id")]
        if body.get("external_id"):
            values.append(("external_id", body["external_id"], "duplicate_external_id", "external_id"))
        if body.get("email"):
            values.append(("email", str(body["email"]).lower(), "duplicate_email", "email"))
        for index, wallet in enumerate(checked.wallets):
            values.append(("wallet", wallet_key(wallet), "duplicate_wallet", f"wallets[{index}]"))
        for kind, value, code, param in values:
            first = self._firsts.get(hash((kind, value)))
            if first is not None:
                shown = value[2] if kind == "wallet" else value
                return Problem(code, f"{kind} {shown} repeats line {first} of the file (the first one is "
                               f"imported)", param)
        for kind, value, _, _ in values:
            self._firsts[hash((kind, value))] = line
        return None


# --- pass 2: write -------------------------------------------------------------------------------------------
class Writer:
    """Writes batches to a target and decides each record's outcome."""

    def __init__(self, target: Target, on_conflict: str) -> None:
        self.target = target
        self.on_conflict = on_conflict

    def write(self, batch: list[Prepared]) -> list[Outcome]:
        try:
            answers = self.target.create_many([r.body for r in batch], [r.idem for r in batch])
        except Exception as exc:  # the batch fails, the import goes on
            return [self._failed(r, "error", f"{type(exc).__name__}: {exc}") for r in batch]
        outcomes = []
        for record, answer in zip(batch, answers, strict=True):
            try:
                outcomes.append(self.settle(record, answer))
            except Exception as exc:  # this record fails, the others go on
                outcomes.append(self._failed(record, "error", f"{type(exc).__name__}: {exc}"))
        return outcomes

    @staticmethod
    def _done(record: Prepared, result: str, customer_id: str | None, message: str | None = None,
              code: str | None = None) -> Outcome:
        return Outcome(record.n, record.line, result, record.source_id, record.key, customer_id, code, message,
                       raw=record.raw)

    @staticmethod
    def _failed(record: Prepared, code: str | None, message: str, customer_id: str | None = None,
                param: str | None = None) -> Outcome:
        return Outcome(record.n, record.line, "failed", record.source_id, record.key, customer_id,
                       code or "error", message, param, raw=record.raw)

    def settle(self, record: Prepared, answer: Answer, *, again: bool = True) -> Outcome:
        if answer.ok:
            customer = answer.body
            if answer.replayed:  # made by an earlier run: complete it (its wallets) and skip it
                current = self.target.retrieve(customer["id"]) if record.wallets else customer
                if current is None:
                    return self._done(record, "skipped", customer["id"], "imported earlier, deleted since",
                                      "already_imported")
                return self._with_wallets(record, current, "skipped", "already imported", "already_imported")
            return self._with_wallets(record, customer, "created")
        if answer.status == 409 and answer.code in ("email_taken", "external_id_taken"):
            return self.conflict(record, again=again)
        error = answer.body.get("error")
        return self._failed(record, answer.code, answer.message,
                            param=error.get("param") if isinstance(error, dict) else None)

    def conflict(self, record: Prepared, *, again: bool) -> Outcome:
        body = record.body
        by_external = self.target.find("external_id", str(body["external_id"])) if body.get("external_id") else None
        by_email = self.target.find("email", str(body["email"])) if body.get("email") else None
        existing = by_external or by_email
        if existing is None:  # released since the create was refused: try once more
            if again:
                retry = self.target.create_many([body], [record.idem + "-again"])[0]
                return self.settle(record, retry, again=False)
            return self._failed(record, "conflict", "the email or external_id is taken, but no customer holds it")
        split = by_external is not None and by_email is not None and by_external["id"] != by_email["id"]
        taken = (f"external_id {body['external_id']!r} belongs to {by_external['id']}" if by_external else
                 f"email {body['email']!r} belongs to {existing['id']}")
        if split:
            taken += f", email {body['email']!r} to {by_email['id']}"  # type: ignore[index]
        code = "external_id_taken" if by_external else "email_taken"
        if self.on_conflict == "update":
            changes = changes_for(existing, record)
            if not changes:
                return self._with_wallets(record, existing, "skipped", "unchanged", "unchanged")
            answer = self.target.update(existing["id"], changes, f"{record.idem}-update-{existing['id']}")
            if not answer.ok:
                return self._failed(record, answer.code, f"updating {existing['id']}: {answer.message}",
                                    existing["id"])
            return self._with_wallets(record, answer.body, "updated")
        if is_own(existing, record) and not split:
            return self._with_wallets(record, existing, "skipped", "already imported", "already_imported")
        if self.on_conflict == "skip":
            return self._done(record, "skipped", existing["id"], taken, code)
        return self._failed(record, code, taken, existing["id"], code.removesuffix("_taken"))

    def _with_wallets(self, record: Prepared, customer: dict[str, Any], result: str, message: str | None = None,
                      code: str | None = None) -> Outcome:
        """The record's wallets on the customer (added, their authorization set), then the outcome."""
        have = {wallet_key(w): w for w in customer.get("wallets") or []}
        for index, wallet in enumerate(record.wallets):
            current = have.get(wallet_key(wallet))
            if current is None:
                create = {k: v for k, v in wallet.items() if k != "authorization"}
                answer = self.target.add_wallet(customer["id"], create, f"{record.idem}-wallet-{index}")
                if not answer.ok:
                    return self._failed(record, answer.code, f"customer {customer['id']} {result}, but its wallet "
                                        f"{wallet['address']} was refused: {answer.message}", customer["id"],
                                        f"wallets[{index}]")
                current = answer.body
            changed = {k: v for k, v in (wallet.get("authorization") or {}).items() if current.get(k) != v}
            if changed:
                answer = self.target.update_wallet(customer["id"], current["id"], changed,
                                                   f"{record.idem}-wallet-{index}-authorization")
                if not answer.ok:
                    return self._failed(record, answer.code, f"customer {customer['id']} {result}, but the "
                                        f"authorization of wallet {wallet['address']} was refused: {answer.message}",
                                        customer["id"], f"wallets[{index}]")
        return self._done(record, result, customer["id"], message, code)


def is_own(existing: dict[str, Any], record: Prepared) -> bool:
    """Whether `existing` is this record imported before: the same external_id, and the same
    metadata[source_id] when the record keeps its source id there."""
    body = record.body
    if not body.get("external_id") or existing.get("external_id") != body["external_id"]:
        return False
    source_id = (body.get("metadata") or {}).get("source_id")
    if body["external_id"] == record.source_id:
        return True
    return source_id is not None and (existing.get("metadata") or {}).get("source_id") == source_id


def changes_for(existing: dict[str, Any], record: Prepared) -> dict[str, Any]:
    """The update that makes `existing` hold the record's fields: only those that differ (metadata and
    address merge key by key). An external_id the customer already has is kept, and the record's
    source id then goes to metadata[source_id] (room permitting)."""
    body = dict(record.body)
    metadata = dict(body.get("metadata") or {})
    ours = body.get("external_id")
    if ours and existing.get("external_id") and existing["external_id"] != ours:
        del body["external_id"]
        merged = {**(existing.get("metadata") or {}), **metadata}
        if ours == record.source_id and "source_id" not in merged and len(merged) < METADATA_MAX_KEYS:
            metadata["source_id"] = ours
    if metadata:
        body["metadata"] = metadata
    if body.get("email") and existing.get("email") and str(existing["email"]).lower() == str(body["email"]).lower():
        del body["email"]
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name in ("metadata", "address"):
            held = existing.get(name) or {}
            differing = {k: v for k, v in value.items() if held.get(k) != v}
            if differing:
                changes[name] = differing
        elif existing.get(name) != value:
            changes[name] = value
    return changes


def dry_outcome(record: Prepared, holders: Holders, on_conflict: str) -> Outcome:
    """What writing the record would do, from who holds its unique values now."""
    existing = holders.external_id or holders.email
    mine = existing["id"] if existing else None
    body = record.body
    for wallet in record.wallets:
        holder = holders.wallets.get(wallet_key(wallet))
        if holder and holder != mine:
            return Outcome(record.n, record.line, "failed", record.source_id, record.key, holder, "wallet_taken",
                           f"wallet {wallet['address']} belongs to {holder}", "wallets", raw=record.raw)
    if existing is None:
        return Outcome(record.n, record.line, "created", record.source_id, record.key)
    split = (holders.external_id is not None and holders.email is not None
             and holders.external_id["id"] != holders.email["id"])
    taken = (f"external_id {body.get('external_id')!r} belongs to {existing['id']}" if holders.external_id else
             f"email {body.get('email')!r} belongs to {existing['id']}")
    if split:
        taken += f", email {body.get('email')!r} to {holders.email['id']}"  # type: ignore[index]
    code = "external_id_taken" if holders.external_id else "email_taken"
    if on_conflict == "update":
        if split:
            return Outcome(record.n, record.line, "failed", record.source_id, record.key, existing["id"],
                           "email_taken", f"cannot update: {taken}", "email", raw=record.raw)
        if changes_for(existing, record):
            return Outcome(record.n, record.line, "updated", record.source_id, record.key, existing["id"],
                           code, taken)
        return Outcome(record.n, record.line, "skipped", record.source_id, record.key, existing["id"], "unchanged",
                       f"{taken}, unchanged")
    if is_own(existing, record) and not split:
        return Outcome(record.n, record.line, "skipped", record.source_id, record.key, existing["id"],
                       "already_imported", f"already imported as {existing['id']}")
    if on_conflict == "skip":
        return Outcome(record.n, record.line, "skipped", record.source_id, record.key, existing["id"], code, taken)
    return Outcome(record.n, record.line, "failed", record.source_id, record.key, existing["id"], code, taken,
                   code.removesuffix("_taken"), raw=record.raw)


# --- the checkpoint -----------------------------------------------------------------------------------------
class Checkpoint:
    """The records done, by record key. On `--resume` the keys read back are held as 128-bit numbers
    (the key is a hash: about 60 bytes a record, 60 MB for a million)."""

    def __init__(self, path: Path, header: dict[str, Any], *, resume: bool) -> None:
        self.path = path
        self._done: set[int] = set()
        if resume and path.exists() and path.stat().st_size > 0:
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
                try:
                    found = json.loads(first)
                except json.JSONDecodeError:
                    found = {}
                if found.get("format") != header["format"]:
                    raise CheckpointMismatch(f"{path} is the checkpoint of a {found.get('format')!r} import, not "
                                             f"{header['format']!r}: use another --checkpoint")
                for text in handle:
                    try:  # the last line of a killed run may be cut short
                        entry = json.loads(text)
                        if entry.get("r") in ("created", "updated", "skipped"):
                            self._done.add(int(str(entry["k"]), 16))
                    except (json.JSONDecodeError, ValueError, AttributeError, KeyError):
                        continue
            self._handle: IO[str] = path.open("a", encoding="utf-8")
            if not first.endswith("\n") and first:
                self._handle.write("\n")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("w", encoding="utf-8")
            self._handle.write(json.dumps({"checkpoint": CHECKPOINT_VERSION, **header}) + "\n")
            self._sync()

    def has(self, key: str) -> bool:
        return int(key, 16) in self._done

    def mark(self, outcomes: list[Outcome]) -> None:
        lines = [json.dumps({"k": o.key, "r": o.result, "id": o.customer_id}) + "\n"
                 for o in outcomes if o.result != "failed" and o.key]
        if lines:
            self._handle.write("".join(lines))
            self._sync()

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


class CheckpointMismatch(Exception):
    pass


# --- the command ----------------------------------------------------------------------------------------------
@dataclass
class Options:
    path: Path
    format_name: str
    on_conflict: str = "skip"
    dry_run: bool = False
    resume: bool = False
    checkpoint: Path | None = None
    failures: Path | None = None
    concurrency: int = 8
    progress: bool | None = None  # None: when stderr is a terminal


def run(target: Target, options: Options, out: IO[str] | None = None) -> Summary:
    """The whole import (or dry run); prints its report and, last, the summary line to `out`."""
    out = out or sys.stdout
    scan = Scan(options.path, options.format_name)
    summary = Summary()
    if options.dry_run:
        _dry_run(target, scan, options, summary, out)
        return summary
    failures_path = options.failures or options.path.with_name(options.path.name + ".failures.jsonl")
    checkpoint_path = options.checkpoint or options.path.with_name(options.path.name + ".checkpoint")
    with Meter("checking", None, enabled=options.progress) as meter:
        for _ in scan.records(first_pass=True):
            meter.advance()
    checkpoint = Checkpoint(checkpoint_path, {"format": options.format_name, "file": str(options.path.resolve())},
                            resume=options.resume)
    summary.total = scan.total
    writer = Writer(target, options.on_conflict)
    failures_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with failures_path.open("w", encoding="utf-8") as failures, \
                Meter("importing", scan.total, enabled=options.progress) as meter, \
                ThreadPoolExecutor(max_workers=max(1, options.concurrency),
                                   thread_name_prefix="import") as pool:

            def record(outcomes: list[Outcome]) -> None:
                checkpoint.mark(outcomes)
                for outcome in outcomes:
                    summary.add(outcome)
                    if outcome.result == "failed":
                        failures.write(json.dumps(outcome.failure_line(), ensure_ascii=False) + "\n")
                failures.flush()
                meter.advance(len(outcomes))

            pending: set[Future[list[Outcome]]] = set()

            def drain(limit: int) -> None:
                nonlocal pending
                while len(pending) > limit:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        summary.written += len(future.result())
                        record(future.result())

            batch: list[Prepared] = []
            for item in scan.records(first_pass=False):
                if isinstance(item, Outcome):
                    record([item])
                elif checkpoint.has(item.key):
                    summary.from_checkpoint += 1
                    record([Outcome(item.n, item.line, "skipped", item.source_id, None,
                                    code="checkpoint", message="done by an earlier run (checkpoint)")])
                else:
                    batch.append(item)
                    if len(batch) == BATCH:
                        pending.add(pool.submit(writer.write, batch))
                        batch = []
                        drain(2 * max(1, options.concurrency))
            if batch:
                pending.add(pool.submit(writer.write, batch))
            drain(0)
            summary.seconds = time.monotonic() - started
    finally:
        checkpoint.close()
    counts = summary.counts
    print(f"import of {options.path} ({options.format_name}, {scan.total} records) into {target.label}: "
          f"created {counts['created']}, updated {counts['updated']}, skipped {counts['skipped']}"
          f"{f' ({summary.from_checkpoint} done before, per the checkpoint)' if summary.from_checkpoint else ''}, "
          f"failed {counts['failed']}; {summary.written} written in {summary.seconds:.1f} s"
          f"{f' ({summary.written / summary.seconds:.0f} records/s)' if summary.seconds > 0 else ''}", file=out)
    print(f"failures: {failures_path} ({counts['failed']} JSON lines); checkpoint: {checkpoint_path}", file=out)
    print(summary.line(), file=out)
    out.flush()
    return summary


def _dry_run(target: Target, scan: Scan, options: Options, summary: Summary, out: IO[str]) -> None:
    """Check every record and ask the target who holds their values, 100 records at a time, in file
    order; the report's lines wait in temporary files (memory does not grow with the file), and are
    printed after the counts."""
    chunk: list[Prepared | Outcome] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as failed, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as noted:

        def settle_chunk() -> None:
            prepared = [r for r in chunk if isinstance(r, Prepared)]
            holders = iter(target.holders([(r.body, r.wallets) for r in prepared]) if prepared else [])
            for item in chunk:
                outcome = dry_outcome(item, next(holders), options.on_conflict) if isinstance(item, Prepared) else item
                summary.add(outcome)
                where = f"{f' [source id {outcome.source_id}]' if outcome.source_id else ''}\n"
                if outcome.result == "failed":
                    failed.write(f"  line {outcome.line}: {outcome.code}: {outcome.message}{where}")
                elif outcome.result in ("skipped", "updated"):
                    noted.write(f"  line {outcome.line}: {outcome.result}: {outcome.code}: {outcome.message}{where}")
            chunk.clear()

        with Meter("checking", None, enabled=options.progress) as meter:
            for item in scan.records(first_pass=True):
                meter.advance()
                chunk.append(item)
                if len(chunk) == BATCH:
                    settle_chunk()
            if chunk:
                settle_chunk()
        summary.total = scan.total
        counts = summary.counts
        print(f"dry run of {options.path} ({options.format_name}, {scan.total} records) into {target.label}, "
              f"--on-conflict {options.on_conflict}: would create {counts['created']}, update {counts['updated']}, "
              f"skip {counts['skipped']}, fail {counts['failed']}", file=out)
        for title, spool, count in (("would fail", failed, counts["failed"]),
                                    ("would skip or update", noted, counts["skipped"] + counts["updated"])):
            if count:
                print(f"{title} ({count}):", file=out)
                spool.seek(0)
                shutil.copyfileobj(spool, out)
    print(summary.line(), file=out)
    out.flush()
