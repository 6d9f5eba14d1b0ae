"""$default — any request no route matches: the contract's 404 route_not_found (or 405 with Allow
when the path exists for other methods), not API Gateway's bare answer."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import handle
from customers_core.api import method_not_allowed_app as create_app
from customers_core.observability import logger
from customers_core.routes import ROUTES  # generated from template.yaml (make routes)

app = create_app({re.compile(f"^{path}$"): methods for path, methods in ROUTES.items()})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
