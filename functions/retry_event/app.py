"""POST /v1/events/{id}/retry — send an event again to the enabled endpoints it was sent to,
dead-lettered deliveries included; answers the event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import create_app, documented, handle, json_response, principal
from customers_core.dal.table import get_table
from customers_core.logic.fanout import retry_event
from customers_core.models.responses import EventObject
from customers_core.observability import logger

app = create_app(hold_idempotency_key=True)  # delivery writes and SQS sends: not one transaction


@app.post("/v1/events/<event_id>/retry", operation_id="retryEvent", summary="Re-send an event to its endpoints",
          responses=documented(EventObject, 403, 404))
def retry(event_id: str):
    who = principal(app, "webhooks:write")
    return json_response(retry_event(get_table(), who, event_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
