"""Customer search (api.md §6), read-after-write.

The index is made of search-token items in the base table (dal.customers.search_tokens): a write
puts its new tokens beside its transaction and removes its old ones in it, before it answers, and
searches read them with strongly consistent Queries, so the very next search sees a create, change
or delete. A search reads the token entries of one clause (AND: the most
selective one; OR: each), in customer-id order where it can, then the candidate customers
themselves (BatchGetItem, consistent), and checks every clause on them: stale or colliding tokens
can cost a read, never a wrong result. So a search reads O(results), never the whole account."""

from __future__ import annotations

import base64
import heapq
from collections.abc import Iterator
from typing import Any

from customers_core import ids, keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import InvalidRequest
from customers_core.models.customer import customer_object
from customers_core.models.search import SearchParams
from customers_core.search.query import Clause, Query, QueryError, parse, words

SEARCH_CAP = 10_000  # token entries or candidates one request may examine; then next_page continues
_FETCH = 100  # candidates fetched per BatchGetItem


# --- matching one customer ------------------------------------------------------------------------
def _in_order(wanted: list[str], have: list[str]) -> bool:
    """All of `wanted`'s words appear in `have`, in that order."""
    position = 0
    for word in wanted:
        try:
            position = have.index(word, position) + 1
        except ValueError:
            return False
    return True


def clause_matches(item: Item, clause: Clause) -> bool:
    value = clause.value.lower()
    field = clause.field
    if field == "created":
        created, bound = int(item["created"]), int(clause.value)
        return {">": created > bound, "<": created < bound, ">=": created >= bound, "<=": created <= bound,
                "=": created == bound}[clause.op]
    if field == "email":
        email = str(item.get("email") or "").lower()
        if clause.op == ":":
            return email == value
        return all(any(w.startswith(q) for w in words(email)) for q in words(value))
    if field == "name":
        have = words(str(item.get("name") or ""))
        if clause.op == ":":
            return bool(words(value)) and _in_order(words(value), have)
        return all(any(w.startswith(q) for w in have) for q in words(value))
    if field == "phone":
        phone, wanted = dal.normalize_phone(str(item.get("phone") or "")), dal.normalize_phone(value)
        return bool(item.get("phone")) and (phone == wanted if clause.op == ":" else phone.startswith(wanted))
    if field == "external_id":
        return str(item.get("external_id") or "").lower() == value
    if field == "status":
        return str(item.get("status", "active")) == value
    if field == "tag":
        return value in [str(t).lower() for t in item.get("tags") or []]
    if field == "metadata":
        return str((item.get("metadata") or {}).get(clause.key or "", "")).lower() == value and \
            (clause.key or "") in (item.get("metadata") or {})
    return False


def matches(item: Item, query: Query) -> bool:
    if item.get("deleted"):
        return False
    if any(clause_matches(item, c) for c in query.negatives):
        return False
    test = all if query.join == "AND" else any
    return test(clause_matches(item, c) for c in query.positives)


# --- candidates from the token index --------------------------------------------------------------
def _token_of(clause: Clause) -> tuple[str, str, bool] | None:
    """(field, token, exact) the clause reads in the index; None when it cannot drive a search."""
    value = clause.value.lower()
    if clause.field in ("name", "email") and clause.op == "~":
        first = words(value)
        return (clause.field, first[0], False) if first and len(first[0]) >= 2 else None
    if clause.field == "name":
        first = words(value)
        return ("name", first[0], True) if first else None
    if clause.field == "email":
        return None  # exact email: the uniqueness marker (below)
    if clause.field == "phone":  # ~ is a prefix of the digits (with the + if given), as stored
        return "phone", dal.normalize_phone(clause.value), clause.op == ":"
    if clause.field == "metadata":
        return "metadata", dal.metadata_token(clause.key or "", clause.value), True
    if clause.field == "created":
        return "created", "", True
    return clause.field, value, True


def _prefix_ids(table: Table, tenant: str, field: str, prefix: str, before: str | None) -> Iterator[str]:
    """Customer ids with a word starting with `prefix`: the entries are ordered by word, so they are
    all read (O(matching words)) and then ordered newest first."""
    prefix = dal.escape_token(prefix)
    partition, start = keys.search_bucket(tenant, field, prefix), None
    found: set[str] = set()
    while len(found) < SEARCH_CAP:
        sort_keys, start = table.sort_keys(partition, lower=prefix, newest_first=False, start=start)
        found |= {sk.rsplit("#", 1)[-1] for sk in sort_keys}
        if not start:
            break
    yield from sorted((i for i in found if before is None or i < before), reverse=True)


