"""The customer operations: create (one or many), retrieve, update, delete, list."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from customers_core import idempotency, ids, keys
from customers_core.addresses import lookup_key
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import ApiError, Conflict, InternalError, InvalidRequest, ResourceMissing
from customers_core.http import validation_error
from customers_core.logic import metadata_filter
from customers_core.logic.paging import key_range, parse_cursor
from customers_core.models.customer import (
    ADDRESS_FIELDS,
    SCALAR_FIELDS,
    STRIPE_SCALAR_FIELDS,
    Address,
    CustomerParams,
    Shipping,
    customer_object,
)
from customers_core.models.fields import merge_metadata
from customers_core.models.listing import MAX_OFFSET, ListCustomersParams

MAX_BATCH = 100
UPDATE_ATTEMPTS = 25  # optimistic retries of a read-modify-write that lost a race


def taken(field: str) -> Conflict:
    if field == "wallet":
        return Conflict("This wallet already belongs to a customer of this account.", param="address",
                        code="wallet_taken")
    noun = "email" if field == "email" else "external_id"
    return Conflict(f"A customer with this {noun} already exists.", param=field, code=f"{field}_taken")


def missing_customer(raw_id: str) -> ResourceMissing:
    return ResourceMissing(f"No such customer: '{raw_id[:100]}'", param="id")


def _set_scalars(out: Item, params: CustomerParams, names: Any, sent: set[str]) -> None:
    """Each sent field of `names` set on the item, or removed when sent as null."""
    for name in names:
        if name in sent:
            value = getattr(params, name)
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value


def _apply(item: Item, params: CustomerParams, *, creating: bool) -> Item:
    """The customer item after applying the sent fields of `params` to `item`."""
    sent = params.model_fields_set
    out = dict(item)
    _set_scalars(out, params, SCALAR_FIELDS, sent)
    if "address" in sent:
        if not isinstance(params.address, Address):  # None ("" arrives as None too): clear
            out.pop("address", None)
        else:
            merged = {} if creating else dict(out.get("address") or {})
            for name in params.address.model_fields_set & set(ADDRESS_FIELDS):
                value = getattr(params.address, name)
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            if merged:
                out["address"] = merged
            else:
                out.pop("address", None)
    for name, default in (("status", "active"), ("sentiment", "neutral")):
        if name in sent or creating:
            out[name] = getattr(params, name) or default
    if "tags" in sent or creating:
        out["tags"] = list(params.tags or [])
    if "custom_fields" in sent or creating:
        # Kept as JSON text: any JSON number round-trips exactly, even beyond DynamoDB's number range.
        out["custom_fields"] = json.dumps(params.custom_fields or {}, separators=(",", ":"))
    _apply_stripe_fields(out, params, sent)
    if "metadata" in sent or creating:
        try:
            sent_metadata = params.metadata if isinstance(params.metadata, dict) else None
            out["metadata"] = merge_metadata({} if creating else dict(out.get("metadata") or {}), sent_metadata,
                                             clear=sent_metadata is None)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid metadata: {exc}", param="metadata", code="metadata_invalid") from exc
    return out


def _apply_stripe_fields(out: Item, params: CustomerParams, sent: set[str]) -> None:
    """Stripe's own customer fields (api.md §10), stored only when they differ from Stripe's defaults
    (null, [] and `none`, which customer_object answers for an absent attribute)."""
    _set_scalars(out, params, STRIPE_SCALAR_FIELDS, sent)
    if "shipping" in sent:  # replaced whole, as Stripe does (name and address are required)
        if isinstance(params.shipping, Shipping):
            address = {k: v for k in ADDRESS_FIELDS if (v := getattr(params.shipping.address, k)) is not None}
            out["shipping"] = {"name": params.shipping.name, "address": address,
                               **({"phone": params.shipping.phone} if params.shipping.phone else {})}
        else:
            out.pop("shipping", None)
    if "preferred_locales" in sent:
        if params.preferred_locales:
            out["preferred_locales"] = list(params.preferred_locales)
        else:
            out.pop("preferred_locales", None)
    if "tax_exempt" in sent:
        if params.tax_exempt in ("exempt", "reverse"):
            out["tax_exempt"] = params.tax_exempt
        else:
            out.pop("tax_exempt", None)


def new_customer_item(who: Principal, params: CustomerParams, request: dict[str, str | None]) -> Item:
    at = time.time()
    customer_id = ids.new_id(ids.CUSTOMER, at=at)  # created and the id's time agree: ranges use ids
    now = int(at)
    base: Item = {
        **keys.customer(who.tenant, customer_id), **keys.customer_list_index(who.tenant, customer_id),
        "entity": "customer", "id": customer_id, "account_id": who.account_id, "livemode": who.livemode,
        "created": now, "updated": now, "version": 1, "written_ms": int(at * 1000),
        **{k: v for k, v in request.items() if v},
    }
    return _apply(base, params, creating=True)


def create_customer(table: Table, who: Principal, params: CustomerParams,
                    request: dict[str, str | None]) -> dict[str, Any]:
    """Create one customer; 409 when its email (any case) or external_id is already taken."""
    item = new_customer_item(who, params, request)
    answer = customer_object(item)
    try:
        dal.write_customer(table, who.tenant, item, None, receipt=idempotency.receipt(200, answer))
    except dal.Taken as exc:
        raise taken(exc.field) from exc
    return answer


def create_customers(table: Table, who: Principal, raw_items: list[Any],
                     request: dict[str, str | None]) -> tuple[int, dict[str, Any]]:
    """Create up to 100 customers. The array is validated whole before anything is written; a
    conflict with an existing customer fails that item alone (207 with `errors`)."""
    if not 1 <= len(raw_items) <= MAX_BATCH:
        raise InvalidRequest(f"An array body must hold 1 to {MAX_BATCH} customers.", param="[]")
    parsed: list[CustomerParams] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise InvalidRequest(f"Invalid [{index}]: must be an object.", param=f"[{index}]")
        try:
            params = CustomerParams.model_validate(raw)
        except ValidationError as exc:
            raise validation_error(exc, prefix=(index,)) from exc
        except InvalidRequest as exc:  # a billing parameter (models.customer.unsupported_billing)
            raise InvalidRequest(exc.message, param=f"[{index}].{exc.param}", code=exc.code) from exc
        for field in ("email", "external_id"):
            value = getattr(params, field)
            if value:
                normalized = (field, value.lower() if field == "email" else value)
                if normalized in seen:
                    raise InvalidRequest(f"[{index}].{field} repeats [{seen[normalized]}].{field}.",
                                         param=f"[{index}].{field}")
                seen[normalized] = index
        parsed.append(params)
    idempotency.hold_key()  # many transactions: the key is held while they run
    created, errors = [], []
    for index, params in enumerate(parsed):
        try:
            created.append(create_customer(table, who, params, request))
        except ApiError as exc:
            errors.append({"index": index, "error": exc.body()["error"]})
    body: dict[str, Any] = {"object": "list", "url": "/v1/customers", "has_more": False, "data": created}
    if errors:
        body["errors"] = errors
    return (207 if errors else 200), body


def load_customer(table: Table, who: Principal, raw_id: str) -> Item:
    customer_id = ids.parse_id(ids.CUSTOMER, raw_id)
    item = dal.get_customer(table, who.tenant, customer_id) if customer_id else None
    if item is None:
        raise missing_customer(raw_id)
    return item


def retrieve_customer(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    """The customer, or `{id, object, deleted: true}` once deleted. Another account's or mode's id
    is looked up under the caller's own partition, so it is simply missing: same 404, same path."""
    return customer_object(load_customer(table, who, raw_id))


