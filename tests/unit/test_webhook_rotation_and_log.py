"""Secret rotation and the delivery log (api.md §11), over moto (DynamoDB, KMS, SQS) with the network
replaced by a recorder: both official libraries verify with either secret during the overlap and only
with the new one after it; an endpoint's and an event's deliveries with their attempts, by status,
created range and cursors, read O(page); a failed delivery found there and re-sent."""

from __future__ import annotations

import json
import time
import zlib

import boto3
import pytest
import standardwebhooks
import stripe
from customers_core import ids, keys, netguard, signing
from customers_core.auth import Principal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Table
from customers_core.errors import ResourceMissing
from customers_core.logic import deliveries, delivery, fanout, webhooks
from customers_core.logic.events import retrieve_event
from customers_core.logic.fanout import record_event
from customers_core.models.webhooks import ListDeliveriesParams, RotateSecretParams, WebhookEndpointParams

from tests import typed_sdk_checks
from tests.conftest import load_event, load_function
from tests.unit.test_webhooks import OWNER, PUBLIC, Receiver, _queued

READER = Principal(OWNER.account_id, False, frozenset({"webhooks:read"}), "key_r")
OTHERS = (Principal("acct_01JSTRANGER000000000000000", False, OWNER.scopes, "k"),
          Principal(OWNER.account_id, True, OWNER.scopes, "k"))
T0 = 1795435200


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "resolve", lambda host, port: PUBLIC[host])
    delivery.forget_endpoints()


def _create(table) -> dict:
    return webhooks.create_endpoint(table, OWNER, WebhookEndpointParams.model_validate(
        {"url": "https://hooks.example.com/in", "enabled_events": ["*"]}))


def _rotate(table, endpoint_id: str, **params) -> dict:
    return webhooks.rotate_secret(table, OWNER, endpoint_id, RotateSecretParams.model_validate(params))


def _deliver_one(table, queue_url: str, monkeypatch: pytest.MonkeyPatch, record_n: int = 0) -> dict:
    """A new event for the endpoints, delivered now; the recorded POST."""
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    record = {**load_event("stream_fanout")["Records"][0], "eventID": f"rotation-{record_n}-{time.time_ns()}"}
    record_event(table, record, 30)
    [message] = _queued(queue_url)
    assert delivery.deliver(table, message).result == "delivered"
    [sent] = receiver.requests
    return sent


def _verifies(sent: dict, secret: str) -> tuple[bool, bool]:
    """(Stripe's library, Standard Webhooks') accept the delivery with only this secret."""
    body, headers = sent["body"], sent["headers"]
    try:
        stripe.WebhookSignature.verify_header(body.decode(), headers["Stripe-Signature"], secret, tolerance=600)
        stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], secret)
        stripe_ok = True
    except stripe.SignatureVerificationError:
        stripe_ok = False
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
        standard_ok = True
    except standardwebhooks.WebhookVerificationError:
        standard_ok = False
    return stripe_ok, standard_ok


# --- rotation ------------------------------------------------------------------------------------
def test_rotation_returns_a_new_secret_once_and_stores_it_encrypted(table, webhooks_env):
    created = _create(table)
    before = time.time()
    rotated = _rotate(table, created["id"])
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    shown = webhooks.retrieve_endpoint(table, OWNER, created["id"])
    assert {k: v for k, v in rotated.items() if k != "secret"} == shown
    raw = json.dumps(boto3.client("dynamodb").scan(TableName=table.name)["Items"])
    for secret in (created["secret"], rotated["secret"]):
        assert secret not in raw and secret[6:] not in raw, "a secret is stored in clear"
    item = webhooks_dal.get_endpoint(table, OWNER.tenant, created["id"])
    assert item is not None
    assert int(before) + 86400 <= int(item["previous_secret_expires_at"]) <= time.time() + 86400  # the default overlap
    assert webhooks.signing_secrets(item, time.time()) == [rotated["secret"], created["secret"]]
    assert webhooks.signing_secrets(item, float(item["previous_secret_expires_at"])) == [rotated["secret"]]