def _clause_ids(table: Table, tenant: str, clause: Clause, before: str | None) -> Iterator[str]:
    """One clause's ids, newest first: a prefix by its words, an exact clause by its cursors."""
    if clause.op == "~":
        field, token, _ = _token_of(clause) or ("", "", False)
        if field:
            yield from _prefix_ids(table, tenant, field, token, before)
        return
    yield from _intersect(_cursors(table, tenant, clause), before)


def _created_bounds(clause: Clause) -> tuple[str | None, str | None]:
    value = int(clause.value)
    low = {">": value + 1, ">=": value, "=": value}.get(clause.op)
    high = {"<": value - 1, "<=": value, "=": value}.get(clause.op)
    return (ids.id_bound(ids.CUSTOMER, low, upper=False) if low is not None else None,
            ids.id_bound(ids.CUSTOMER, high, upper=True) if high is not None and high >= 0 else None)


_RANK = {"email": 0, "external_id": 1, "phone": 1, "metadata": 1, "tag": 2, "name": 3, "status": 5, "created": 6}


def _rank(clause: Clause) -> tuple[int, int]:
    """Clauses likely to match fewest customers first: unique values, then exact values, created last."""
    return _RANK[clause.field] + (1 if clause.op == "~" else 0), -len(clause.value)


class _Cursor:
    """The customer ids of one exact token, newest first, able to jump: seek(bound) answers the
    largest id at or below the bound with one Query starting there, instead of reading through
    everything newer. Bounds only ever go down."""

    # Items per Query: small after a jump (the next match may be far), doubling while the cursor is
    # read in order (a long run of matches), so both cases read few items and make few calls.
    FIRST_PAGE, MAX_PAGE = 2, 64

    def __init__(self, table: Table, tenant: str, field: str, token: str, low: str | None = None,
                 high: str | None = None) -> None:
        self.table, self.field = table, field
        if field == "status":  # the status's index entries (dal.customers.index_entries): sort key = id
            self.prefix, self.pk = "", keys.filtered_partition(tenant, "status", token)
        else:
            self.prefix = keys.search_token_prefix(dal.escape_token(token))
            self.pk = keys.search_bucket(tenant, field, dal.escape_token(token))
        self.low, self.high = low, high
        self.buffer: list[str] = []
        self.bottom = False  # the buffer reaches the lowest id there is
        self.page = self.FIRST_PAGE

    def seek(self, bound: str | None, inclusive: bool = True) -> str | None:
        def above(i: str) -> bool:
            return bound is not None and (i > bound or (i == bound and not inclusive))

        skipped = 0
        while self.buffer and above(self.buffer[0]):
            self.buffer.pop(0)
            skipped += 1
        self.page = self.FIRST_PAGE if skipped > 1 else min(self.page * 2, self.MAX_PAGE)
        if self.buffer or self.bottom:
            return self.buffer[0] if self.buffer else None
        top = min(i for i in (bound, self.high) if i) if (bound or self.high) else None
        if top is None:
            upper = f"{self.prefix}\uffff"
        elif top == bound and not inclusive:  # just below the bound: ids are fixed-length ASCII
            upper = f"{self.prefix}{top[:-1]}{chr(ord(top[-1]) - 1)}\uffff"
        else:
            upper = f"{self.prefix}{top}"
        lower = f"{self.prefix}{self.low}" if self.low else self.prefix or ids.CUSTOMER
        if lower > upper:
            self.bottom = True
            return None
        sort_keys, more = self.table.sort_keys(self.pk, lower=lower, upper=upper, limit=self.page)
        self.buffer = [i for i in (sk[len(self.prefix):] for sk in sort_keys)
                       if i.startswith("cus_") and len(i) == 30 and not above(i)]
        self.bottom = not more
        return self.buffer[0] if self.buffer else None


class _Fixed(_Cursor):
    """A cursor over ids already known (an email's owner)."""

    def __init__(self, ids_: list[str]) -> None:
        self.buffer = sorted(ids_, reverse=True)
        self.bottom = True
        self.page = self.FIRST_PAGE


def _cursors(table: Table, tenant: str, clause: Clause) -> list[_Cursor]:
    """The seekable streams whose intersection holds every customer matching an exact clause (a
    name's words each; none for a prefix, which is checked on the candidates instead)."""
    if clause.op == "~":
        return []
    if clause.field == "email":
        owner = dal.owner_of(table, tenant, "email", clause.value)
        return [_Fixed([owner] if owner else [])]
    if clause.field == "created":
        low, high = _created_bounds(clause)
        if clause.op in ("<", "<=", "=") and int(clause.value) - (1 if clause.op == "<" else 0) < 0:
            return [_Fixed([])]
        return [_Cursor(table, tenant, "created", "", low, high)]
    if clause.field == "name":
        return [_Cursor(table, tenant, "name", w) for w in dict.fromkeys(words(clause.value))]
    field, token, _ = _token_of(clause) or ("", "", True)
    return [_Cursor(table, tenant, field, token)] if field else []


