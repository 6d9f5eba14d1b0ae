"""POST /v1/webhook_endpoints/{id}/rotate_secret — a new signing secret, shown in this response only;
the replaced one keeps signing every delivery beside it for `expires_in` seconds (api.md §11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.webhooks import rotate_secret
from customers_core.models.webhooks import RotateSecretParams, WebhookEndpointObject
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app(hold_idempotency_key=True)  # a KMS call and a put: not one transaction


@app.post("/v1/webhook_endpoints/<endpoint_id>/rotate_secret",
          middlewares=[requires("webhooks:write")],
          operation_id="rotateWebhookEndpointSecret", summary="Rotate a webhook endpoint's signing secret",
          description="The new `secret` (whsec_…) is in this response only; it is stored encrypted. Until the "
                      "replaced secret expires (`expires_in` seconds, default 86400, at most 604800; 0: at once) "
                      "every delivery is signed with both: `Stripe-Signature: t=…,v1=<new>,v1=<old>` and "
                      "`webhook-signature: v1,<new> v1,<old>`, so a receiver verifying with either passes.",
          responses=documented(WebhookEndpointObject, 400, 403, 404, 413, 415))
def rotate(endpoint_id: str, body: Annotated[RotateSecretParams | None, Body()] = None):
    who = caller()
    return json_response(rotate_secret(get_table(), who, endpoint_id, body_model(app, RotateSecretParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
