"""GET /v1/customers — list, newest first, with cursors or pages and combinable filters."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.customers import list_customers
from customers_core.models.listing import ListCustomersParams
from customers_core.models.responses import CustomerList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/customers",
         middlewares=[requires("customers:read")],
         operation_id="listCustomers", summary="List customers, newest first",
         description="Query parameters use Stripe's bracket notation (created[gte], include[]).",
         responses=documented(CustomerList, 400, 403))
def list_():
    who = caller()
    params = query_model(app, ListCustomersParams)
    return json_response(list_customers(get_table(), who, params))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
