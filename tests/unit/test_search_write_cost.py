"""The `~` decision (docs/stripe-compatibility.md): Stripe's `~` is a substring match of 3 or more
characters; here it is a word prefix of 2 or more. Substring matching needs the suffixes of every word
of name and email as search tokens (a `~` clause then reads one range: the suffixes beginning with the
query). This prices both token sets on the write path as DynamoDB bills it, from the items the real
write code (dal.customers.write_customer) produces: the transaction (2 write units per started KB of
each item put, 2 per other operation), gsi1 copies (1 per KB), and one write unit per token put
beside the transaction (BatchWriteItem; a token item is ~150 B); a change's removed tokens are
deleted later by the stream fan-out, one write unit each.

    pytest tests/unit/test_search_write_cost.py -s   # prints the figures the document quotes"""

from __future__ import annotations

import math
from typing import Any

import pytest
from benchmarks.cost_model import item_size, transaction_units
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import serialize
from customers_core.logic.customers import new_customer_item
from customers_core.models.customer import CustomerParams

WHO = Principal("acct_01JRZK2Q4T9ZS0VCNA3HX7W9EY", False, frozenset(), "key_1")
PRICE_PER_MILLION_WRU = 0.625  # on-demand, us-east-1 (tools/benchmarks/prices.py)
# Typical customers: a person or a company, an email at a company or a provider.
PEOPLE = [("Ada Lovelace", "ada.lovelace@example.com"), ("Grace Hopper", "grace.hopper@navy.mil"),
          ("Alan Turing", "alan.turing@manchester.ac.uk"), ("Margaret Hamilton", "mhamilton@mit.edu"),
          ("Katherine Johnson", "katherine.johnson@nasa.gov"), ("Linus Torvalds", "linus@linux-foundation.org"),
          ("José María García", "jose.garcia@correo.es"), ("Acme Analytics Ltd.", "billing@acme-analytics.com")]
FULL = {"phone": "+18765551234", "external_id": "user-42", "tags": ["vip", "beta"],
        "metadata": {"plan": "pro", "region": "eu"}}


class _Recorder:
    """Stands in for the table: keeps what one write sends."""

    def __init__(self) -> None:
        self.operations: list[dict[str, Any]] = []
        self.puts: list[dict[str, Any]] = []

    def pass_gate(self) -> None:
        pass

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        self.operations += operations

    def batch_write(self, *, puts=(), deletes=()) -> None:
        self.puts += list(puts)


def substring_tokens(real):
    """The word-prefix tokens, plus every suffix of 3+ characters of each name and email word."""
    def tokens(item):
        base = real(item)
        return base | {(field, token[i:]) for field, token in base if field in ("name", "email")
                       for i in range(1, len(token) - 2)}
    return tokens


def _units(recorder: _Recorder) -> dict[str, float]:
    gsi = sum(math.ceil(item_size(op["Put"]["Item"]) / 1024) for op in recorder.operations
              if "Put" in op and "gsi1pk" in op["Put"]["Item"])
    tokens = sum(math.ceil(item_size(serialize(p)) / 1024) for p in recorder.puts)
    transaction = transaction_units(recorder.operations)
    return {"transaction": transaction, "gsi1": gsi, "tokens": len(recorder.puts), "token_units": tokens,
            "total": transaction + gsi + tokens,
            "largest_token": max((item_size(serialize(p)) for p in recorder.puts), default=0)}


def create_cost(fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, substring: bool) -> dict[str, float]:
    with monkeypatch.context() as patch:
        if substring:
            patch.setattr(dal, "search_tokens", substring_tokens(dal.search_tokens))
        item = new_customer_item(WHO, CustomerParams.model_validate(fields), {"request_id": "req_1"})
        recorder = _Recorder()
        dal.write_customer(recorder, WHO.tenant, item, None)  # type: ignore[arg-type]
    return _units(recorder)


