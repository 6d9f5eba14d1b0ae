"""GET /v1/webhook_endpoints — the account's endpoints, newest first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import list_endpoints
from customers_core.models.webhooks import ListWebhookEndpointsParams, WebhookEndpointList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/webhook_endpoints",
         middlewares=[requires("webhooks:read")],
         operation_id="listWebhookEndpoints", summary="List webhook endpoints",
         responses=documented(WebhookEndpointList, 400, 403))
def list_():
    who = caller()
    return json_response(list_endpoints(get_table(), who, query_model(app, ListWebhookEndpointsParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
