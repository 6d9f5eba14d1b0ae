"""GET /v1/customers/{id}/export — everything this service holds about a customer, as one document."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.data_rights import export_customer
from customers_core.models.data_rights import CustomerExport
from customers_core.observability import logger

app = create_app()


@app.get("/v1/customers/<customer_id>/export",
         middlewares=[requires("customers:read")],
         operation_id="exportCustomer", summary="Export a customer's data",
         description="The customer with its wallets (also a deleted or redacted one), the events still kept that "
                     "concern it and their webhook deliveries.",
         responses=documented(CustomerExport, 403, 404))
def export(customer_id: str):
    who = caller()
    return json_response(export_customer(get_table(), who, customer_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