def update_cost(fields: dict[str, Any], change: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *,
                substring: bool) -> dict[str, float]:
    with monkeypatch.context() as patch:
        if substring:
            patch.setattr(dal, "search_tokens", substring_tokens(dal.search_tokens))
        old = new_customer_item(WHO, CustomerParams.model_validate(fields), {})
        new = {**old, **change, "version": 2}
        recorder = _Recorder()
        dal.write_customer(recorder, WHO.tenant, new, old)  # type: ignore[arg-type]
        # The tokens the change removed are deleted afterwards by the stream fan-out
        # (dal.customers.drop_stale_tokens): one write unit each, outside the request.
        removed = len(dal.token_items(WHO.tenant, old).keys() - dal.token_items(WHO.tenant, new).keys())
    units = _units(recorder)
    return {**units, "removed": removed, "total": units["total"] + removed}


def test_substring_tokens_would_double_a_creates_write_cost(monkeypatch):
    rows = []
    for name, email in PEOPLE:
        prefix = create_cost({"name": name, "email": email}, monkeypatch, substring=False)
        suffix = create_cost({"name": name, "email": email}, monkeypatch, substring=True)
        rows.append((name, email, prefix, suffix))
        assert prefix["transaction"] == suffix["transaction"] and prefix["gsi1"] == suffix["gsi1"]
        assert suffix["largest_token"] < 1024 and suffix["token_units"] == suffix["tokens"]  # 1 unit each
    by_kind = {"prefix": [r[2] for r in rows], "substring": [r[3] for r in rows]}
    mean = {kind: sum(c["total"] for c in costs) / len(costs) for kind, costs in by_kind.items()}
    tokens = {kind: sum(c["tokens"] for c in costs) / len(costs) for kind, costs in by_kind.items()}
    full_prefix = create_cost({"name": "Ada Lovelace", "email": "ada.lovelace@example.com", **FULL}, monkeypatch,
                              substring=False)
    full_substring = create_cost({"name": "Ada Lovelace", "email": "ada.lovelace@example.com", **FULL}, monkeypatch,
                                 substring=True)
    base = {"name": "Ada Lovelace", "email": "ada.lovelace@example.com"}
    renamed = [update_cost(base, {"name": "Ada King"}, monkeypatch, substring=s) for s in (False, True)]
    new_email = [update_cost(base, {"email": "ada@analytical-engines.co.uk"}, monkeypatch, substring=s)
                 for s in (False, True)]
    print("\nname | email | tokens (prefix / substring) | write units per create (prefix / substring)")
    for name, email, prefix, suffix in rows:
        print(f"{name} | {email} | {prefix['tokens']} / {suffix['tokens']} | {prefix['total']:.0f} / "
              f"{suffix['total']:.0f}")
    print(f"mean | | {tokens['prefix']:.2f} / {tokens['substring']:.2f} | {mean['prefix']:.2f} / "
          f"{mean['substring']:.2f} ({mean['substring'] / mean['prefix']:.2f}x); per million creates "
          f"${mean['prefix'] * PRICE_PER_MILLION_WRU:.2f} / ${mean['substring'] * PRICE_PER_MILLION_WRU:.2f}")
    print(f"full create (+ phone, external_id, 2 tags, 2 metadata): {full_prefix['total']:.0f} / "
          f"{full_substring['total']:.0f}")
    print(f"rename (Ada Lovelace -> Ada King): {renamed[0]['total']:.0f} / {renamed[1]['total']:.0f}; "
          f"new email: {new_email[0]['total']:.0f} / {new_email[1]['total']:.0f}")
    # The premise of the decision: substring tokens cost a typical create ~1.7-2.3x what it costs now,
    # and a change of name or email twice or more.
    assert 1.7 <= mean["substring"] / mean["prefix"] <= 2.3
    assert renamed[1]["total"] / renamed[0]["total"] >= 2
    assert new_email[1]["total"] / new_email[0]["total"] >= 2
    assert full_substring["total"] / full_prefix["total"] >= 1.4