def change_customer(table: Table, who: Principal, raw_id: str, change: Callable[[Item], Item],
                    answer: Callable[[Item], dict[str, Any]]) -> dict[str, Any]:
    """Read, change, write with the version condition; re-read and retry when another writer won,
    so concurrent partial updates (and metadata merges) all land. Returns `answer` of the written
    item (it is also what the request's idempotency record keeps)."""
    for attempt in range(UPDATE_ATTEMPTS):
        old = load_customer(table, who, raw_id)
        if old.get("deleted"):
            raise missing_customer(raw_id)
        new = change(old)
        new["version"] = int(old["version"]) + 1
        new["updated"] = max(int(time.time()), int(old.get("updated", 0)))
        # Strictly increasing per customer: its events sort in the order its changes happened.
        new["written_ms"] = max(int(time.time() * 1000), int(old.get("written_ms", 0)) + 1)
        body = answer(new)
        try:
            dal.write_customer(table, who.tenant, new, old, receipt=idempotency.receipt(200, body))
        except dal.Taken as exc:
            raise taken(exc.field) from exc
        except dal.Stale:
            time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))  # noqa: S311 — jitter, not crypto
            continue
        return body
    raise InternalError("The customer is being changed by too many requests at once; retry.",
                        headers={"Retry-After": "1"})


def update_customer(table: Table, who: Principal, raw_id: str, params: CustomerParams,
                    request: dict[str, str | None], guard: Callable[[Item], None] | None = None) -> dict[str, Any]:
    """Change only the fields sent: metadata merges, address merges, tags and custom_fields replace.
    `guard` sees the customer as read (each attempt), before the change, and may raise to abandon it."""
    stamp = {k: v for k, v in request.items() if v}

    def change(old: Item) -> Item:
        if guard is not None:
            guard(old)
        new = _apply(old, params, creating=False)
        for key in ("request_id", "idempotency_key"):
            new.pop(key, None)
        return {**new, **stamp}

    return change_customer(table, who, raw_id, change, customer_object)