def test_during_the_overlap_either_secret_verifies_and_after_it_only_the_new(table, webhooks_env, monkeypatch):
    old = _create(table)
    new = _rotate(table, old["id"], expires_in=3600)
    sent = _deliver_one(table, webhooks_env["WEBHOOK_QUEUE_URL"], monkeypatch, 1)
    stripe_header, standard_header = sent["headers"]["Stripe-Signature"], sent["headers"]["webhook-signature"]
    assert stripe_header.count(",v1=") == 2 and len(standard_header.split(" ")) == 2
    assert _verifies(sent, old["secret"]) == (True, True), "a receiver holding the old secret failed"
    assert _verifies(sent, new["secret"]) == (True, True), "a receiver holding the new secret failed"
    assert _verifies(sent, signing.new_secret()) == (False, False)
    for secret in (old["secret"], new["secret"]):  # the ports of stripe-go's and Stripe.net's checks too
        typed_sdk_checks._signed(sent["body"], stripe_header, secret)
    # The new secret signs first in both headers.
    assert _verifies({**sent, "headers": {**sent["headers"], "Stripe-Signature": stripe_header.rsplit(",", 1)[0],
                                          "webhook-signature": standard_header.split(" ")[0]}},
                     new["secret"]) == (True, True)

    # The overlap ends (the stored expiry is now in the past): only the new secret signs.
    table.update(keys.webhook_endpoint(OWNER.tenant, old["id"]), "SET previous_secret_expires_at = :t",
                 values={":t": int(time.time()) - 1})
    delivery.forget_endpoints()
    after = _deliver_one(table, webhooks_env["WEBHOOK_QUEUE_URL"], monkeypatch, 2)
    assert after["headers"]["Stripe-Signature"].count("v1=") == 1
    assert " " not in after["headers"]["webhook-signature"]
    assert _verifies(after, new["secret"]) == (True, True)
    assert _verifies(after, old["secret"]) == (False, False), "the old secret still verifies after its expiry"


def test_expires_in_zero_and_rotating_again_keep_at_most_two_secrets(table, webhooks_env, monkeypatch):
    first = _create(table)
    second = _rotate(table, first["id"])
    third = _rotate(table, first["id"], expires_in=600)  # within the overlap: the first secret goes at once
    sent = _deliver_one(table, webhooks_env["WEBHOOK_QUEUE_URL"], monkeypatch, 3)
    assert [_verifies(sent, s["secret"]) for s in (first, second, third)] == [(False, False), (True, True),
                                                                             (True, True)]
    fourth = _rotate(table, first["id"], expires_in=0)  # no overlap: only the new one, at once
    delivery.forget_endpoints()
    sent = _deliver_one(table, webhooks_env["WEBHOOK_QUEUE_URL"], monkeypatch, 4)
    assert [_verifies(sent, s["secret"]) for s in (third, fourth)] == [(False, False), (True, True)]
    item = webhooks_dal.get_endpoint(table, OWNER.tenant, first["id"])
    assert item is not None and "previous_secret_ciphertext" not in item and item["version"] == 4


def _rotate_call(account, make_api_event, lambda_context, endpoint_id: str, body: str | None, *,
                 content_type: str | None = "application/json", headers: dict | None = None, **who):
    fn = load_function("rotate_webhook_secret")
    path = f"/v1/webhook_endpoints/{endpoint_id}/rotate_secret"
    response = fn.lambda_handler(make_api_event("POST", path, body=body, content_type=content_type if body else None,
                                                context={**account, **who}, headers=headers,
                                                path_parameters={"id": endpoint_id}), lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


@pytest.fixture
def account_endpoint(table, webhooks_env, account, make_api_event, lambda_context) -> dict:
    """An endpoint of the `account` fixture's account (test mode), made over the API."""
    fn = load_function("create_webhook_endpoint")
    response = fn.lambda_handler(make_api_event("POST", "/v1/webhook_endpoints", content_type="application/json",
                                                body='{"url":"https://hooks.example.com/x","enabled_events":["*"]}',
                                                context=account), lambda_context)
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


@pytest.mark.parametrize(("body", "content_type", "overlap"), [
    (None, None, 86400), ('{"expires_in": 60}', "application/json", 60), ("expires_in=604800",
                                                                           "application/x-www-form-urlencoded", 604800),
    ("expires_in=0", "application/x-www-form-urlencoded", 0),
])
def test_rotate_over_http_takes_json_form_or_nothing(table, account, account_endpoint, make_api_event,
                                                     lambda_context, body, content_type, overlap):
    status, rotated, _ = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], body,
                                      content_type=content_type)
    assert status == 200 and rotated["secret"] != account_endpoint["secret"], rotated
    item = webhooks_dal.get_endpoint(table, keys.tenant(account["account_id"], False), account_endpoint["id"])
    assert item is not None
    if overlap:
        assert int(item["previous_secret_expires_at"]) - time.time() == pytest.approx(overlap, abs=5)
    else:
        assert "previous_secret_ciphertext" not in item


