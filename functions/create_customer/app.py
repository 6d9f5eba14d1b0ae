"""POST /v1/customers — create a customer (an object body) or up to 100 (a JSON array body)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import create_app, handle, json_response, principal, raw_body, request_info
from customers_core.dal.table import get_table
from customers_core.logic.customers import create_customer, create_customers
from customers_core.models.customer import CustomerParams
from customers_core.observability import logger

app = create_app()


@app.post("/v1/customers")
def create() -> Response:
    who = principal(app, "customers:write")
    body = raw_body(app)
    if isinstance(body, list):
        status, result = create_customers(get_table(), who, body, request_info(app))
        return json_response(result, status)
    params = CustomerParams.model_validate(body)
    return json_response(create_customer(get_table(), who, params, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
