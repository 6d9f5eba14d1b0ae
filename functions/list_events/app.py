"""GET /v1/events — the account's events, newest first, by type and created range (kept 30 days)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.events import list_events
from customers_core.models.listing import ListEventsParams
from customers_core.models.responses import EventList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/events",
         middlewares=[requires("events:read")],
         operation_id="listEvents", summary="List events, newest first",
         description="Query parameters use Stripe's bracket notation (created[gte]).",
         responses=documented(EventList, 400, 403))
def list_():
    who = caller()
    return json_response(list_events(get_table(), who, query_model(app, ListEventsParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
