"""The local stack runs each function's environments as threads of one process: each must see its
own request, as a Lambda execution environment would."""

from __future__ import annotations

import json


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
        return environment().resolve(api_event("POST", "/echo", body=f"request {n}"), f"context {n}")

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(call, range(2)))
    assert [json.loads(a["body"]) for a in answers] == [{"body": f"request {n}", "context": f"context {n}"}
                                                         for n in range(2)]