@pytest.mark.parametrize(("body", "param"), [('{"expires_in": -1}', "expires_in"),
                                             ('{"expires_in": 604801}', "expires_in"),
                                             ('{"expires_in": "soon"}', "expires_in"),
                                             ('{"overlap": 5}', "overlap")])
def test_rotate_rejects_bad_params_naming_them(account, account_endpoint, make_api_event, lambda_context, body, param):
    status, answer, _ = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], body)
    assert status == 400 and answer["error"]["param"] == param, answer


def test_rotate_needs_webhooks_write_and_is_404_for_another_account_or_mode(table, account, account_endpoint,
                                                                           make_api_event, lambda_context):
    status, answer, _ = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], None,
                                     scopes="webhooks:read")
    assert status == 403 and "webhooks:write" in answer["error"]["message"]
    for other in ({"account_id": "acct_01JSTRANGER000000000000000"}, {"livemode": True}):
        status, answer, _ = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], None, **other)
        assert status == 404 and answer["error"]["code"] == "resource_missing", answer
    assert _rotate_call(account, make_api_event, lambda_context, "we_nope", None)[0] == 404
    item = webhooks_dal.get_endpoint(table, keys.tenant(account["account_id"], False), account_endpoint["id"])
    assert item is not None
    assert item["version"] == 1 and "previous_secret_ciphertext" not in item, "a refused rotation changed the endpoint"


def test_rotate_with_an_idempotency_key_rotates_once(table, account, account_endpoint, make_api_event, lambda_context):
    key = {"idempotency-key": "rotate-once"}
    first = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], '{"expires_in": 60}',
                         headers=key)
    again = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], '{"expires_in": 60}',
                         headers=key)
    assert first[0] == again[0] == 200 and first[1] == again[1]
    assert again[2].get("Idempotent-Replayed") == "true"
    item = webhooks_dal.get_endpoint(table, keys.tenant(account["account_id"], False), account_endpoint["id"])
    assert item is not None and item["version"] == 2, "the repeat rotated again"
    # The stored answer keeps the new secret encrypted (KMS), never in plain text; the replay decrypts it.
    secret = first[1]["secret"]
    stored = [zlib.decompress(bytes(i["body"]["B"])).decode() for i in table.client.scan(TableName=table.name)["Items"]
              if i.get("entity", {}).get("S") == "idempotency"]
    assert len(stored) == 1 and secret not in stored[0] and '"sealed"' in stored[0]
    other = _rotate_call(account, make_api_event, lambda_context, account_endpoint["id"], '{"expires_in": 61}',
                         headers=key)
    assert other[0] == 400 and other[1]["error"]["type"] == "idempotency_error"


# --- the delivery log ----------------------------------------------------------------------------
def _log(table, endpoint_id: str, who: Principal = READER, **query) -> dict:
    return deliveries.list_endpoint_deliveries(table, who, endpoint_id, ListDeliveriesParams.model_validate(query))


def _event_log(table, event_id: str, who: Principal = READER, **query) -> dict:
    return deliveries.list_event_deliveries(table, who, event_id, ListDeliveriesParams.model_validate(query))


