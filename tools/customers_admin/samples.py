"""Synthetic export files in each source's shape, for benchmarks and load tests:

    python -m customers_admin.samples --format cstar --count 10000 --out /tmp/cstar-10k.json

Every record is valid and distinct (ids, emails, wallets); `--layout` picks a JSON array, the
source's list page, or JSON lines. Deterministic for a given `--seed`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customers_core.addresses import eip55, stellar_account_id

FIRST = ("Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia")
LAST = ("Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson", "Perlman")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(format_name: str, n: int, rng: random.Random) -> dict[str, Any]:
    """The n-th synthetic record of a source."""
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    email = f"{first.lower()}.{last.lower()}.{n}@example.com"
    created = 1_700_000_000 + n * 60
    plan = rng.choice(("free", "pro", "enterprise"))
    if format_name == "stellartools":
        return {"id": f"cus_st{n:08d}", "object": "customer", "email": email, "name": f"{first} {last}",
                "phone": f"+1555{n:07d}", "image": f"https://img.example.com/{n}.png",
                "wallets": [{"address": stellar_account_id(rng.randbytes(32))}], "metadata": {"plan": plan},
                "created_at": _iso(created), "updated_at": _iso(created)}
    if format_name == "evm":
        return {"id": f"00000000-0000-4000-8000-{n:012d}", "appId": "11111111-1111-4111-8111-111111111111",
                "externalId": f"user-{n}", "email": email, "name": f"{first} {last}", "address": f"{n} Main St",
                "city": "Springfield", "state": "IL", "country": "US", "postalCode": "62701",
                "metadata": {"plan": plan}, "createdAt": _iso(created), "updatedAt": _iso(created),
                "wallets": [{"id": f"w-{n}", "chainId": 1, "walletAddress": eip55("0x" + rng.randbytes(20).hex()),
                             "hasActiveAuthorization": False, "authorizationType": None,
                             "authorizationTxHash": None, "authorizedAt": None}]}
    if format_name == "billstack":
        return {"id": f"pc_{n:08x}", "email": email, "name": f"{first} {last}", "stripeCustomerId": f"cus_S{n:010d}",
                "metadata": {"plan": plan}, "projectId": "proj_abc123", "createdAt": _iso(created),
                "updatedAt": _iso(created)}
    if format_name == "lunipay":
        return {"id": f"cus_lp{n:08d}", "object": "customer", "livemode": False, "email": email, "first_name": first,
                "last_name": last, "phone": f"+1555{n:07d}", "company_name": f"{last} Ltd.", "notes": "imported",
                "metadata": {"internal_id": f"ACCT-{n}"}, "stripe_customer_id": f"cus_P{n:010d}",
                "created": created, "updated": created}
    if format_name == "cstar":
        return {"id": f"cus_cs{n:08d}", "object": "customer", "name": f"{first} {last}", "email": email,
                "sentiment": rng.choice(("happy", "neutral", "frustrated", "angry")), "status": "active",
                "tags": [plan], "notes": "from cstar", "customFields": {"plan": plan, "seats": n % 50},
                "ticketCount": n % 7, "metadata": {}, "createdAt": _iso(created), "updatedAt": _iso(created)}
    if format_name == "stripe":
        return {"id": f"cus_{n:014d}", "object": "customer", "address": {"city": "Paris", "country": "FR",
                "line1": f"{n} rue de Rivoli", "line2": None, "postal_code": "75001", "state": None},
                "balance": 0, "created": created, "currency": None, "default_source": None, "delinquent": False,
                "description": None, "discount": None, "email": email, "invoice_prefix": f"INV{n:05d}",
                "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                     "rendering_options": None},
                "livemode": False, "metadata": {"plan": plan}, "name": f"{first} {last}", "next_invoice_sequence": 1,
                "phone": None, "preferred_locales": ["fr-FR"], "shipping": None, "tax_exempt": "none",
                "test_clock": None}
    if format_name == "ndjson":
        return {"id": f"cus_{n:026d}", "object": "customer", "livemode": False, "email": email,
                "name": f"{first} {last}", "first_name": first, "last_name": last, "external_id": None,
                "status": "active", "sentiment": "neutral", "tags": [plan], "custom_fields": {},
                "metadata": {"plan": plan}, "wallets": [], "created": created, "updated": created}
    raise ValueError(f"unknown format {format_name}")


def records(format_name: str, count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 — sample data, not secrets
    for n in range(count):
        yield record(format_name, n, rng)


_PAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "billstack": ("customers", {}), "evm": ("data", {"success": True}), "cstar": ("data", {"success": True}),
          "stripe": ("data", {"object": "list", "url": "/v1/customers", "has_more": False}),
          "lunipay": ("data", {"object": "list", "has_more": False}),
          "stellartools": ("data", {"object": "list"}), "ndjson": ("data", {"object": "list"})}


def write(path: Path, format_name: str, items: list[dict[str, Any]] | Iterator[dict[str, Any]],
          layout: str = "lines") -> None:
    """`lines` (JSON lines), `array` (a JSON array, one record per line) or `page` (the source's list page)."""
    with path.open("w", encoding="utf-8") as out:
        if layout == "lines":
            for item in items:
                out.write(json.dumps(item) + "\n")
            return
        key, head = _PAGES[format_name]
        if layout == "page":
            out.write("{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
                      + f"  {json.dumps(key)}: [\n")
        else:
            out.write("[\n")
        for index, item in enumerate(items):
            out.write(("" if index == 0 else ",\n") + "    " + json.dumps(item))
        out.write("\n  ]\n}\n" if layout == "page" else "\n]\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customers_admin.samples", description=__doc__.splitlines()[0])
    parser.add_argument("--format", required=True, choices=sorted(_PAGES), dest="format_name")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--layout", choices=("lines", "array", "page"), default="lines")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write(args.out, args.format_name, records(args.format_name, args.count, args.seed), args.layout)
    print(json.dumps({"written": args.count, "format": args.format_name, "out": str(args.out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
