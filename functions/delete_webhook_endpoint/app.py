"""DELETE /v1/webhook_endpoints/{id} — remove an endpoint; deliveries still queued for it are skipped."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import delete_endpoint
from customers_core.models.webhooks import DeletedWebhookEndpoint
from customers_core.observability import logger

app = create_app()


@app.delete("/v1/webhook_endpoints/<endpoint_id>",
            middlewares=[requires("webhooks:write")],
            operation_id="deleteWebhookEndpoint",
            summary="Delete a webhook endpoint", responses=documented(DeletedWebhookEndpoint, 403, 404))
def delete(endpoint_id: str):
    who = caller()
    return json_response(delete_endpoint(get_table(), who, endpoint_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