def _intersect(cursors: list[_Cursor], before: str | None) -> Iterator[str]:
    """Ids present in every cursor, newest first (a zig-zag join): each cursor jumps to the others'
    candidate, so the reads follow the number of matches and of jumps, not the clauses' sizes."""
    bound, inclusive = before, before is None
    while True:
        candidate = cursors[0].seek(bound, inclusive)
        if candidate is None:
            return
        agreed, turn = 1, 1
        while agreed < len(cursors):
            found = cursors[turn % len(cursors)].seek(candidate)
            if found is None:
                return
            if found == candidate:
                agreed += 1
            else:
                candidate, agreed = found, 1
            turn += 1
        yield candidate
        bound, inclusive = candidate, False


def candidates(table: Table, tenant: str, query: Query, before: str | None) -> Iterator[str]:
    """Ids that may match, newest first, without repeats."""
    if query.join == "AND":
        exact = [c for clause in sorted(query.positives, key=_rank) for c in _cursors(table, tenant, clause)]
        stream: Iterator[str] = (_intersect(exact, before) if exact
                                 else _clause_ids(table, tenant, min(query.positives, key=_rank), before))
    else:
        stream = heapq.merge(*(_clause_ids(table, tenant, c, before) for c in query.positives), reverse=True)
    last = None
    for customer_id in stream:
        if customer_id != last:
            yield customer_id
        last = customer_id


def run(table: Table, tenant: str, query: Query, *, want: int | None, before: str | None = None
        ) -> tuple[list[Item], str | None, int]:
    """Up to `want` matching customers (all when None), newest first, below `before`. Returns them,
    the id to continue after (None when done) and how many candidates were examined."""
    found: list[Item] = []
    examined = 0
    pending: list[str] = []
    stream = candidates(table, tenant, query, before)

    def fetch(batch: list[str]) -> None:
        got = dal.get_customers(table, tenant, batch)
        found.extend(got[i] for i in batch if i in got and matches(got[i], query))

    for customer_id in stream:
        pending.append(customer_id)
        examined += 1
        if len(pending) == _FETCH or (want is not None and len(pending) >= want - len(found) + 1):
            fetch(pending)
            pending = []
            if want is not None and len(found) > want:
                return found[:want], found[want - 1]["id"], examined
        if examined >= SEARCH_CAP:
            fetch(pending)
            if want is not None and len(found) > want:
                return found[:want], found[want - 1]["id"], examined
            return found, customer_id, examined  # not done: continue after the last one examined
    fetch(pending)
    if want is not None and len(found) > want:
        return found[:want], found[want - 1]["id"], examined
    return found, None, examined


def parse_query(text: str) -> Query:
    try:
        return parse(text)
    except QueryError as exc:
        raise InvalidRequest(f"Invalid search query: {exc}.", param="query", code="search_query_invalid") from exc


def _page_token(customer_id: str) -> str:
    return base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")


def _after(token: str | None) -> str | None:
    if not token:
        return None
    try:
        customer_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError as exc:
        raise InvalidRequest("Invalid page: use the next_page of a previous search.", param="page") from exc
    if not customer_id.startswith("cus_") or len(customer_id) != 30:
        raise InvalidRequest("Invalid page: use the next_page of a previous search.", param="page")
    return customer_id


def search_customers(table: Table, who: Principal, params: SearchParams) -> dict[str, Any]:
    query = parse_query(params.query)
    page, continue_after, _ = run(table, who.tenant, query, want=params.limit, before=_after(params.page))
    body: dict[str, Any] = {
        "object": "search_result", "url": "/v1/customers/search", "has_more": continue_after is not None,
        "next_page": _page_token(continue_after) if continue_after else None,
        "data": [customer_object(i) for i in page],
    }
    if params.expand and "total_count" in params.expand:
        everything, _, _ = run(table, who.tenant, query, want=None)
        body["total_count"] = len(everything)
    return body


def list_search_query(text: str) -> Query:
    """`GET /v1/customers?search=jan`: a word-prefix match on name or email, every word of it."""
    tokens = words(text)
    if not tokens:
        raise InvalidRequest("search needs at least one word.", param="search")
    if any(len(t) < 2 for t in tokens):
        raise InvalidRequest("each word of search needs at least 2 characters.", param="search")
    joined = " ".join(tokens)  # several words: each must begin a word of the name, or of the email
    return Query((Clause("name", "~", joined), Clause("email", "~", joined)), "OR")
