"""Resource ids: a type prefix plus a ULID (time-sortable). A canonical UUID of the same 128 bits is
accepted on input; output always uses the prefixed form."""

from __future__ import annotations

import hashlib
import threading
import uuid

from ulid import ULID

CUSTOMER = "cus"
EVENT = "evt"
ACCOUNT = "acct"
API_KEY = "key"
REQUEST = "req"
WEBHOOK_ENDPOINT = "we"
ATTEMPT = "att"
WALLET = "wal"
DELIVERY = "whd"


_last = 0
_lock = threading.Lock()


def new_id(prefix: str, at: float | None = None) -> str:
    """A new id; `at` (Unix seconds) fixes its time part, so an id and its `created` never disagree.
    Ids made by one process are strictly increasing, also within one millisecond (monotonic ULIDs),
    so "newest first" holds for everything one execution environment creates."""
    global _last  # noqa: PLW0603 — the process's last id, as the ULID spec's monotonic mode keeps it
    candidate = int.from_bytes((ULID() if at is None else ULID.from_timestamp(float(at))).bytes, "big")
    with _lock:
        if candidate >> 80 == _last >> 80 and candidate <= _last:  # same millisecond: count up
            candidate = _last + 1
        _last = max(_last, candidate)
    return f"{prefix}_{ULID.from_bytes(candidate.to_bytes(16, 'big'))}"


def reset_monotonic_state() -> None:
    """Forget the last id (after a SnapStart restore, each environment counts on its own)."""
    global _last  # noqa: PLW0603
    with _lock:
        _last = 0


def parse_id(prefix: str, raw: str) -> str | None:
    """The canonical prefixed id for `raw` (prefixed ULID or UUID), or None if it is neither."""
    try:
        if raw.startswith(f"{prefix}_"):
            return f"{prefix}_{ULID.from_str(raw[len(prefix) + 1:])}"
        if len(raw) == 36:
            return f"{prefix}_{ULID.from_uuid(uuid.UUID(raw))}"
    except ValueError:
        return None
    return None


def id_bound(prefix: str, timestamp_s: int, *, upper: bool) -> str:
    """The smallest (or largest) id created in a given second: ids sort by time, so a created range
    is a sort-key range."""
    ms = timestamp_s * 1000 + (999 if upper else 0)
    fill = b"\xff" * 10 if upper else b"\x00" * 10
    return f"{prefix}_{ULID.from_bytes(max(ms, 0).to_bytes(6, 'big') + fill)}"


def derived_id(prefix: str, timestamp_ms: int, seed: str) -> str:
    """A stable id for something derived from another record (same seed → same id), still
    time-sortable: the stream's event ids, so a re-delivered record cannot make a second event."""
    digest = hashlib.sha256(seed.encode()).digest()[:10]
    return f"{prefix}_{ULID.from_bytes(timestamp_ms.to_bytes(6, 'big') + digest)}"


def timestamp_ms(prefixed_id: str) -> int:
    """The creation time (Unix milliseconds) an id carries in its ULID."""
    return int(ULID.from_str(prefixed_id.rsplit("_", 1)[1]).milliseconds)
