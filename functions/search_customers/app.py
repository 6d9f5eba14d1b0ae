"""GET /v1/customers/search — Stripe's query language, read-after-write (api.md §6)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.api import caller, create_app, documented, handle, json_response, query_model, requires
from customers_core.dal.table import get_table
from customers_core.logic.search import search_customers
from customers_core.models.search import SearchParams, SearchResult
from customers_core.observability import logger

app = create_app()


def _query(**constraints: Any) -> Any:
    """A query parameter's documentation: evaluated only when docs/openapi.json is made (`make openapi`),
    so the request path never imports Powertools' OpenAPI machinery (~200 ms of cold start)."""
    from aws_lambda_powertools.event_handler.openapi.params import Query  # noqa: PLC0415

    return Query(**constraints)


_QUERY = "Stripe's search query language (api.md §6), e.g. email:\"ada@example.com\" or name~\"ada\" status:\"active\""
_PAGE = "next_page of the previous result"
_EXPAND = "total_count adds the number of matches; other entries are accepted and ignored"


def _parameters(
    query: Annotated[str, _query(min_length=1, max_length=1000, description=_QUERY)],
    limit: Annotated[int, _query(ge=1, le=100, description="Results per page")] = 10,
    page: Annotated[str, _query(max_length=200, description=_PAGE)] = None,  # type: ignore[assignment]  # noqa: RUF013
    expand: Annotated[list[str], _query(alias="expand[]", description=_EXPAND)] = None,  # type: ignore[assignment]  # noqa: RUF013
) -> None:
    """The query parameters as docs/openapi.json declares them (not null when absent, unlike `str | None`);
    SearchParams validates the real ones."""


@app.get("/v1/customers/search",
         middlewares=[requires("customers:read")],
         operation_id="searchCustomers", summary="Search customers",
         description="query: clauses on email, name, phone, external_id, status, tag, metadata['key'] (`:` exact, "
                     "case-insensitive; `~` word prefix on name and email, digit prefix on phone) and created "
                     "(> < >= <= =), joined by AND or OR, `-` negates; at most 10. A change is found by the very "
                     "next search.",
         responses=documented(SearchResult, 400, 403))
def search():
    who = caller()
    return json_response(search_customers(get_table(), who, query_model(app, SearchParams)))


# Powertools documents a route's parameters from its handler's signature, but calls the handler with its
# path parameters only: the handler takes none, and shows the documented ones.
search.__signature__ = inspect.signature(_parameters)  # type: ignore[attr-defined]


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