def delete_customer(table: Table, who: Principal, raw_id: str, request: dict[str, str | None]) -> dict[str, Any]:
    """Leave a tombstone (so retrieve answers `deleted: true`), release the email and external_id,
    drop the index entries. The stream turns it into customer.deleted with the object as it was."""
    stamp = {k: v for k, v in request.items() if v}

    def change(old: Item) -> Item:
        return {**keys.customer(who.tenant, old["id"]), "entity": "customer", "id": old["id"],
                "account_id": old["account_id"], "livemode": old["livemode"], "created": old["created"],
                "deleted": True, **stamp}

    return change_customer(table, who, raw_id, change,
                           lambda tombstone: {"id": tombstone["id"], "object": "customer", "deleted": True})


_Filters = tuple[tuple[str, str] | None, str | None, dict, dict]


def _list_filters(table: Table, who: Principal, params: ListCustomersParams) -> _Filters:
    """The index partition that drives the query and a filter expression for the other attribute
    filters, checked on the index entries' copies of them. With several attribute filters the driver is
    the one with the fewest customers (the account's counter item, one read), so a rare combination
    costs at most the smallest of its partitions."""
    wanted = [(a, v) for a, v in (("tag", params.tag), ("sentiment", params.sentiment),
                                  ("status", params.status)) if v]
    if len(wanted) > 1:
        counts = dal.count_values(table, who.tenant, wanted)
        wanted.sort(key=lambda pair: counts[pair])
    driver = wanted[0] if wanted else None
    clauses, names, values = [], {}, {}
    for attribute, value in wanted[1:]:
        names[f"#{attribute}"] = "tags" if attribute == "tag" else attribute
        values[f":{attribute}"] = value
        clauses.append(f"contains(#{attribute}, :{attribute})" if attribute == "tag"
                       else f"#{attribute} = :{attribute}")
    return driver, " AND ".join(clauses) or None, names, values


def _matches(item: Item, params: ListCustomersParams, low: int | None, high: int | None) -> bool:
    return not item.get("deleted") and all((
        params.status is None or item.get("status") == params.status,
        params.sentiment is None or item.get("sentiment") == params.sentiment,
        params.tag is None or params.tag in (item.get("tags") or []),
        params.email is None or str(item.get("email", "")).lower() == params.email.lower(),
        params.external_id is None or item.get("external_id") == params.external_id,
        params.wallet is None or any(lookup_key(w["address"]) == lookup_key(params.wallet)
                                     for w in item.get("wallets") or []),
        low is None or item["created"] >= low,
        high is None or item["created"] <= high,
        params.metadata is None or metadata_filter.holds(item, params.metadata),
    ))


