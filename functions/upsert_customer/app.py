"""POST /v1/customers/upsert — update the customer holding an external_id (or, with match_on=email, an
email), or create one: atomically, and the Upsert-Result header says which (api.md §11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.upsert import upsert_customer
from customers_core.models.customer import UpsertCustomerParams
from customers_core.models.responses import CustomerObject
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app()
RESPONSES = documented(CustomerObject, 400, 403, 409, 413, 415)
RESPONSES[200]["headers"] = {"Upsert-Result": {
    "description": "created: no live customer held the value, this request created one; updated: it changed "
                   "the one that holds it", "schema": {"type": "string", "enum": ["created", "updated"]}}}


@app.post("/v1/customers/upsert",
          middlewares=[requires("customers:write")],
          operation_id="upsertCustomer", summary="Create a customer, or update the one with this external_id or email",
          description="match_on is external_id (default) or email (case-insensitive); that field is required. The "
                      "update is partial, as POST /v1/customers/{id} (metadata and address merge). Concurrent "
                      "upserts of one value make one customer: exactly one answers Upsert-Result: created. "
                      "Also accepts form encoding with Stripe's bracket notation.",
          responses=RESPONSES)
def upsert(body: Annotated[UpsertCustomerParams | None, Body()] = None):
    who = caller()
    params = body_model(app, UpsertCustomerParams)
    customer, result = upsert_customer(get_table(), who, params, request_info(app))
    return json_response(customer, headers={"Upsert-Result": result})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
