"""GET /v1/webhook_endpoints/{id} — one endpoint (never its secret)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import retrieve_endpoint
from customers_core.models.webhooks import WebhookEndpointObject
from customers_core.observability import logger

app = create_app()


@app.get("/v1/webhook_endpoints/<endpoint_id>",
         middlewares=[requires("webhooks:read")],
         operation_id="retrieveWebhookEndpoint",
         summary="Retrieve a webhook endpoint", responses=documented(WebhookEndpointObject, 403, 404))
def retrieve(endpoint_id: str):
    who = caller()
    return json_response(retrieve_endpoint(get_table(), who, endpoint_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
