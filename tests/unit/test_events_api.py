"""The events API over moto: events the fan-out recorded, listed newest first, by type, by cursor."""

from __future__ import annotations

import copy

import pytest
from customers_core import ids
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.errors import ResourceMissing
from customers_core.logic.events import list_events, retrieve_event
from customers_core.logic.fanout import event_for_record, record_event
from customers_core.models.listing import ListEventsParams

from tests.conftest import load_event

OWNER = Principal("acct_01JSAMPLE0000000000000000A", False, frozenset({"events:read"}), "key_x")


@pytest.fixture
def recorded(table) -> list[str]:
    """Six events: the sample's created and updated records, each replayed with new ids and times."""
    event_ids: list[str] = []
    for n in range(3):
        for record in copy.deepcopy(load_event("stream_fanout")["Records"]):
            record["eventID"] = f"{record['eventID']}-{n}"
            record["dynamodb"]["ApproximateCreationDateTime"] += n * 100
            event_id = record_event(table, record, 30)
            assert event_id is not None
            event_ids.append(event_id)
    return event_ids


def _list(table, **query):
    return list_events(table, OWNER, ListEventsParams.model_validate(query))


def test_events_list_newest_first_with_cursors(table, recorded):
    newest_first = sorted(recorded, reverse=True)
    page = _list(table, limit=4)
    assert [e["id"] for e in page["data"]] == newest_first[:4] and page["has_more"] is True
    rest = _list(table, limit=4, starting_after=page["data"][-1]["id"])
    assert [e["id"] for e in rest["data"]] == newest_first[4:] and rest["has_more"] is False
    back = _list(table, limit=2, ending_before=rest["data"][0]["id"])
    assert [e["id"] for e in back["data"]] == newest_first[2:4]


def test_events_filter_by_type_and_created(table, recorded):
    created = _list(table, type="customer.created")["data"]
    assert len(created) == 3 and {e["type"] for e in created} == {"customer.created"}
    first_second = 1795435200
    in_range = _list(table, created={"gte": first_second + 100, "lte": first_second + 199})["data"]
    assert len(in_range) == 2


def test_retrieve_and_isolation(table, recorded):
    event = retrieve_event(table, OWNER, recorded[0])
    assert event["object"] == "event" and event["data"]["object"]["id"].startswith("cus_")
    stranger = Principal("acct_01JSTRANGER000000000000000", False, frozenset({"events:read"}), "key_y")
    other_mode = Principal(OWNER.account_id, True, OWNER.scopes, "key_z")
    for who in (stranger, other_mode):
        with pytest.raises(ResourceMissing):
            retrieve_event(table, who, recorded[0])
        assert list_events(table, who, ListEventsParams())["data"] == []
    with pytest.raises(ResourceMissing):
        retrieve_event(table, OWNER, ids.new_id(ids.EVENT))


def test_replayed_records_make_no_second_event_or_type_entry(table, recorded):
    for record in load_event("stream_fanout")["Records"]:
        record["eventID"] = f"{record['eventID']}-0"
        record_event(table, record, 30)
    assert len(_list(table, limit=100)["data"]) == 6
    assert len(_list(table, limit=100, type="customer.updated")["data"]) == 3


def _event_with_deliveries(table, n: int, endpoints: list[str], succeeded: set[str], failed: set[str]) -> dict:
    """An event written as the fan-out writes it, sent to `endpoints`; deliveries recorded as the
    delivery function records them (those in neither set have none yet)."""
    record = copy.deepcopy(load_event("stream_fanout")["Records"][n % 2])
    record["eventID"] = f"paged-{n}"
    record["dynamodb"]["ApproximateCreationDateTime"] += n * 10
    event = event_for_record(record, 30)
    assert event is not None
    events_dal.put_event(table, OWNER.tenant, {**event, "endpoints": endpoints})
    for endpoint_id in succeeded | failed:
        ok = endpoint_id in succeeded
        webhooks_dal.put_delivery(table, OWNER.tenant, event["id"], endpoint_id, {
            "status": "succeeded" if ok else "retrying", "run": 0, "attempts": 1, "expires_at": event["expires_at"],
            "attempts_log": [{"attempt": 1, "attempted_at": 1.5, "status_code": 200 if ok else 500,
                              "duration_ms": 3.0, "succeeded": ok}]}, expected_ver=None)
    return {"id": event["id"], "type": event["type"], "created": event["created"],
            "pending": len(endpoints) - len(succeeded)}


@pytest.fixture
def with_deliveries(table) -> list[dict]:
    """Twelve events, created and updated in turn, each sent to two endpoints, some delivered; and a
    delivery whose event has expired (TTL removes items one by one) between them."""
    made = []
    for n in range(12):
        a_ok, b_ok = n % 2 == 0, n % 3 == 0
        made.append(_event_with_deliveries(table, n, ["we_A", "we_B"], {e for e, ok in (("we_A", a_ok), ("we_B", b_ok))
                                                                        if ok},
                                           {"we_B"} if not b_ok and n % 4 == 1 else set()))
    orphan = ids.derived_id(ids.EVENT, (1795435200 + 55) * 1000, "expired")
    webhooks_dal.put_delivery(table, OWNER.tenant, orphan, "we_A", {"status": "succeeded", "run": 0, "attempts": 1,
                                                                    "expires_at": 1}, expected_ver=None)
    return sorted(made, key=lambda e: e["id"])  # oldest first (ids sort by time)


def _pages(table, limit: int, **query) -> list[list[tuple[str, int]]]:
    pages, after = [], None
    while True:
        got = _list(table, limit=limit, **query, **({"starting_after": after} if after else {}))
        pages.append([(e["id"], e["pending_webhooks"]) for e in got["data"]])
        if not got["has_more"]:
            return pages
        after = got["data"][-1]["id"]


@pytest.mark.parametrize("limit", [1, 2, 5, 12, 100])
def test_pages_of_events_carry_exact_pending_webhooks_with_deliveries_in_between(table, with_deliveries, limit):
    newest_first = [(e["id"], e["pending"]) for e in reversed(with_deliveries)]
    pages = _pages(table, limit)
    assert [x for page in pages for x in page] == newest_first
    assert all(len(page) == limit for page in pages[:-1]) and len(pages) == -(-12 // limit)
    created = [(e["id"], e["pending"]) for e in reversed(with_deliveries) if e["type"] == "customer.created"]
    assert [x for page in _pages(table, limit, type="customer.created") for x in page] == created
    # Backwards from the oldest (ending_before reads oldest first, then answers newest first).
    back: list[tuple[str, int]] = []
    before = newest_first[-1][0]
    while True:
        got = _list(table, limit=limit, ending_before=before)
        back = [(e["id"], e["pending_webhooks"]) for e in got["data"]] + back
        if not got["has_more"]:
            break
        before = got["data"][0]["id"]
    assert back == newest_first[:-1]


def test_retrieve_and_a_created_range_count_the_same(table, with_deliveries):
    for event in with_deliveries:
        assert retrieve_event(table, OWNER, event["id"])["pending_webhooks"] == event["pending"]
    low, high = with_deliveries[3]["created"], with_deliveries[7]["created"]
    in_range = _list(table, created={"gte": low, "lte": high})["data"]
    expected = [(e["id"], e["pending"]) for e in reversed(with_deliveries) if low <= e["created"] <= high]
    assert [(e["id"], e["pending_webhooks"]) for e in in_range] == expected and len(expected) >= 5
