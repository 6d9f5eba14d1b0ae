"""Sample export files of each source, in each seed's documented shape (../shared/seeds/), with the
awkward records a real export has: missing fields, repeated emails, a bad wallet, a bad email, too
much metadata. Each sample says what importing it must give, record by record: the customer's
fields (every field the mapping fills), or the failure code, or a skip. Used by
tests/unit/test_import_formats.py and tests/e2e/test_import_export.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customers_admin.formats.common import supports

# Stellar account ids (valid StrKey checksums) and one with its last character changed.
G1 = "GAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQDZ7H"
G2 = "GABAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEJXA"
G3 = "GABQGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQHGPC"
G4 = "GACAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAJJHP"
G_BAD = G1[:-1] + "A"
# EVM addresses: EIP-55 checksummed, all lower case (valid: no checksum to check), and a mixed-case one
# whose checksum fails.
E1 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
E2 = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
E3_LOWER = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"
E3 = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
E4 = "0x52908400098527886E0F7030069857D2E4169EE7"
E_BAD = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
TX = "0x" + "ab" * 32


@dataclass
class Expect:
    """What one source record must become."""

    source_id: str | None
    result: str  # created | failed | skipped
    code: str | None = None  # for failed and skipped
    fields: dict[str, Any] = field(default_factory=dict)  # for created: the customer's fields
    wallets: list[dict[str, Any]] = field(default_factory=list)  # for created: its wallets
    line: int = 0  # set by write_sample


@dataclass
class Sample:
    format_name: str
    layout: str  # lines | array | page
    records: list[Any]  # what the file holds, in order (for `lines`, a record may be a whole page)
    expect: list[Expect]  # one per source record, in file order
    head: dict[str, Any] = field(default_factory=dict)  # a page's other keys
    list_key: str = "data"


def _full_name(first: str, last: str | None = None) -> dict[str, Any]:
    return {"name": f"{first} {last}" if last else first, "first_name": first, "last_name": last}


def stellartools() -> Sample:
    records = [
        {"id": "cus_01jxst000001", "object": "customer", "email": "jane@example.com", "name": "Jane Smith",
         "phone": "+15550001", "image": "https://img.example.com/jane.png", "wallets": [{"address": G1}],
         "metadata": {"plan": "pro", "seats": 3, "trial": True, "gone": None},
         "created_at": "2026-03-30T12:00:00Z", "updated_at": "2026-03-31T12:00:00Z"},
        {"id": "cus_01jxst000002", "object": "customer", "name": "Cher"},  # missing almost everything
        {"id": "cus_01jxst000003", "object": "customer", "email": "JANE@example.com", "name": "Jane Again"},
        {"id": "cus_01jxst000004", "object": "customer", "email": "bad-wallet@example.com", "name": "Bad Wallet",
         "wallets": [{"address": G_BAD}]},
        {"id": "cus_01jxst000005", "object": "customer", "email": "two@example.com", "name": "Mary Ann van Dyke",
         "wallets": [G2, {"public_key": G3}], "created_at": "2026-01-02T03:04:05.678+01:00"},
    ]
    expect = [
        Expect("cus_01jxst000001", "created", fields={
            "external_id": "cus_01jxst000001", "email": "jane@example.com", **_full_name("Jane", "Smith"),
            "phone": "+15550001", "image": "https://img.example.com/jane.png",
            "metadata": {"plan": "pro", "seats": "3", "trial": "true", "source_created": "1774872000"}},
            wallets=[{"network": "stellar", "address": G1}]),
        Expect("cus_01jxst000002", "created", fields={"external_id": "cus_01jxst000002", **_full_name("Cher"),
                                                     "email": None, "phone": None, "metadata": {}}),
        Expect("cus_01jxst000003", "failed", "duplicate_email"),
        Expect("cus_01jxst000004", "failed", "wallet_invalid"),
        Expect("cus_01jxst000005", "created", fields={
            "external_id": "cus_01jxst000005", "email": "two@example.com", "name": "Mary Ann van Dyke",
            "first_name": "Mary", "last_name": "Ann van Dyke", "metadata": {"source_created": "1767319445"}},
            wallets=[{"network": "stellar", "address": G2}, {"network": "stellar", "address": G3}]),
    ]
    return Sample("stellartools", "array", records, expect)


def evm() -> Sample:
    app = "5f0c3c1e-8f53-4a0e-9d0b-2f1c1a2b3c4d"
    records = [
        {"id": "0b7e5c1a-0000-4000-8000-000000000001", "appId": app, "externalId": "user-42",
         "email": "ada@example.com", "name": "Ada Lovelace", "address": "12 St James's Sq", "city": "London",
         "state": None, "country": "GB", "postalCode": "SW1Y 4JH", "metadata": {"tier": "gold"},
         "createdAt": "2026-03-30T12:00:00.000Z", "updatedAt": "2026-03-30T12:00:00.000Z",
         "wallets": [{"id": "w1", "customerAccountId": "0b7e5c1a-0000-4000-8000-000000000001", "chainId": 1,
                      "walletAddress": E1, "hasActiveAuthorization": True, "authorizationType": "PERMIT",
                      "authorizationTxHash": TX, "authorizedAt": "2026-03-30T13:00:00Z",
                      "createdAt": "2026-03-30T12:00:00Z", "updatedAt": "2026-03-30T12:00:00Z"}],
         "_count": {"paymentIntents": 3, "subscriptions": 1, "invoices": 2}},
        {"id": "0b7e5c1a-0000-4000-8000-000000000002", "appId": app, "externalId": None, "email": None,
         "name": None, "address": None, "city": None, "state": None, "country": None, "postalCode": None,
         "metadata": {}, "createdAt": "2026-03-30T12:00:00Z", "updatedAt": "2026-03-30T12:00:00Z",
         "wallets": [{"chainId": 137, "walletAddress": E3_LOWER, "hasActiveAuthorization": False,
                      "authorizationType": None, "authorizationTxHash": None, "authorizedAt": None}]},
        {"id": "0b7e5c1a-0000-4000-8000-000000000003", "appId": app, "externalId": "user-43",
         "email": "badsum@example.com", "name": "Bad Checksum",
         "wallets": [{"chainId": 1, "walletAddress": E_BAD}]},
        {"id": "0b7e5c1a-0000-4000-8000-000000000004", "appId": app, "externalId": "user-44",
         "email": "Ada@Example.com", "name": "Ada Twice"},
        {"id": "0b7e5c1a-0000-4000-8000-000000000005", "appId": app, "externalId": "user-45",
         "email": "nochain@example.com", "wallets": [{"walletAddress": E2}]},  # chainId missing
    ]
    expect = [
        Expect("0b7e5c1a-0000-4000-8000-000000000001", "created", fields={
            "external_id": "user-42", "email": "ada@example.com", **_full_name("Ada", "Lovelace"),
            "address": {"line1": "12 St James's Sq", "line2": None, "city": "London", "state": None,
                        "postal_code": "SW1Y 4JH", "country": "GB"},
            "metadata": {"tier": "gold", "app_id": app, "source_id": "0b7e5c1a-0000-4000-8000-000000000001",
                         "source_created": "1774872000"}},
            wallets=[{"network": "evm", "chain_id": 1, "address": E1, "has_active_authorization": True,
                      "authorization_type": "PERMIT", "authorization_tx_hash": TX, "authorized_at": 1774875600}]),
        Expect("0b7e5c1a-0000-4000-8000-000000000002", "created", fields={
            "external_id": "0b7e5c1a-0000-4000-8000-000000000002", "email": None, "name": None, "address": None,
            "metadata": {"app_id": app, "source_created": "1774872000"}},
            wallets=[{"network": "evm", "chain_id": 137, "address": E3, "has_active_authorization": False,
                      "authorization_type": None}]),
        Expect("0b7e5c1a-0000-4000-8000-000000000003", "failed", "wallet_invalid"),
        Expect("0b7e5c1a-0000-4000-8000-000000000004", "failed", "duplicate_email"),
        Expect("0b7e5c1a-0000-4000-8000-000000000005", "failed", "wallet_invalid"),
    ]
    return Sample("evm", "page", records, expect,
                  head={"success": True, "pagination": {"page": 1, "pageSize": 100, "total": 5}})


def billstack() -> Sample:
    records = [
        {"id": "pc_a1b2c3d4", "email": "jane@example.com", "name": "Jane Doe", "stripeCustomerId": "cus_xxx",
         "metadata": {"plan": "pro"}, "projectId": "proj_abc123", "createdAt": "2026-03-30T12:00:00Z",
         "updatedAt": "2026-03-30T12:00:00Z"},
        {"id": "pc_a1b2c3d5", "email": "noname@example.com", "projectId": "proj_abc123"},  # no name, no metadata
        {"id": "pc_a1b2c3d6", "email": "jane@EXAMPLE.com", "name": "Jane Dup", "projectId": "proj_abc123"},
        {"id": "pc_a1b2c3d7", "email": "jane at example dot com", "name": "Bad Email"},
        {"id": "pc_a1b2c3d8", "email": "conflict@example.com", "name": "Meta Clash", "stripeCustomerId": "cus_new",
         "metadata": {"stripe_customer_id": "cus_old"}},
    ]
    expect = [
        Expect("pc_a1b2c3d4", "created", fields={
            "external_id": "pc_a1b2c3d4", "email": "jane@example.com", **_full_name("Jane", "Doe"),
            "metadata": {"plan": "pro", "stripe_customer_id": "cus_xxx", "project_id": "proj_abc123",
                         "source_created": "1774872000"}}),
        Expect("pc_a1b2c3d5", "created", fields={"external_id": "pc_a1b2c3d5", "email": "noname@example.com",
                                                 "name": None, "first_name": None,
                                                 "metadata": {"project_id": "proj_abc123"}}),
        Expect("pc_a1b2c3d6", "failed", "duplicate_email"),
        Expect("pc_a1b2c3d7", "failed", "email_invalid"),
        Expect("pc_a1b2c3d8", "failed", "metadata_invalid"),
    ]
    return Sample("billstack", "page", records, expect, list_key="customers")


def lunipay() -> Sample:
    records = [
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "object": "customer", "livemode": False, "email": "ada@example.com",
         "first_name": "Ada", "last_name": "Lovelace", "phone": "+18765551234",
         "company_name": "Analytical Engines Ltd.", "notes": "VIP — priority support",
         "metadata": {"internal_id": "ACCT-42"}, "stripe_customer_id": "cus_Pxxxxxxxxxxxx",
         "created": 1713100800, "updated": 1713100800},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EZ", "object": "customer", "livemode": False, "email": "grace@example.com",
         "first_name": "Grace", "last_name": None, "phone": None, "company_name": None, "notes": None,
         "metadata": None, "stripe_customer_id": None, "created": 1713100900, "updated": 1713100900},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F0", "object": "customer", "email": "many@example.com",
         "first_name": "Many", "metadata": {f"k{i}": "v" for i in range(50)}, "stripe_customer_id": "cus_Pmany",
         "created": 1713101000},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F1", "object": "customer", "email": "ADA@example.com",
         "first_name": "Ada", "last_name": "Again", "created": 1713101100},
    ]
    expect = [
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "created", fields={
            "external_id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "email": "ada@example.com",
            **_full_name("Ada", "Lovelace"), "phone": "+18765551234", "company_name": "Analytical Engines Ltd.",
            "notes": "VIP — priority support",
            "metadata": {"internal_id": "ACCT-42", "stripe_customer_id": "cus_Pxxxxxxxxxxxx",
                         "source_created": "1713100800"}}),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9EZ", "created", fields={
            "external_id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EZ", "email": "grace@example.com", "name": "Grace",
            "first_name": "Grace", "last_name": None, "phone": None, "company_name": None, "notes": None,
            "metadata": {"source_created": "1713100900"}}),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F0", "failed", "metadata_too_many_keys"),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F1", "failed", "duplicate_email"),
    ]
    return Sample("lunipay", "page", records, expect,
                  head={"object": "list", "url": "/v1/customers", "has_more": False})


def cstar() -> Sample:
    records = [
        {"id": "cus_x9Y8z7W6v5U4", "object": "customer", "name": "Jane Doe", "email": "jane@example.com",
         "sentiment": "happy", "status": "active", "tags": ["vip", "enterprise", "high value", "vip"],
         "notes": "Enterprise customer since 2024",
         "customFields": {"company": "Acme Corp", "plan": "enterprise", "seats": 40, "sso": True,
                          "regions": ["eu", "us"]},
         "ticketCount": 5, "metadata": {}, "createdAt": "2025-01-15T10:00:00Z", "updatedAt": "2026-03-30T10:30:00Z"},
        {"id": "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", "object": "customer", "name": "No Status",
         "email": "nostatus@example.com"},  # a UUID id; status, sentiment, tags absent
        {"id": "cus_a1b2c3", "object": "customer", "name": "Odd Mood", "email": "mood@example.com",
         "sentiment": "ecstatic"},
        {"id": "cus_d4e5f6", "object": "customer", "name": "Jane Twin", "email": "Jane@Example.com",
         "status": "inactive"},
        {"id": "cus_g7h8i9", "object": "customer", "name": "Quiet One", "email": "quiet@example.com",
         "status": "inactive", "sentiment": "frustrated", "tags": [], "customFields": None, "ticketCount": 0,
         "metadata": {"crm": "hub-7"}, "recentTickets": [{"id": "tkt_abc123", "title": "Login issue"}]},
    ]
    expect = [
        Expect("cus_x9Y8z7W6v5U4", "created", fields={
            "external_id": "cus_x9Y8z7W6v5U4", "email": "jane@example.com", **_full_name("Jane", "Doe"),
            "sentiment": "happy", "status": "active", "tags": ["vip", "enterprise", "high-value"],
            "notes": "Enterprise customer since 2024",
            "custom_fields": {"company": "Acme Corp", "plan": "enterprise", "seats": 40, "sso": True,
                              "regions": '["eu","us"]', "ticket_count": 5},
            "metadata": {"source_created": "1736935200"}}),
        Expect("7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", "created", fields={
            "external_id": "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", **_full_name("No", "Status"),
            "status": "active", "sentiment": "neutral", "tags": [], "custom_fields": {}, "notes": None,
            "metadata": {}}),
        Expect("cus_a1b2c3", "failed", "parameter_invalid"),
        Expect("cus_d4e5f6", "failed", "duplicate_email"),
        Expect("cus_g7h8i9", "created", fields={
            "external_id": "cus_g7h8i9", "status": "inactive", "sentiment": "frustrated", "tags": [],
            "custom_fields": {"ticket_count": 0}, "metadata": {"crm": "hub-7"}}),
    ]
    return Sample("cstar", "page", records, expect,
                  head={"success": True, "pagination": {"total": 5, "page": 1, "pageSize": 20, "hasMore": False}})


def _stripe_customer(cid: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": cid, "object": "customer", "address": None, "balance": 0, "created": 1680000000, "currency": None,
        "default_source": None, "delinquent": False, "description": None, "discount": None, "email": None,
        "invoice_prefix": None, "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                                     "footer": None, "rendering_options": None},
        "livemode": False, "metadata": {}, "name": None, "next_invoice_sequence": 1, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None}
    return {**base, **fields}


def stripe() -> Sample:
    address = {"city": "Paris", "country": "FR", "line1": "1 rue de Rivoli", "line2": None,
               "postal_code": "75001", "state": None}
    full = _stripe_customer(
        "cus_NffrFeUfNV2Hib", email="jenny.rosen@example.com", name="Jenny Rosen", phone="+33123456789",
        description="Imported from Stripe", address=address, metadata={"order_id": "6735"},
        shipping={"name": "Jenny Rosen", "phone": None, "address": address, "carrier": None,
                  "tracking_number": None},
        preferred_locales=["fr-FR", "en"], tax_exempt="exempt", balance=-500, currency="eur",
        invoice_prefix="A1B2C3D4", business_name="Rosen SARL", individual_name="Jenny Rosen")
    page = {"object": "list", "url": "/v1/customers", "has_more": False, "data": [
        _stripe_customer("cus_Page00000001", email="page1@example.com", name="Page One"),
        _stripe_customer("cus_Page00000002", email="JENNY.ROSEN@example.com", name="Page Dup"),
    ]}
    records = [
        full,
        {"id": "cus_Deleted000001", "object": "customer", "deleted": True},
        _stripe_customer("cus_Minimal00001"),
        page,
        _stripe_customer("cus_BadLocale0001", email="locale@example.com", preferred_locales=["not a locale"]),
    ]
    native = {
        "shipping": {"name": "Jenny Rosen", "phone": None, "address": {**address}},
        "preferred_locales": ["fr-FR", "en"], "tax_exempt": "exempt", "business_name": "Rosen SARL",
        "individual_name": "Jenny Rosen"}
    kept_as_metadata = {
        "stripe_shipping": json.dumps({"name": "Jenny Rosen", "address": {k: v for k, v in address.items() if v}},
                                      separators=(",", ":")),
        "stripe_preferred_locales": "fr-FR,en", "stripe_tax_exempt": "exempt", "business_name": "Rosen SARL",
        "individual_name": "Jenny Rosen"}
    extras = {k: v for k, v in native.items() if supports(k)}
    extra_metadata = {k: v for k, v in kept_as_metadata.items()
                      if not supports({"stripe_shipping": "shipping", "stripe_preferred_locales": "preferred_locales",
                                       "stripe_tax_exempt": "tax_exempt"}.get(k, k))}
    expect = [
        Expect("cus_NffrFeUfNV2Hib", "created", fields={
            "external_id": "cus_NffrFeUfNV2Hib", "email": "jenny.rosen@example.com", **_full_name("Jenny", "Rosen"),
            "phone": "+33123456789", "description": "Imported from Stripe", "address": address, **extras,
            "metadata": {"order_id": "6735", **extra_metadata, "stripe_balance": "-500", "stripe_currency": "eur",
                         "stripe_invoice_prefix": "A1B2C3D4", "source_created": "1680000000"}}),
        Expect("cus_Deleted000001", "skipped", "source_deleted"),
        Expect("cus_Minimal00001", "created", fields={"external_id": "cus_Minimal00001", "email": None, "name": None,
                                                      "address": None, "metadata": {"source_created": "1680000000"}}),
        Expect("cus_Page00000001", "created", fields={"external_id": "cus_Page00000001", "email": "page1@example.com",
                                                      **_full_name("Page", "One")}),
        Expect("cus_Page00000002", "failed", "duplicate_email"),
        Expect("cus_BadLocale0001", "failed" if supports("preferred_locales") else "created",
               "parameter_invalid" if supports("preferred_locales") else None,
               fields={} if supports("preferred_locales") else {"external_id": "cus_BadLocale0001"}),
    ]
    return Sample("stripe", "lines", records, expect)


def ndjson() -> Sample:
    wallets = [
        {"id": "wal_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "object": "wallet", "customer": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY",
         "network": "stellar", "address": G4, "has_active_authorization": False, "authorization_type": None,
         "authorization_tx_hash": None, "authorized_at": None, "livemode": False, "created": 1713100800,
         "updated": 1713100800},
        {"id": "wal_01JRZK2Q4T9ZS0VCNA3HX7W9EZ", "object": "wallet", "customer": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY",
         "network": "evm", "chain_id": 8453, "address": E4, "has_active_authorization": True,
         "authorization_type": "APPROVAL", "authorization_tx_hash": TX, "authorized_at": 1713100900,
         "livemode": False, "created": 1713100800, "updated": 1713100900},
    ]
    full = {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "object": "customer", "livemode": False,
            "email": "ada@example.com", "name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace",
            "company_name": "Analytical Engines Ltd.", "phone": "+18765551234", "description": "first",
            "image": "https://example.com/ada.png", "external_id": "user-42",
            "address": {"line1": "12 St James's Sq", "line2": None, "city": "London", "state": None,
                        "postal_code": "SW1Y 4JH", "country": "GB"},
            "status": "active", "sentiment": "happy", "tags": ["vip"], "notes": "Internal only",
            "custom_fields": {"plan": "enterprise", "seats": 40}, "metadata": {"internal_id": "ACCT-42"},
            "wallets": wallets, "created": 1713100800, "updated": 1713100800, "version": 3}
    records = [
        full,
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F0", "object": "customer", "livemode": False, "email": None,
         "name": None, "external_id": None, "status": "inactive", "sentiment": "neutral", "tags": [],
         "custom_fields": {}, "metadata": {}, "wallets": [], "created": 1713100900, "updated": 1713100900},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F1", "object": "customer", "email": "badwallet@example.com",
         "wallets": [{"network": "evm", "chain_id": 1, "address": E_BAD}], "created": 1713101000},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F2", "object": "customer", "email": "ADA@EXAMPLE.COM",
         "created": 1713101100},
        {"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F3", "object": "customer", "deleted": True},
    ]
    expect = [
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "created", fields={
            **{k: full[k] for k in ("email", "name", "first_name", "last_name", "company_name", "phone",
                                    "description", "image", "external_id", "address", "status", "sentiment", "tags",
                                    "notes", "custom_fields")},
            "metadata": {"internal_id": "ACCT-42", "source_id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY",
                         "source_created": "1713100800"}},
            wallets=[{"network": "stellar", "address": G4, "has_active_authorization": False},
                     {"network": "evm", "chain_id": 8453, "address": E4, "has_active_authorization": True,
                      "authorization_type": "APPROVAL", "authorization_tx_hash": TX, "authorized_at": 1713100900}]),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F0", "created", fields={
            "external_id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9F0", "email": None, "status": "inactive",
            "metadata": {"source_created": "1713100900"}}),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F1", "failed", "wallet_invalid"),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F2", "failed", "duplicate_email"),
        Expect("cus_01JRZK2Q4T9ZS0VCNA3HX7W9F3", "skipped", "source_deleted"),
    ]
    return Sample("ndjson", "lines", records, expect)


SAMPLES = {s().format_name: s for s in (stellartools, evm, billstack, lunipay, cstar, stripe, ndjson)}


def write_sample(sample: Sample, path: Path) -> Path:
    """Write the sample in its layout; sets each Expect's `line` (where its record starts)."""
    lines: list[str] = []
    record_lines: list[int] = []
    if sample.layout == "lines":
        for record in sample.records:
            lines.append(json.dumps(record, ensure_ascii=False))
            count = len(record.get("data", [])) if record.get("object") == "list" else 1
            record_lines += [len(lines)] * count
    else:
        if sample.layout == "page":
            lines.append("{")
            lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in sample.head.items()]
            lines.append(f"  {json.dumps(sample.list_key)}: [")
        else:
            lines.append("[")
        for index, record in enumerate(sample.records):
            text = json.dumps(record, indent=2, ensure_ascii=False).splitlines()
            record_lines.append(len(lines) + 1)
            text[-1] += "," if index < len(sample.records) - 1 else ""
            lines += ["    " + t for t in text]
        lines.append("  ]" if sample.layout == "page" else "]")
        if sample.layout == "page":
            lines.append("}")
    assert len(record_lines) == len(sample.expect), (sample.format_name, len(record_lines), len(sample.expect))
    for expect, line in zip(sample.expect, record_lines, strict=True):
        expect.line = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_customer(customer: dict[str, Any], expect: Expect) -> None:
    """Every expected field, and the wallets (network, chain, address, authorization) in order."""
    for name, value in expect.fields.items():
        assert customer.get(name) == value, (expect.source_id, name, customer.get(name), value)
    got = customer.get("wallets") or []
    assert len(got) == len(expect.wallets), (expect.source_id, got)
    for wallet, wanted in zip(got, expect.wallets, strict=True):
        for name, value in wanted.items():
            assert wallet.get(name) == value, (expect.source_id, name, wallet.get(name), value)
