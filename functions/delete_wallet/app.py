"""DELETE /v1/customers/{id}/wallets/{wallet_id} — remove a wallet (its address is free again)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, request_info, requires
from customers_core.dal.table import get_table
from customers_core.logic.wallets import remove_wallet
from customers_core.models.wallets import DeletedWallet
from customers_core.observability import logger

app = create_app()


@app.delete("/v1/customers/<customer_id>/wallets/<wallet_id>",
            middlewares=[requires("customers:write")],
            operation_id="deleteWallet",
            summary="Remove a wallet", responses=documented(DeletedWallet, 403, 404))
def delete(customer_id: str, wallet_id: str):
    who = caller()
    return json_response(remove_wallet(get_table(), who, customer_id, wallet_id, request_info(app)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
