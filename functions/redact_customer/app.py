"""POST /v1/customers/{id}/redact — erase a customer's personal data everywhere this service holds it
(the customer becomes a tombstone; its events and stored answers are rewritten); emits
customer.redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.data_rights import redact_customer
from customers_core.models.data_rights import RedactedCustomer, RedactParams
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app(hold_idempotency_key=True)  # the tombstone's transaction, then the sweep: not one transaction


@app.post("/v1/customers/<customer_id>/redact",
          middlewares=[requires("customers:delete")],
          operation_id="redactCustomer", summary="Erase a customer's personal data",
          description="Also for a deleted customer. Afterwards retrieve answers {id, object, deleted: true, "
                      "redacted: true}, and no answer, search, export, event or stored item holds its personal "
                      "data. Emits customer.redacted.",
          responses=documented(RedactedCustomer, 400, 403, 404, 413, 415))
def redact(customer_id: str, body: Annotated[RedactParams | None, Body()] = None):
    who = caller()
    body_model(app, RedactParams)
    return json_response(redact_customer(get_table(), who, customer_id, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
