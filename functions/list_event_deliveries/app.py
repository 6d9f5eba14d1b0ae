"""GET /v1/events/{id}/deliveries — the event's deliveries, one per endpoint it was sent to, each
with its attempts (api.md §11)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.deliveries import list_event_deliveries
from customers_core.models.webhooks import ListDeliveriesParams, WebhookDeliveryList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/events/<event_id>/deliveries",
         middlewares=[requires("webhooks:read")],
         operation_id="listEventDeliveries", summary="List an event's deliveries",
         description="One per endpoint the event was sent to (pending until its first attempt). Filters: `status` "
                     "(pending, succeeded, failed, dead_lettered); cursors as in every list.",
         responses=documented(WebhookDeliveryList, 400, 403, 404))
def list_(event_id: str):
    who = caller()
    return json_response(list_event_deliveries(get_table(), who, event_id, query_model(app, ListDeliveriesParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