def test_a_failed_delivery_is_in_both_logs_with_its_attempts_and_a_retry_resends_it(table, webhooks_env,
                                                                                    monkeypatch):
    endpoint = _create(table)
    event_id = record_event(table, load_event("stream_fanout")["Records"][0], 30)
    assert event_id is not None
    [message] = _queued(webhooks_env["WEBHOOK_QUEUE_URL"])
    # Before its first attempt: pending in the event's log; the endpoint's log has no item yet.
    [pending] = _event_log(table, event_id)["data"]
    assert (pending["status"], pending["attempts"], pending["webhook_endpoint"]) == ("pending", [], endpoint["id"])
    assert _log(table, endpoint["id"])["data"] == []

    monkeypatch.setattr(netguard, "post", Receiver(503))
    now = time.time()
    outcome = delivery.deliver(table, message, now=now)
    assert outcome.result == "retry"
    [failed] = _log(table, endpoint["id"], status="failed")["data"]
    assert failed == pending | {"status": "failed", "attempts": [
        {"attempted_at": int(now), "status_code": 503, "error": None, "duration_ms": 12,
         "next_attempt_at": int(now + outcome.delay)}]}
    assert failed["id"].startswith("whd_") and failed["event"] == event_id and failed["object"] == "webhook_delivery"
    assert failed["created"] == retrieve_event(table, OWNER, event_id)["created"]
    assert _event_log(table, event_id)["data"] == [failed] == _event_log(table, event_id, status="failed")["data"]
    assert _log(table, endpoint["id"], status="succeeded")["data"] == []
    # A timeout: no status code, the error instead.
    monkeypatch.setattr(netguard, "post", Receiver(TimeoutError("timed out")))
    assert outcome.retry is not None
    retry = json.loads(outcome.retry)
    delivery.deliver(table, retry, now=retry["not_before"])
    [twice] = _log(table, endpoint["id"])["data"]
    assert [(a["status_code"], a["error"]) for a in twice["attempts"]] == [(503, None), (None, "timeout")]

    # Re-sent from the log: pending again (its attempts kept), then succeeded.
    _queued(webhooks_env["WEBHOOK_QUEUE_URL"])
    fanout.retry_event(table, OWNER, failed["event"], failed["webhook_endpoint"])
    assert [d["status"] for d in _log(table, endpoint["id"])["data"]] == ["pending"]
    assert _log(table, endpoint["id"], status="pending")["data"][0]["attempts"] == twice["attempts"]
    monkeypatch.setattr(netguard, "post", Receiver(200))
    [resent] = _queued(webhooks_env["WEBHOOK_QUEUE_URL"])
    assert delivery.deliver(table, resent).result == "delivered"
    [done] = _log(table, endpoint["id"], status="succeeded")["data"]
    assert [a["status_code"] for a in done["attempts"]] == [503, None, 200] and done["id"] == failed["id"]
    assert _log(table, endpoint["id"], status="failed")["data"] == []
    assert _event_log(table, event_id)["data"] == [done]


def _put_delivery(table, endpoint_id: str, second: int, status: str, tenant: str = OWNER.tenant) -> str:
    """A delivery of an event made at T0 + second, recorded as the delivery function records it."""
    event_id = ids.new_id(ids.EVENT, T0 + second)
    ok = status == "succeeded"
    webhooks_dal.put_delivery(table, tenant, event_id, endpoint_id, {
        "status": status, "run": 0, "attempts": 1, "expires_at": T0 + 30 * 86400,
        "attempts_log": [{"attempt": 1, "attempted_at": T0 + second + 0.5, "status_code": 200 if ok else 500,
                          "duration_ms": 3.0, "succeeded": ok}]}, expected_ver=None)
    return webhooks_dal.delivery_id(event_id, endpoint_id)


@pytest.fixture
def logged(table, webhooks_env) -> dict:
    """30 deliveries to one endpoint, one a second, statuses in turn; 5 to another endpoint; 3 to an
    endpoint of the same id in another account."""
    endpoint, other = _create(table), _create(table)
    cycle = ("succeeded", "retrying", "succeeded", "dead_lettered", "pending", "endpoint_disabled")
    made = [(_put_delivery(table, endpoint["id"], n, cycle[n % len(cycle)]), cycle[n % len(cycle)])
            for n in range(30)]
    for n in range(5):
        _put_delivery(table, other["id"], n, "retrying")
    for n in range(3):
        _put_delivery(table, endpoint["id"], n, "retrying", tenant=OTHERS[0].tenant)
    return {"endpoint": endpoint["id"], "made": made}


