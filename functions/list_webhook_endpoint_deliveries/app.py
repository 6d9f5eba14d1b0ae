"""GET /v1/webhook_endpoints/{id}/deliveries — the endpoint's delivery log, newest first, each
delivery with its attempts (api.md §11)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.deliveries import list_endpoint_deliveries
from customers_core.models.webhooks import ListDeliveriesParams, WebhookDeliveryList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/webhook_endpoints/<endpoint_id>/deliveries",
         middlewares=[requires("webhooks:read")],
         operation_id="listWebhookEndpointDeliveries", summary="List a webhook endpoint's deliveries, newest first",
         description="Filters: `status` (pending, succeeded, failed, dead_lettered) and `created[…]` (the event's "
                     "time); cursors as in every list. A failed delivery is re-sent with POST "
                     "/v1/events/{id}/retry.",
         responses=documented(WebhookDeliveryList, 400, 403, 404))
def list_(endpoint_id: str):
    who = caller()
    params = query_model(app, ListDeliveriesParams)
    return json_response(list_endpoint_deliveries(get_table(), who, endpoint_id, params))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