def list_customers(table: Table, who: Principal, params: ListCustomersParams) -> dict[str, Any]:
    """Newest first, by cursor or page, with combinable filters. Reads O(page) items: an email or
    external_id filter is a marker lookup; attribute filters query their own index partition; a
    created range is a sort-key range (ids sort by time). Combined attribute filters read the smallest
    of their partitions until the page fills: a page is never empty while has_more is true, since the
    SDKs continue from the last item's id."""
    cursor, forward = parse_cursor(ids.CUSTOMER, params.starting_after, params.ending_before)
    if params.page is not None and (params.starting_after or params.ending_before):
        raise InvalidRequest("page cannot be combined with starting_after or ending_before.", param="page")
    if params.page is not None and params.page * params.page_size > MAX_OFFSET:
        raise InvalidRequest(f"page × page_size must be at most {MAX_OFFSET}.", param="page")
    low, high = params.created.bounds() if params.created else (None, None)
    if low is not None and high is not None and low > high:  # an empty range: nothing to read
        empty: dict[str, Any] = {"object": "list", "url": "/v1/customers", "has_more": False, "data": []}
        return {**empty, "total_count": 0} if params.include and "total_count" in params.include else empty
    take = params.page_size if params.page is not None else params.limit
    skip = (params.page - 1) * params.page_size if params.page is not None else 0

    exhausted = True
    found = _by_unique_value(table, who, params)
    filters = None
    if found is not None:
        items = [i for i in sorted(found.values(), key=lambda i: str(i["id"]), reverse=not forward)
                 if _matches(i, params, low, high)
                 and (cursor is None or (i["id"] > cursor if forward else i["id"] < cursor))]
        ordered_ids = [i["id"] for i in items][skip:]
        customers = {i["id"]: i for i in items}
    elif params.metadata:  # one filter's search tokens drive; every filter is checked on the customers
        lower, upper = key_range(ids.CUSTOMER, cursor, forward, low, high)
        matched, exhausted = metadata_filter.read(
            table, who.tenant, params.metadata, lower=lower, upper=upper, forward=forward, want=skip + take + 1,
            accept=lambda i: _matches(i, params, low, high), cursor=cursor, capped=params.page is None)
        ordered_ids = [i["id"] for i in matched][skip:]
        customers = {i["id"]: i for i in matched}
    else:
        filters = _list_filters(table, who, params)
        driver, filter_expression, names, values = filters
        # A filter's index entries (base table, consistent), or the account's list (gsi1).
        partition = keys.filtered_partition(who.tenant, *driver) if driver else keys.customers_partition(who.tenant)
        lower, upper = key_range(ids.CUSTOMER, cursor, forward, low, high)
        found_items, exhausted = table.query_range(
            index=None if driver else "gsi1", partition=partition, lower=lower, upper=upper, forward=forward,
            filter_expression=filter_expression, names=names, values=values,
            want=skip + take + 1 + (1 if cursor else 0))
        listed = [str(i["customer_id"] if driver else i["gsi1sk"]) for i in found_items]
        ordered_ids = [i for i in listed if i != cursor][skip:]
        if driver:  # index entries: fetch the customers they point at
            customers = dal.get_customers(table, who.tenant, ordered_ids[:take])
        else:
            customers = {i["id"]: i for i in found_items}
    page_ids = [cid for cid in ordered_ids[:take] if cid in customers]
    has_more = len(ordered_ids) > take or not exhausted
    if forward:
        page_ids.reverse()
    body: dict[str, Any] = {"object": "list", "url": "/v1/customers", "has_more": has_more,
                            "data": [customer_object(customers[cid]) for cid in page_ids]}
    if params.include and "total_count" in params.include:
        body["total_count"] = count_matching(table, who, params, low, high, found, filters)
    return body


def _by_unique_value(table: Table, who: Principal, params: ListCustomersParams) -> dict[str, Item] | None:
    """The customers an email, external_id, wallet or search filter can match (marker lookups and
    the search index, all strongly consistent), intersected; None when the list has none of them."""
    found: dict[str, Item] | None = None

    def narrow(items: dict[str, Item]) -> None:
        nonlocal found
        found = items if found is None else {k: v for k, v in found.items() if k in items}

    if params.email or params.external_id:
        field = "email" if params.email else "external_id"
        owner = dal.owner_of(table, who.tenant, field, str(params.email or params.external_id))
        narrow(dal.get_customers(table, who.tenant, [owner]) if owner else {})
    if params.wallet:
        owners = dal.wallet_owners(table, who.tenant, params.wallet)
        narrow(dal.get_customers(table, who.tenant, owners) if owners else {})
    if params.search is not None:
        from customers_core.logic import search  # noqa: PLC0415 — the parser stays off unfiltered lists

        matched, _, _ = search.run(table, who.tenant, search.list_search_query(params.search), want=None)
        narrow({i["id"]: i for i in matched})
    return found


def count_matching(table: Table, who: Principal, params: ListCustomersParams, low: int | None, high: int | None,
                   found: dict[str, Item] | None, filters: _Filters | None) -> int:
    """total_count, from what the list already looked up (`found` or `filters`, never read twice):
    one read of the account's counter item when unfiltered or filtered by one attribute (status,
    sentiment or tag); for a combination or a created range, a COUNT query over the driving index
    partition, which reads that partition (it costs what the filter selects)."""
    if found is not None:
        return sum(1 for i in found.values() if _matches(i, params, low, high))
    if params.metadata:  # every candidate of the driving filter, checked: O(its customers)
        lower, upper = key_range(ids.CUSTOMER, None, False, low, high)
        return len(metadata_filter.read(table, who.tenant, params.metadata, lower=lower, upper=upper, forward=False,
                                        want=None, accept=lambda i: _matches(i, params, low, high))[0])
    driver, filter_expression, names, values = filters or _list_filters(table, who, params)
    if low is None and high is None and filter_expression is None:  # no filter, or exactly one attribute
        return dal.count_customers(table, who.tenant, *(driver or (None, None)))
    clauses = [filter_expression] if filter_expression else []
    if low is not None:
        clauses.append("#created >= :low")
        names, values = {**names, "#created": "created"}, {**values, ":low": low}
    if high is not None:
        clauses.append("#created <= :high")
        names, values = {**names, "#created": "created"}, {**values, ":high": high}
    partition = keys.filtered_partition(who.tenant, *driver) if driver else keys.customers_partition(who.tenant)
    return table.count_range(index=None if driver else "gsi1", partition=partition,
                             filter_expression=" AND ".join(clauses) or None,
                             names=names, values=values)
