"""POST /v1/webhook_endpoints — register an endpoint; the response alone shows its signing secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import create_endpoint
from customers_core.models.webhooks import WebhookEndpointObject, WebhookEndpointParams
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app(hold_idempotency_key=True)  # a KMS call and a put: not one transaction


@app.post("/v1/webhook_endpoints",
          middlewares=[requires("webhooks:write")],
          operation_id="createWebhookEndpoint", summary="Create a webhook endpoint",
          description="url (https, public addresses only) and enabled_events are required. The `secret` "
                      "(whsec_…) is in this response only; it is stored encrypted.",
          responses=documented(WebhookEndpointObject, 400, 403, 413, 415))
def create(body: Annotated[WebhookEndpointParams | None, Body()] = None):
    who = caller()
    return json_response(create_endpoint(get_table(), who, body_model(app, WebhookEndpointParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
