"""GET /v1/customers/search — Stripe's query language, read-after-write (api.md §6)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import create_app, documented, handle, json_response, principal, query_model
from customers_core.dal.table import get_table
from customers_core.logic.search import search_customers
from customers_core.models.search import SearchParams, SearchResult
from customers_core.observability import logger

app = create_app()


@app.get("/v1/customers/search", operation_id="searchCustomers", summary="Search customers",
         description="query: clauses on email, name, phone, external_id, status, tag, metadata['key'] (`:` exact, "
                     "case-insensitive; `~` word prefix on name and email, digit prefix on phone) and created "
                     "(> < >= <= =), joined by AND or OR, `-` negates; at most 10. A change is found by the very "
                     "next search.",
         responses=documented(SearchResult, 400, 403))
def search():
    who = principal(app, "customers:read")
    return json_response(search_customers(get_table(), who, query_model(app, SearchParams)))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
