"""POST /v1/customers/{id}/wallets/{wallet_id} — set a wallet's authorization fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.wallets import update_wallet
from customers_core.models.wallets import WalletObject, WalletUpdate
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app()


@app.post("/v1/customers/<customer_id>/wallets/<wallet_id>",
          middlewares=[requires("customers:write")],
          operation_id="updateWallet",
          summary="Update a wallet's authorization fields",
          description="authorization_type (PERMIT or APPROVAL), authorization_tx_hash, authorized_at, "
                      "has_active_authorization; only the fields sent change.",
          responses=documented(WalletObject, 400, 403, 404, 413, 415))
def update(customer_id: str, wallet_id: str, body: Annotated[WalletUpdate | None, Body()] = None):
    who = caller()
    return json_response(update_wallet(get_table(), who, customer_id, wallet_id, body_model(app, WalletUpdate),
                                       request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
