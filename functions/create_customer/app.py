"""POST /v1/customers — create a customer (an object body) or up to 100 (a JSON array body)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import (
    caller,
    create_app,
    documented,
    handle,
    json_response,
    request_body,
    request_info,
    requires,
)
from customers_core.dal.table import get_table
from customers_core.logic.customers import create_customer, create_customers
from customers_core.models.customer import CustomerParams
from customers_core.models.responses import CustomerBatch, CustomerObject
from customers_core.observability import logger
from pydantic import Field

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app()
CustomerArray = Annotated[list[CustomerParams], Field(min_length=1, max_length=100)]


@app.post("/v1/customers",
          middlewares=[requires("customers:write")],
          operation_id="createCustomer", summary="Create a customer, or up to 100",
          description="A JSON object creates one customer; a JSON array creates up to 100 (207 when some "
                      "conflict). Also accepts application/x-www-form-urlencoded with Stripe's bracket notation.",
          responses=documented(CustomerObject | CustomerBatch, 400, 403, 409, 413, 415, extra={207: CustomerBatch}))
def create(body: Annotated[CustomerParams | CustomerArray | None, Body()] = None):
    # The body is decoded here, not by the resolver: JSON and form encoding must give the same result.
    who = caller()
    body = request_body(app)
    if isinstance(body, list):
        status, result = create_customers(get_table(), who, body, request_info(app))
        return json_response(result, status)
    params = CustomerParams.model_validate(body)
    return json_response(create_customer(get_table(), who, params, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
