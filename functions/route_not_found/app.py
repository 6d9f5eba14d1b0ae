"""$default — any request no route matches: the contract's 404 route_not_found, not API Gateway's."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import create_app, handle
from customers_core.observability import logger

app = create_app()  # no routes: every request reaches the app's not-found handler


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
