"""GET /v1/events/{id} — one event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.events import retrieve_event
from customers_core.models.responses import EventObject
from customers_core.observability import logger

app = create_app()


@app.get("/v1/events/<event_id>",
         middlewares=[requires("events:read")],
         operation_id="retrieveEvent", summary="Retrieve an event",
         responses=documented(EventObject, 403, 404))
def retrieve(event_id: str):
    who = caller()
    return json_response(retrieve_event(get_table(), who, event_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
