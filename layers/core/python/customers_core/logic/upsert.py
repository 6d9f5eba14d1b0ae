"""Upsert (api.md §11): `POST /v1/customers/upsert` updates the live customer holding an external_id
(or, with `match_on=email`, an email in any case) or creates one, atomically.

Built on the uniqueness markers that create and update already write in the customer's own transaction
(`T#EXTID#<external_id>`, `T#EMAIL#<lower(email)>`, each naming its customer), with no item or write of
its own:
1. read the marker (GetItem, consistent);
2. none: create the customer — its transaction Puts the marker on `attribute_not_exists`. If that
   condition fails, a concurrent request created a customer with the value first: back to 1, which
   finds it and updates it;
3. a marker: update its customer, as `POST /v1/customers/{id}` does (its read, then a transaction on the
   version read), guarded: the customer read must still hold the value, and the version condition
   makes sure it still does when the update commits. One that let go of the value or was deleted since
   the marker was read: back to 1.
So concurrent upserts of one value give one customer: exactly one commits the create (the marker's
condition), every other updates what it created. Each round that starts again does so because another
request committed a change of this value; ROUNDS bounds them.

A request writes what a create or an update writes (the idempotency record rides in that transaction,
as there) and reads one item more: the marker."""

from __future__ import annotations

from typing import Any

from customers_core import idempotency
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import Conflict, InternalError, ResourceMissing
from customers_core.logic import customers
from customers_core.models.customer import UpsertCustomerParams

RESULT_HEADER = "Upsert-Result"
ROUNDS = 6  # marker reads a request makes at most, each after another request's change of the value


class _Moved(Exception):
    """The marker's customer no longer holds the value (changed since the marker was read)."""


def upsert_customer(table: Table, who: Principal, params: UpsertCustomerParams,
                    request: dict[str, str | None]) -> tuple[dict[str, Any], str]:
    """The customer, and `created` or `updated`."""
    field = params.match_on
    value = str(getattr(params, field))
    wanted = dal.unique_value(field, {field: value})

    def still_held(old: Item) -> None:
        if dal.unique_value(field, old) != wanted:
            raise _Moved

    for _ in range(ROUNDS):
        owner = dal.owner_of(table, who.tenant, field, value)
        if owner is not None:
            idempotency.answer_header(RESULT_HEADER, "updated")  # a replay says it too
            try:
                return customers.update_customer(table, who, owner, params, request, guard=still_held), "updated"
            except (_Moved, ResourceMissing):  # let go of the value, or deleted, since the marker was read
                continue
        idempotency.answer_header(RESULT_HEADER, "created")
        try:
            return customers.create_customer(table, who, params, request), "created"
        except Conflict as exc:
            # The value was taken by a concurrent create: update that customer. Another unique value of
            # the body taken by someone else is the create's 409 (unless the value is taken now too).
            if exc.code != f"{field}_taken" and dal.owner_of(table, who.tenant, field, value) is None:
                raise
    raise InternalError(f"The customer with this {field} is being changed by too many requests at once; retry.",
                        headers={"Retry-After": "1"})
