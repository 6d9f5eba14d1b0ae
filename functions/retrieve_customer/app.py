"""GET /v1/customers/{id} — retrieve a customer (a deleted one answers `deleted: true`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.customers import retrieve_customer
from customers_core.models.responses import CustomerObject, DeletedCustomer
from customers_core.observability import logger

app = create_app()


@app.get("/v1/customers/<customer_id>",
         middlewares=[requires("customers:read")],
         operation_id="retrieveCustomer", summary="Retrieve a customer",
         description="A deleted customer answers {id, object, deleted: true}. The id may be given as a UUID.",
         responses=documented(CustomerObject | DeletedCustomer, 403, 404))
def retrieve(customer_id: str):
    who = caller()
    return json_response(retrieve_customer(get_table(), who, customer_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
