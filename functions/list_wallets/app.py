"""GET /v1/customers/{id}/wallets — a customer's wallets."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, requires
from customers_core.dal.table import get_table
from customers_core.logic.wallets import list_wallets
from customers_core.models.wallets import WalletList
from customers_core.observability import logger

app = create_app()


@app.get("/v1/customers/<customer_id>/wallets",
         middlewares=[requires("customers:read")],
         operation_id="listWallets", summary="List a customer's wallets",
         responses=documented(WalletList, 403, 404))
def list_(customer_id: str):
    who = caller()
    return json_response(list_wallets(get_table(), who, customer_id))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
