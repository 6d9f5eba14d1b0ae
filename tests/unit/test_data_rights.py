"""The customer's data rights (api.md §11) over moto: export, and redact — after which no item of the
table, and no answer of the API, holds any of the customer's personal values."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from customers_core import keys, netguard
from customers_core.auth import Principal
from customers_core.dal import customers as customers_dal
from customers_core.dal import data_rights as data_rights_dal
from customers_core.dal.table import serialize
from customers_core.logic import delivery, webhooks
from customers_core.logic.data_rights import export_customer, redacted_object, scrub
from customers_core.models.webhooks import WebhookEndpointParams
from local_stack.runtime import LambdaContext

from tests.conftest import api_event, load_function
from tests.unit.test_webhooks import _queued, counting

# Every personal value of the customer, each made of words that appear nowhere else (and with an
# l, o, u or i, which no id's base32 has), so finding one anywhere is a leak.
PERSONAL = {
    "email": "quillonmail.vantabloux@zorbolux.example", "name": "Quillonius Vantabloux",
    "first_name": "Quillonius", "last_name": "Vantabloux", "company_name": "Zorbolux Industrial",
    "phone": "+15550199871", "description": "Descriptolio Lumixio", "image": "https://img.example/quillimagio.png",
    "external_id": "extoulio-4242", "notes": "Notolio hiddenloi",
    "address": {"line1": "12 Lirpoulo Street", "line2": "Flat Oulipoli", "city": "Grolloux", "state": "Statoulia",
                "postal_code": "LU9 9OI", "country": "Countrolia"},
    "custom_fields": {"nick": "Custoulio"}, "metadata": {"plan": "Metalouio"},
    "shipping": {"name": "Shipoulio Nomilo", "phone": "+15550123999",
                 "address": {"line1": "Shiplino Roadoli", "city": "Shipcilou"}},
    "business_name": "Bizoulio", "individual_name": "Indivoulio",
}
CHANGED = {"name": "Quillonius Updatolio", "description": "Updescrolio", "metadata": {"tier": "Tieroulio"}}
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"
NEEDLES = ["quillonmail", "vantabloux", "zorbolux", "quillonius", "15550199871", "descriptolio", "lumixio",
           "quillimagio", "extoulio", "notolio", "hiddenloi", "lirpoulo", "oulipoli", "grolloux", "statoulia",
           "lu9 9oi", "countrolia", "custoulio", "metalouio", "shipoulio", "nomilo", "15550123999", "shiplino",
           "roadoli", "shipcilou", "bizoulio", "indivoulio", "updatolio", "updescrolio", "tieroulio",
           WALLET.lower()]


# --- the world: API calls through the functions, the stream fed from the writes, deliveries ------
class World:
    def __init__(self, table: Any, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.table, self.context = table, context
        self.records: list[dict[str, Any]] = []
        self.functions: dict[str, Any] = {}
        self.posted: list[dict[str, Any]] = []
        original = customers_dal.write_customer

        def recorded(table: Any, tenant: str, new: dict, old: dict | None, receipt: Any = None) -> None:
            original(table, tenant, new, old, receipt=receipt)
            self.records.append(_stream_record(new, old, len(self.records)))

        monkeypatch.setattr(customers_dal, "write_customer", recorded)
        monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.215.14"])
        monkeypatch.setattr(netguard, "post", self._receive)

    def _receive(self, target: Any, body: bytes, headers: dict, timeout: float) -> netguard.Response:
        self.posted.append(json.loads(body))
        return netguard.Response(200, 3.0)

    def call(self, function: str, method: str, path: str, body: Any = None, *, key: str | None = None,
             query: dict[str, str] | None = None, context: dict[str, Any] | None = None) -> tuple[int, Any]:
        if function not in self.functions:
            self.functions[function] = load_function(function)
        event = api_event(method, path, body=json.dumps(body) if body is not None else None,
                          content_type="application/json" if body is not None else None,
                          context=context or self.context, headers={"idempotency-key": key} if key else None)
        event["rawQueryString"] = urlencode(query or {})
        response = self.functions[function].lambda_handler(event, LambdaContext("unit"))
        return response["statusCode"], json.loads(response["body"])

    def settle(self, queue_url: str) -> None:
        """The stream's records so far through the fan-out function, then every queued delivery."""
        if "stream_fanout" not in self.functions:
            self.functions["stream_fanout"] = load_function("stream_fanout")
        batch, self.records = self.records, []
        if batch:
            result = self.functions["stream_fanout"].lambda_handler({"Records": batch}, LambdaContext("fanout"))
            assert result == {"batchItemFailures": []}
        for message in _queued(queue_url):
            delivery.deliver(self.table, message)


