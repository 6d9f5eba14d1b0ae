"""POST /v1/customers/{id}/wallets — add a Stellar or EVM wallet (a wallet has one owner per account)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import body_model, caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.wallets import add_wallet
from customers_core.models.wallets import WalletCreate, WalletObject
from customers_core.observability import logger

if TYPE_CHECKING:  # documentation only (make openapi provides it): ~200 ms less to import
    from aws_lambda_powertools.event_handler.openapi.params import Body

app = create_app()


@app.post("/v1/customers/<customer_id>/wallets",
          middlewares=[requires("customers:write")],
          operation_id="addWallet", summary="Add a wallet to a customer",
          description="Stellar: a G… account id (StrKey checksum verified). EVM: 0x + 40 hex with chain_id; a "
                      "mixed-case address must pass EIP-55; stored checksummed. 409 wallet_taken if another "
                      "customer of the account holds it.",
          responses=documented(WalletObject, 400, 403, 404, 409, 413, 415))
def add(customer_id: str, body: Annotated[WalletCreate | None, Body()] = None):
    who = caller()
    return json_response(add_wallet(get_table(), who, customer_id, body_model(app, WalletCreate), request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
