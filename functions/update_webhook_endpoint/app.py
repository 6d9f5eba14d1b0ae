"""POST or PATCH /v1/webhook_endpoints/{id} — change url, enabled_events, description, metadata or
`disabled`; only the fields sent change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import update_endpoint
from customers_core.models.webhooks import WebhookEndpointObject, WebhookEndpointParams
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app(hold_idempotency_key=True)  # a KMS call and a put: not one transaction


@app.route("/v1/webhook_endpoints/<endpoint_id>",
           middlewares=[requires("webhooks:write")],
           method=["POST", "PATCH"],
           summary="Update a webhook endpoint (only the fields sent change)",
           description="metadata merges (a key sent null or \"\" is removed); `disabled: false` re-enables.",
           responses=documented(WebhookEndpointObject, 400, 403, 404, 413, 415))
def update(endpoint_id: str, body: Annotated[WebhookEndpointParams | None, Body()] = None):
    who = caller()
    return json_response(update_endpoint(get_table(), who, endpoint_id, body_model(app, WebhookEndpointParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