def _stream_record(new: dict, old: dict | None, n: int) -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": serialize({"pk": new["pk"], "sk": new["sk"]}), "NewImage": serialize(new),
                              "SequenceNumber": f"{n + 1:024d}", "StreamViewType": "NEW_AND_OLD_IMAGES",
                              "ApproximateCreationDateTime": int(new.get("updated") or new["created"])}
    if old is not None:
        change["OldImage"] = serialize(old)
    return {"eventID": f"record-{n}-{new['id']}", "eventName": "INSERT" if old is None else "MODIFY",
            "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/customers-unit/stream/x"}


def _texts(value: Any) -> list[str]:
    """Every string in a (DynamoDB-typed) item, binary values decompressed when they are zlib."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [k, *_texts(v)]]
    if isinstance(value, list | tuple | set):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, bytes | bytearray):
        try:
            return [zlib.decompress(bytes(value)).decode(errors="replace")]
        except zlib.error:
            return [bytes(value).decode("latin-1")]
    return [str(value)]


def leaks(found: Any) -> list[str]:
    text = "\n".join(_texts(found)).lower()
    return [needle for needle in NEEDLES if needle in text]


def table_leaks(table: Any, account_id: str | None = None) -> dict[str, list[str]]:
    """Every item of the table, or of one account (a Scan: tests only), by key, with the personal
    values it holds."""
    only = {"FilterExpression": "contains(pk, :acct)", "ExpressionAttributeValues": {":acct": {"S": account_id}}} \
        if account_id else {}
    out: dict[str, list[str]] = {}
    for page in table.client.get_paginator("scan").paginate(TableName=table.name, **only):
        for item in page["Items"]:
            found = leaks(item)
            if found:
                out[f"{item['pk']['S']} | {item['sk']['S']}"] = found
    return out


@pytest.fixture
def world(table, account, webhooks_env, monkeypatch) -> World:
    made = World(table, account, monkeypatch)
    owner = Principal(account["account_id"], False, frozenset({"webhooks:write"}), "key_x")
    webhooks.create_endpoint(table, owner, WebhookEndpointParams.model_validate(
        {"url": "https://hooks.example.com/in", "enabled_events": ["*"]}))
    delivery.forget_endpoints()
    made.queue = webhooks_env["WEBHOOK_QUEUE_URL"]  # type: ignore[attr-defined]
    return made


def _lived(world: World) -> dict[str, Any]:
    """A customer with every personal field, changed, given a wallet, found, delivered, its event
    re-sent — each POST under an idempotency key (one of them a change that changes nothing)."""
    status, created = world.call("create_customer", "POST", "/v1/customers", PERSONAL, key="k-create")
    assert status == 200, created
    path = f"/v1/customers/{created['id']}"
    assert world.call("update_customer", "POST", path, CHANGED, key="k-update")[0] == 200
    assert world.call("add_wallet", "POST", f"{path}/wallets", {"network": "evm", "address": WALLET, "chain_id": 1},
                      key="k-wallet")[0] == 200
    assert world.call("update_customer", "POST", path, {"name": CHANGED["name"]}, key="k-same")[0] == 200
    status, found = world.call("search_customers", "GET", "/v1/customers/search",
                               query={"query": 'name:"Quillonius"'})
    assert [c["id"] for c in found["data"]] == [created["id"]]
    world.settle(world.queue)  # type: ignore[attr-defined]
    status, events = world.call("list_events", "GET", "/v1/events")
    assert [e["type"] for e in events["data"]] == ["customer.updated", "customer.updated", "customer.created"]
    status, retried = world.call("retry_event", "POST", f"/v1/events/{events['data'][-1]['id']}/retry", key="k-retry")
    assert status == 200 and retried["data"]["object"]["email"] == PERSONAL["email"]
    world.settle(world.queue)  # type: ignore[attr-defined]
    assert len(world.posted) == 4 and leaks(world.posted)
    return created


# --- export ---------------------------------------------------------------------------------------
def test_export_holds_the_customer_with_wallets_its_events_and_their_deliveries(world):
    created = _lived(world)
    status, export = world.call("export_customer", "GET", f"/v1/customers/{created['id']}/export")
    assert status == 200 and export["object"] == "customer_export"
    assert export["customer"]["name"] == CHANGED["name"] and export["customer"]["wallets"][0]["address"] == WALLET
    assert [e["type"] for e in export["events"]] == ["customer.updated", "customer.updated", "customer.created"]
    assert all(e["data"]["object"]["id"] == created["id"] for e in export["events"])
    event_ids = {e["id"] for e in export["events"]}
    assert len(export["deliveries"]) == 3 and {d["event"] for d in export["deliveries"]} == event_ids
    retried = next(d for d in export["deliveries"] if d["event"] == export["events"][-1]["id"])
    assert retried["status"] == "succeeded" and len(retried["attempts"]) == 2
    assert retried["id"].startswith("whd_") and retried["object"] == "webhook_delivery"
    # One consistent Query of the customer's partition, one BatchGet of its events and deliveries.
    counted, client = counting(world.table)
    who = Principal(world.context["account_id"], False, frozenset({"customers:read"}), "key_x")
    assert export_customer(counted, who, created["id"]) == export
    assert client.calls == Counter({"query": 1, "batch_get_item": 1}), client.calls
    # An endpoint created later, named by a retry: its delivery is found too (one more BatchGet).
    owner = Principal(world.context["account_id"], False, frozenset({"webhooks:write"}), "key_x")
    later = webhooks.create_endpoint(world.table, owner, WebhookEndpointParams.model_validate(
        {"url": "https://hooks.example.com/later", "enabled_events": ["*"]}))
    first = export["events"][-1]["id"]
    assert world.call("retry_event", "POST", f"/v1/events/{first}/retry", {"webhook_endpoint": later["id"]})[0] == 200
    world.settle(world.queue)
    client.reset()
    deliveries = export_customer(counted, who, created["id"])["deliveries"]
    assert sorted(d["webhook_endpoint"] for d in deliveries if d["event"] == first) == sorted(
        [retried["webhook_endpoint"], later["id"]])
    assert client.calls == Counter({"query": 1, "batch_get_item": 2}), client.calls
    # Another customer's events are not in it.
    _, other = world.call("create_customer", "POST", "/v1/customers", {"name": "Somebody Else"})
    world.settle(world.queue)
    _, again = world.call("export_customer", "GET", f"/v1/customers/{created['id']}/export")
    assert {e["id"] for e in again["events"]} == event_ids and len(again["deliveries"]) == 4
    _, theirs = world.call("export_customer", "GET", f"/v1/customers/{other['id']}/export")
    assert [e["type"] for e in theirs["events"]] == ["customer.created"] and theirs["deliveries"][0]["event"] == \
        theirs["events"][0]["id"]


# --- redact ---------------------------------------------------------------------------------------
def test_redact_leaves_no_personal_value_in_any_item_or_answer(world, table):
    created = _lived(world)
    assert table_leaks(table), "the test must see the values before the redaction"
    customer_id = created["id"]
    status, answer = world.call("redact_customer", "POST", f"/v1/customers/{customer_id}/redact", key="k-redact")
    assert (status, answer) == (200, {"id": customer_id, "object": "customer", "redacted": True})
    # Right after the request, before the stream has run: nothing held anywhere.
    assert table_leaks(table) == {}
    world.settle(world.queue)
    assert table_leaks(table) == {}
    # The customer.redacted event, as stored and as delivered: the customer's id and version only.
    status, events = world.call("list_events", "GET", "/v1/events")
    assert events["data"][0]["type"] == "customer.redacted"
    assert events["data"][0]["data"] == {"object": {"id": customer_id, "object": "customer", "redacted": True,
                                                    "version": 5}}
    assert world.posted[-1]["type"] == "customer.redacted" and not leaks(world.posted[-1])
    # Every answer of the API about it.
    path = f"/v1/customers/{customer_id}"
    assert world.call("retrieve_customer", "GET", path) == (
        200, {"id": customer_id, "object": "customer", "deleted": True, "redacted": True})
    answers = [
        world.call("list_customers", "GET", "/v1/customers"),
        world.call("list_customers", "GET", "/v1/customers", query={"email": PERSONAL["email"]}),
        world.call("list_customers", "GET", "/v1/customers", query={"wallet": WALLET}),
        world.call("search_customers", "GET", "/v1/customers/search", query={"query": 'name:"Quillonius"'}),
        world.call("search_customers", "GET", "/v1/customers/search", query={"query": 'phone:"+15550199871"'}),
        world.call("list_events", "GET", "/v1/events", query={"limit": "100"}),
        *[world.call("retrieve_event", "GET", f"/v1/events/{e['id']}") for e in events["data"]],
        world.call("export_customer", "GET", f"{path}/export"),
        # Replays of the keyed requests answer what is stored now.
        world.call("create_customer", "POST", "/v1/customers", PERSONAL, key="k-create"),
        world.call("update_customer", "POST", path, CHANGED, key="k-update"),
        world.call("update_customer", "POST", path, {"name": CHANGED["name"]}, key="k-same"),
        world.call("retry_event", "POST", f"/v1/events/{events['data'][-1]['id']}/retry", key="k-retry"),
    ]
    assert [status for status, _ in answers] == [200] * len(answers)
    assert [found for _, found in answers if leaks(found)] == []
    assert answers[0][1]["data"] == [] and answers[3][1]["data"] == [] and answers[4][1]["data"] == []
    export = answers[-5][1]
    assert export["customer"] == {"id": customer_id, "object": "customer", "deleted": True, "redacted": True}
    assert [e["type"] for e in export["events"]] == ["customer.redacted", "customer.updated", "customer.updated",
                                                     "customer.created"]
    # The values are free again: a new customer may take the email and external_id.
    status, newcomer = world.call("create_customer", "POST", "/v1/customers",
                                  {"email": PERSONAL["email"], "external_id": PERSONAL["external_id"]})
    assert status == 200 and newcomer["id"] != customer_id


def test_redact_of_a_deleted_customer_still_erases_its_events(world, table):
    created = _lived(world)
    path = f"/v1/customers/{created['id']}"
    assert world.call("delete_customer", "DELETE", path)[0] == 200
    world.settle(world.queue)
    _, events = world.call("list_events", "GET", "/v1/events")
    assert events["data"][0]["type"] == "customer.deleted" and leaks(events["data"][0])
    assert world.call("redact_customer", "POST", f"{path}/redact")[0] == 200
    world.settle(world.queue)
    assert table_leaks(table) == {}
    _, events = world.call("list_events", "GET", "/v1/events")
    assert [e["type"] for e in events["data"][:2]] == ["customer.redacted", "customer.deleted"]
    assert not leaks(events)


def _tokens_holding(table: Any, word: str) -> list[str]:
    """The keys of every item whose keys or values hold `word` (a Scan: tests only)."""
    return [f"{item['pk']['S']} | {item['sk']['S']}" for page in table.client.get_paginator("scan").paginate(
        TableName=table.name) for item in page["Items"] if word in "\n".join(_texts(item)).lower()]


def test_a_change_refused_leaves_no_value_behind_once_the_customer_is_redacted(world, table):
    """A change whose email is taken fails after its search tokens were put beside its transaction:
    they name values the customer never had, and the redaction deletes them too."""
    created = _lived(world)
    assert world.call("create_customer", "POST", "/v1/customers", {"email": "taken@else.example"})[0] == 200
    path = f"/v1/customers/{created['id']}"
    status, body = world.call("update_customer", "POST", path,
                              {"email": "taken@else.example", "name": "Refusoulio Vexoulio", "phone": "+15550177733"})
    assert (status, body["error"]["code"]) == (409, "email_taken"), body
    assert _tokens_holding(table, "refusoulio"), "the refused change's tokens are there (never returned)"
    found = world.call("search_customers", "GET", "/v1/customers/search", query={"query": 'name:"Refusoulio"'})[1]
    assert found["data"] == []
    assert world.call("redact_customer", "POST", f"{path}/redact")[0] == 200
    world.settle(world.queue)
    assert [_tokens_holding(table, w) for w in ("refusoulio", "vexoulio", "15550177733")] == [[], [], []]
    assert table_leaks(table) == {}


def test_a_change_racing_the_redaction_leaves_no_value_behind(world, table, monkeypatch):
    """An update reads the customer; the redaction commits and its sweeps run; the update's tokens go
    in beside its transaction, which fails on the version: it answers 404, and its tokens and their
    reference are deleted."""
    created = _lived(world)
    path = f"/v1/customers/{created['id']}"
    recorded = customers_dal.write_customer
    raced: list[int] = []

    def redaction_first(table_: Any, tenant: str, new: dict, old: dict | None, receipt: Any = None) -> None:
        if old is not None and new.get("name") == "Racoulio Zephoulio" and not raced:
            raced.append(world.call("redact_customer", "POST", f"{path}/redact")[0])
            world.settle(world.queue)  # its sweeps (the request's, the fan-out's) are over before the change writes
        recorded(table_, tenant, new, old, receipt=receipt)

    monkeypatch.setattr(customers_dal, "write_customer", redaction_first)
    status, body = world.call("update_customer", "POST", path, {"name": "Racoulio Zephoulio"})
    assert raced == [200] and (status, body["error"]["code"]) == (404, "resource_missing"), body
    world.settle(world.queue)
    assert [_tokens_holding(table, w) for w in ("racoulio", "zephoulio")] == [[], []]
    assert table_leaks(table) == {}


def test_a_failure_to_trace_the_tokens_leaves_the_answer_as_it_was(world, table, monkeypatch):
    created = _lived(world)
    assert world.call("create_customer", "POST", "/v1/customers", {"email": "taken2@else.example"})[0] == 200

    def unavailable(*_args: Any, **_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "PutItem")

    monkeypatch.setattr(data_rights_dal, "put_reference", unavailable)
    status, body = world.call("update_customer", "POST", f"/v1/customers/{created['id']}",
                              {"email": "taken2@else.example", "name": "Throttoulio"})
    assert (status, body["error"]["code"]) == (409, "email_taken"), body


def test_redact_is_once_per_customer_and_its_key_replays(world, table):
    created = _lived(world)
    path = f"/v1/customers/{created['id']}/redact"
    first = world.call("redact_customer", "POST", path, key="k-r")
    world.settle(world.queue)
    assert world.call("redact_customer", "POST", path, key="k-r") == first
    assert world.call("redact_customer", "POST", path) == first  # again: the sweep only, no second event
    world.settle(world.queue)
    _, events = world.call("list_events", "GET", "/v1/events")
    assert [e["type"] for e in events["data"]].count("customer.redacted") == 1
    # A redacted customer cannot be changed or given back its values.
    assert world.call("update_customer", "POST", f"/v1/customers/{created['id']}", {"name": "Back"})[0] == 404
    assert world.call("add_wallet", "POST", f"/v1/customers/{created['id']}/wallets",
                      {"network": "evm", "address": WALLET, "chain_id": 1})[0] == 404
    assert world.call("redact_customer", "POST", path, {"nope": 1})[1]["error"]["code"] == "parameter_unknown"


def test_another_account_or_mode_gets_404_and_scopes_are_checked(world, table):
    created = _lived(world)
    mine = world.context
    for context in ({**mine, "account_id": "acct_01JOTHER000000000000000000", "secret": None},
                    {**mine, "livemode": True, "secret": None}):
        for function, method, suffix in (("export_customer", "GET", "export"), ("redact_customer", "POST", "redact")):
            status, body = world.call(function, method, f"/v1/customers/{created['id']}/{suffix}", context=context)
            assert (status, body["error"]["code"]) == (404, "resource_missing"), body
    reader = {**mine, "scopes": "customers:read", "secret": None}
    assert world.call("export_customer", "GET", f"/v1/customers/{created['id']}/export", context=reader)[0] == 200
    status, body = world.call("redact_customer", "POST", f"/v1/customers/{created['id']}/redact", context=reader)
    assert status == 403 and "customers:delete" in body["error"]["message"]
    assert world.call("export_customer", "GET", "/v1/customers/cus_nope/export")[0] == 404
    assert table_leaks(table), "nothing was redacted"


# --- the parts --------------------------------------------------------------------------------------
def test_scrub_replaces_the_customer_and_its_wallets_everywhere_and_nothing_else():
    customer: dict[str, Any] = {"id": "cus_1", "object": "customer", "email": "a@b.example", "version": 3,
                "wallets": [{"id": "wal_1", "object": "wallet", "customer": "cus_1", "address": "0xabc"}]}
    other = {"id": "cus_2", "object": "customer", "email": "c@d.example"}
    event = {"id": "evt_1", "object": "event", "data": {"object": customer, "previous_attributes": {"email": "x"}}}
    assert scrub(event, "cus_1") == {"id": "evt_1", "object": "event",
                                     "data": {"object": redacted_object(customer), "previous_attributes": {}}}
    assert redacted_object(customer) == {"id": "cus_1", "object": "customer", "redacted": True, "version": 3}
    listed = {"object": "list", "data": [customer, other]}
    assert scrub(listed, "cus_1")["data"] == [redacted_object(customer), other]
    wallet = customer["wallets"][0]
    assert scrub(wallet, "cus_1") == {"id": "wal_1", "object": "wallet", "customer": "cus_1", "redacted": True}
    for untouched in (other, {"id": "cus_1", "object": "customer", "deleted": True}, {"error": {"code": "x"}}, None):
        assert scrub(untouched, "cus_1") == untouched


def test_each_event_costs_one_reference_and_a_change_without_event_one_only_when_keyed(world, table):
    created = _lived(world)
    partition = keys.customer_partition(keys.tenant(world.context["account_id"], False), created["id"])
    customer_partition = table.query_partition(partition)
    sort_keys = [str(i["sk"]) for i in customer_partition]
    assert sort_keys[0] == "CUS"
    assert sum(k.startswith(keys.EVENT_REFERENCE) for k in sort_keys) == 3  # created, updated (2)
    # The keyed change that changed nothing made no event: its stored answer has a reference; so has
    # the keyed retry's. An unkeyed no-op leaves none.
    answers = [k for k in sort_keys if k.startswith(keys.ANSWER_REFERENCE)]
    assert len(answers) == 2
    world.call("update_customer", "POST", f"/v1/customers/{created['id']}", {"name": CHANGED["name"]})
    world.settle(world.queue)
    assert len(table.query_partition(partition)) == len(sort_keys)
    assert all(int(i["expires_at"]) > 0 for i in customer_partition[1:])
