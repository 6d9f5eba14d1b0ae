"""POST /v1/events/{id}/retry — send an event again to the enabled endpoints it was sent to,
dead-lettered deliveries included, or with `webhook_endpoint` to one endpoint (also one created after
the event, if it is subscribed to the event's type); answers the event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.fanout import retry_event
from customers_core.models.responses import EventObject
from customers_core.models.webhooks import RetryEventParams
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app(hold_idempotency_key=True)  # delivery writes and SQS sends: not one transaction


@app.post("/v1/events/<event_id>/retry",
          middlewares=[requires("webhooks:write")],
          operation_id="retryEvent", summary="Re-send an event to its endpoints",
          description="Without a body: to every enabled endpoint the event was sent to. With `webhook_endpoint`: to "
                      "that endpoint alone (enabled, subscribed to the event's type; also one created after the "
                      "event).",
          responses=documented(EventObject, 400, 403, 404, 413, 415))
def retry(event_id: str, body: Annotated[RetryEventParams | None, Body()] = None):
    who = caller()
    params = body_model(app, RetryEventParams)
    return json_response(retry_event(get_table(), who, event_id, params.webhook_endpoint,
                                     request_info(app)["idempotency_key"]))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
