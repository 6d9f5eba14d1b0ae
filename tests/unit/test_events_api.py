"""The events API over moto: events the fan-out recorded, listed newest first, by type, by cursor."""

from __future__ import annotations

import copy

import pytest
from customers_core import ids
from customers_core.auth import Principal
from customers_core.errors import ResourceMissing
from customers_core.logic.events import list_events, record_event, retrieve_event
from customers_core.models.listing import ListEventsParams

from tests.conftest import load_event

OWNER = Principal("acct_01JSAMPLE0000000000000000A", False, frozenset({"events:read"}), "key_x")


@pytest.fixture
def recorded(table) -> list[str]:
    """Six events: the sample's created and updated records, each replayed with new ids and times."""
    event_ids = []
    for n in range(3):
        for record in copy.deepcopy(load_event("stream_fanout")["Records"]):
            record["eventID"] = f"{record['eventID']}-{n}"
            record["dynamodb"]["ApproximateCreationDateTime"] += n * 100
            event_ids.append(record_event(table, record, 30))
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
