"""POST /v1/customers — create a customer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, create_app, handle, json_response, principal, request_info
from customers_core.dal.table import get_table
from customers_core.logic.customers import create_customer
from customers_core.models.customer import CustomerCreate
from customers_core.observability import logger

app = create_app()


@app.post("/v1/customers")
def create() -> Response:
    who = principal(app, "customers:write")
    params = body_model(app, CustomerCreate)
    return json_response(create_customer(get_table(), who, params, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
