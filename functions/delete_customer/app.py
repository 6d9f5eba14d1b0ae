"""DELETE /v1/customers/{id} — delete a customer (retrieve then answers `deleted: true`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.customers import delete_customer
from customers_core.models.responses import DeletedCustomer
from customers_core.observability import logger

app = create_app()


@app.delete("/v1/customers/<customer_id>",
            middlewares=[requires("customers:delete")],
            operation_id="deleteCustomer", summary="Delete a customer",
            responses=documented(DeletedCustomer, 403, 404))
def delete(customer_id: str):
    who = caller()
    return json_response(delete_customer(get_table(), who, customer_id, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