def test_the_endpoint_log_pages_newest_first_by_status_and_created(table, logged):
    newest = [d for d, _ in reversed(logged["made"])]
    page = _log(table, logged["endpoint"])
    assert [d["id"] for d in page["data"]] == newest[:10] and page["has_more"] is True
    assert page["url"] == f"/v1/webhook_endpoints/{logged['endpoint']}/deliveries"
    rest = _log(table, logged["endpoint"], limit=100, starting_after=page["data"][-1]["id"])
    assert [d["id"] for d in rest["data"]] == newest[10:] and rest["has_more"] is False
    back = _log(table, logged["endpoint"], limit=3, ending_before=newest[10])
    assert [d["id"] for d in back["data"]] == newest[7:10] and back["has_more"] is True
    expected = {"succeeded": "succeeded", "retrying": "failed", "endpoint_disabled": "failed",
                "dead_lettered": "dead_lettered", "pending": "pending"}
    for status in ("pending", "succeeded", "failed", "dead_lettered"):
        got = _log(table, logged["endpoint"], status=status, limit=100)["data"]
        assert [d["id"] for d in got] == [d for d, s in reversed(logged["made"]) if expected[s] == status]
        assert {d["status"] for d in got} == {status}
    in_range = _log(table, logged["endpoint"], created={"gte": T0 + 5, "lte": T0 + 9})["data"]
    assert [d["created"] for d in in_range] == [T0 + 9, T0 + 8, T0 + 7, T0 + 6, T0 + 5]
    [second] = _log(table, logged["endpoint"], created=str(T0 + 2), status="succeeded")["data"]
    assert second["created"] == T0 + 2 and second["id"] == logged["made"][2][0]
    assert _log(table, logged["endpoint"], created=str(T0 + 2), status="failed")["data"] == []
    assert _log(table, logged["endpoint"], created={"gt": T0 + 9, "lt": T0 + 9})["data"] == []
    # Paging with a status filter walks exactly its deliveries.
    seen, after = [], None
    while True:
        got = _log(table, logged["endpoint"], status="failed", limit=3, **({"starting_after": after} if after else {}))
        seen += [d["id"] for d in got["data"]]
        if not got["has_more"]:
            break
        after = got["data"][-1]["id"]
    assert seen == [d for d, s in reversed(logged["made"]) if expected[s] == "failed"]


class ReadCounter:
    """The DynamoDB client, counting the items each read evaluated (a Query's ScannedCount)."""

    def __init__(self, client) -> None:
        self._client, self.items = client, 0

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def get_item(self, **kwargs):
        response = self._client.get_item(**kwargs)
        self.items += 1 if response.get("Item") else 0
        return response

    def query(self, **kwargs):
        response = self._client.query(**kwargs)
        self.items += int(response.get("ScannedCount", 0))
        return response


def test_the_endpoint_log_reads_o_page_items(table, logged):
    """A page of one status reads the page plus one, however many deliveries of other statuses the
    endpoint has; a page of all statuses at most that for each status."""
    for n in range(200):
        _put_delivery(table, logged["endpoint"], 100 + n, "succeeded")
    counter = ReadCounter(table.client)
    counted = Table(table.name, counter)
    assert len(_log(counted, logged["endpoint"], status="failed", limit=2)["data"]) == 2
    assert counter.items == 1 + 3  # the endpoint, and 2 + 1 deliveries
    counter.items = 0
    assert len(_log(counted, logged["endpoint"], limit=5)["data"]) == 5
    assert counter.items <= 1 + 4 * 6


def test_the_logs_are_isolated_by_account_and_mode(table, logged):
    for who in OTHERS:
        with pytest.raises(ResourceMissing):
            _log(table, logged["endpoint"], who)
    with pytest.raises(ResourceMissing):
        _event_log(table, ids.new_id(ids.EVENT))
    with pytest.raises(ResourceMissing):
        _log(table, ids.new_id(ids.WEBHOOK_ENDPOINT))
    with pytest.raises(ResourceMissing):
        _log(table, "not-an-id")
    webhooks.delete_endpoint(table, OWNER, logged["endpoint"])
    with pytest.raises(ResourceMissing):
        _log(table, logged["endpoint"])


