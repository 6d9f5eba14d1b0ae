"""The local stack picks the route API Gateway would: a literal path segment before a path variable,
whatever order the template declares them in."""

from __future__ import annotations

import json
import random

import pytest
from local_stack import template
from local_stack.http_api import HttpApi
from local_stack.template import Route


def _routes() -> list[Route]:
    return [route for function in template.functions().values() for route in function.routes]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("method", "path", "function"), [
    ("POST", "/v1/customers/upsert", "UpsertCustomerFunction"),
    ("POST", "/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "UpdateCustomerFunction"),
    ("GET", "/v1/customers/search", "SearchCustomersFunction"),
    ("GET", "/v1/customers/upsert", "RetrieveCustomerFunction"),  # no GET route of its own: the {id} one
    ("POST", "/v1/customers", "CreateCustomerFunction"),
    ("DELETE", "/v1/customers/upsert", "DeleteCustomerFunction"),
])
def test_a_literal_route_wins_over_a_path_variable_in_any_declared_order(seed, method, path, function):
    routes = _routes()
    random.Random(seed).shuffle(routes)
    route, _ = HttpApi(routes, pools={}).match(method, path)
    assert route is not None and route.function == function


def test_specificity_is_decided_segment_by_segment():
    routes = [Route("GET", "$default", "Default"), Route("GET", "/a/{x}/c", "VariableFirst"),
              Route("GET", "/a/{x}/{y}", "Both"), Route("GET", "/a/b/{y}", "LiteralFirst")]
    api = HttpApi(routes, pools={})
    assert api.match("GET", "/a/b/c")[0].function == "LiteralFirst"  # type: ignore[union-attr]
    assert api.match("GET", "/a/z/c")[0].function == "VariableFirst"  # type: ignore[union-attr]
    assert api.match("GET", "/a/z/q") == (routes[2], {"x": "z", "y": "q"})
    assert api.match("GET", "/nowhere")[0].function == "Default"  # type: ignore[union-attr]


def test_concurrent_environments_each_read_their_own_event():
    """Powertools keeps the event being resolved on a class (one per process, as in Lambda); the local
    stack's environments are threads, so each must read its own: two requests inside their handlers at
    once each see their own body and Lambda context."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from local_stack import runtime

    from tests.conftest import api_event

    runtime._resolver_state_per_thread()
    both_inside = threading.Barrier(2, timeout=5)

    def environment() -> APIGatewayHttpResolver:
        app = APIGatewayHttpResolver()

        @app.post("/echo")
        def echo():
            both_inside.wait()  # the other request has started resolving too
            return {"body": app.current_event.body, "context": app.lambda_context}

        return app

    def call(n: int) -> dict:
        # A string for the context on purpose: what each request gets back shows whose context it saw.
        return environment().resolve(api_event("POST", "/echo", body=f"request {n}"),
                                     f"context {n}")  # type: ignore[arg-type]

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(call, range(2)))
    assert [json.loads(a["body"]) for a in answers] == [{"body": f"request {n}", "context": f"context {n}"}
                                                         for n in range(2)]
