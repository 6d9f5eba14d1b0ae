"""Ids (prefix + ULID, UUID accepted) and the key module's tenant separation."""

from __future__ import annotations

import uuid

from customers_core import ids, keys
from ulid import ULID


def test_new_ids_are_prefixed_ulids_and_sort_by_time():
    first, second = ids.new_id("cus"), ids.new_id("cus")
    assert first.startswith("cus_") and len(first) == 30
    assert ULID.from_str(first[4:]).timestamp <= ULID.from_str(second[4:]).timestamp


def test_uuid_form_parses_to_the_same_prefixed_id():
    cid = ids.new_id("cus")
    as_uuid = str(ULID.from_str(cid[4:]).to_uuid())
    assert ids.parse_id("cus", as_uuid) == cid


def test_garbage_and_other_prefixes_do_not_parse():
    assert ids.parse_id("cus", "cus_nope") is None
    assert ids.parse_id("cus", "evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY") is None
    assert ids.parse_id("cus", str(uuid.uuid4())) is not None
    assert ids.parse_id("cus", "x" * 36) is None


def test_derived_ids_are_stable_per_seed():
    assert ids.derived_id("evt", 1_700_000_000_000, "a") == ids.derived_id("evt", 1_700_000_000_000, "a")
    assert ids.derived_id("evt", 1_700_000_000_000, "a") != ids.derived_id("evt", 1_700_000_000_000, "b")


def test_test_and_live_modes_never_share_a_partition():
    assert keys.customer(keys.tenant("acct_1", False), "cus_1") != keys.customer(keys.tenant("acct_1", True), "cus_1")


def test_email_markers_are_case_insensitive():
    t = keys.tenant("acct_1", False)
    assert keys.email_marker(t, "Ada@Example.COM") == keys.email_marker(t, "ada@example.com")


def test_ids_made_in_one_millisecond_still_increase():
    made = [ids.new_id("cus", at=1_700_000_000.123) for _ in range(50)]
    assert made == sorted(made) and len(set(made)) == 50
    assert {ULID.from_str(m[4:]).milliseconds for m in made} == {1_700_000_000_123}


def test_after_a_snapstart_restore_random_is_reseeded_and_ids_restart_their_counter():
    import random

    from customers_core import ids
    from customers_core.observability import after_restore

    random.seed(7)
    snapshot_state = random.getstate()
    ids.new_id("cus")
    after_restore()
    assert random.getstate() != snapshot_state
    assert ids._last == 0
    assert ids.new_id("cus") != ids.new_id("cus")
