"""Lambda authorizer (HTTP API, payload 2.0, simple responses): API key → account, mode, scopes.

It always allows and puts what it found into the context; the route's handler answers 401 in the
contract's shape when the context holds an error (docs/decisions.md, "authorizer")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.dal.table import get_table
from customers_core.logic.api_keys import authorize
from customers_core.observability import logger
from customers_core.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = authorize(get_table(), event.get("headers") or {}, get_settings().key_cache_seconds)
    logger.info("authorized" if "error" not in result else "not authorized",
                extra={"account": result.get("account_id"), "reason": result.get("error")})
    return {"isAuthorized": True, "context": result}