def test_an_events_log_lists_each_endpoint_it_went_to(table, webhooks_env, monkeypatch):
    a, b, c = _create(table), _create(table), _create(table)
    event_id = record_event(table, load_event("stream_fanout")["Records"][0], 30)
    assert event_id is not None
    messages = {m["endpoint_id"]: m for m in _queued(webhooks_env["WEBHOOK_QUEUE_URL"])}
    monkeypatch.setattr(netguard, "post", Receiver(200))
    delivery.deliver(table, messages[a["id"]])
    monkeypatch.setattr(netguard, "post", Receiver(410))
    delivery.deliver(table, messages[b["id"]])
    log = _event_log(table, event_id)
    assert log["url"] == f"/v1/events/{event_id}/deliveries" and log["has_more"] is False
    by_endpoint = {d["webhook_endpoint"]: d for d in log["data"]}
    assert {k: v["status"] for k, v in by_endpoint.items()} == {a["id"]: "succeeded", b["id"]: "failed",
                                                               c["id"]: "pending"}
    assert [d["id"] for d in log["data"]] == sorted((d["id"] for d in log["data"]), reverse=True)
    assert [d["webhook_endpoint"] for d in _event_log(table, event_id, status="pending")["data"]] == [c["id"]]
    first = _event_log(table, event_id, limit=1)
    assert first["has_more"] is True and first["data"] == log["data"][:1]
    assert _event_log(table, event_id, limit=2, starting_after=log["data"][0]["id"])["data"] == log["data"][1:]
    assert _event_log(table, event_id, ending_before=log["data"][2]["id"])["data"] == log["data"][:2]
    created = log["data"][0]["created"]
    assert _event_log(table, event_id, created={"lt": created})["data"] == []
    for who in OTHERS:
        with pytest.raises(ResourceMissing):
            _event_log(table, event_id, who)


def test_the_delivery_item_moves_in_the_log_and_its_id_is_stable(table, webhooks_env):
    endpoint = _create(table)
    event_id = ids.new_id(ids.EVENT, T0)
    webhooks_dal.put_delivery(table, OWNER.tenant, event_id, endpoint["id"], {"status": "retrying", "run": 0,
                                                                             "attempts": 1}, expected_ver=None)
    raw = table.get(keys.delivery(OWNER.tenant, event_id, endpoint["id"]))
    whd = webhooks_dal.delivery_id(event_id, endpoint["id"])
    assert (raw["gsi1pk"], raw["gsi1sk"]) == (f"{OWNER.tenant}#WHD#{endpoint['id']}", f"failed#{whd}")
    assert ids.timestamp_ms(whd) == T0 * 1000 and whd == webhooks_dal.delivery_id(event_id, endpoint["id"])
    webhooks_dal.requeue_delivery(table, OWNER.tenant, event_id, endpoint["id"], run=5, now=T0, expires_at=T0 + 9)
    assert table.get(keys.delivery(OWNER.tenant, event_id, endpoint["id"]))["gsi1sk"] == f"pending#{whd}"
    # A retry naming an endpoint the event had no delivery for makes the item, listed as pending.
    late = _create(table)
    webhooks_dal.requeue_delivery(table, OWNER.tenant, event_id, late["id"], run=5, now=T0, expires_at=T0 + 9)
    [listed] = _log(table, late["id"])["data"]
    assert (listed["status"], listed["attempts"], listed["event"]) == ("pending", [], event_id)


@pytest.mark.parametrize("function", ["list_webhook_endpoint_deliveries", "list_event_deliveries"])
def test_the_logs_over_http_need_webhooks_read_and_check_their_params(account, account_endpoint, make_api_event,
                                                                      lambda_context, function):
    target = f"/v1/webhook_endpoints/{account_endpoint['id']}" if function.startswith("list_webhook") else \
        f"/v1/events/{ids.new_id(ids.EVENT)}"
    fn = load_function(function)

    def call(query: str = "", **who):
        event = make_api_event("GET", f"{target}/deliveries", context={**account, **who},
                               path_parameters={"id": target.rsplit("/", 1)[1]})
        event["rawQueryString"] = query
        response = fn.lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"])

    for scopes in ("customers:read", "events:read", "webhooks:read"):
        status, body = call(scopes=scopes)
        if scopes == "webhooks:read":
            assert status == (200 if function.startswith("list_webhook") else 404), body
        else:
            assert status == 403 and "webhooks:read" in body["error"]["message"], body
    for query, param in (("status=lost", "status"), ("limit=0", "limit"), ("starting_after=evt_1", "starting_after"),
                         ("created[gte]=x", "created[gte]"), ("colour=red", "colour")):
        status, body = call(query)
        assert status == 400 and body["error"]["param"] == param, (query, body)
    status, body = call(f"starting_after={ids.new_id(ids.DELIVERY)}&ending_before={ids.new_id(ids.DELIVERY)}")
    assert status == 400
