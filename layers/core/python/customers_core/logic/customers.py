"""Creating and reading customers."""

from __future__ import annotations

import time
from typing import Any

from customers_core import ids, keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Table
from customers_core.errors import Conflict, ResourceMissing
from customers_core.models.customer import CustomerCreate, customer_object


def create_customer(table: Table, who: Principal, params: CustomerCreate,
                    request: dict[str, str | None]) -> dict[str, Any]:
    """Create one customer; 409 email_taken if another live customer has the email (any case)."""
    customer_id = ids.new_id(ids.CUSTOMER)
    now = int(time.time())
    item: dict[str, Any] = {
        **keys.customer(who.tenant, customer_id),
        **keys.customer_list_index(who.tenant, customer_id),
        "entity": "customer",
        "id": customer_id,
        "account_id": who.account_id,
        "livemode": who.livemode,
        "metadata": params.stored_metadata(),
        "created": now,
        "updated": now,
        "version": 1,
        **{k: v for k, v in request.items() if v},
    }
    if params.email is not None:
        item["email"] = params.email
    if params.name is not None:
        item["name"] = params.name
    try:
        dal.insert_customer(table, who.tenant, item, params.email)
    except dal.EmailTaken as exc:
        raise Conflict("A customer with this email already exists.", param="email", code="email_taken") from exc
    return customer_object(item)


def retrieve_customer(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    """The customer, or `{id, object, deleted: true}` once deleted. Another account's or mode's id
    is looked up under the caller's own partition, so it is simply missing: same 404, same path."""
    customer_id = ids.parse_id(ids.CUSTOMER, raw_id)
    item = dal.get_customer(table, who.tenant, customer_id) if customer_id else None
    if item is None:
        raise ResourceMissing(f"No such customer: '{raw_id[:100]}'", param="id")
    return customer_object(item)
