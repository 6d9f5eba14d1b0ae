"""Fixtures shared by every tier. The table is always created from template.yaml's definition."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from customers_core.dal.table import get_table
from local_stack import template
from local_stack.runtime import LambdaContext, load_environment
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(method: str, path: str, *, body: str | None = None, content_type: str | None = None,
              context: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, built from the events/ sample's shape. `context`
    names the caller as {account_id, livemode, scopes[, secret]}: its key is sent as the Bearer token
    (a key with exactly those scopes and mode is made when the context's own secret is not one)."""
    event = load_event("create_customer")
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["headers"] = {**({"content-type": content_type} if content_type else {}), **_credentials(context),
                        **(headers or {})}
    event["body"] = body
    event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = path_parameters
    else:
        event.pop("pathParameters", None)
    return event


def _credentials(context: dict[str, Any] | None) -> dict[str, str]:
    """The Authorization header of a caller described as the authorizer used to describe it: a key
    for exactly that account, mode and scopes is stored (as customers-admin would store it)."""
    if context and context.get("error") == "api_key_invalid":
        return {"authorization": "Bearer sk_test_no-such-key"}
    if not context or not context.get("account_id"):
        return {}
    import hashlib

    from customers_core import keys
    from customers_core.auth import SCOPES
    from customers_core.logic import api_keys

    account_id, live = str(context["account_id"]), context.get("livemode") in (True, "true")
    scopes = sorted(str(context.get("scopes", "")).split())
    kind = "sk" if scopes == sorted(SCOPES) else "rk"
    digest = hashlib.sha256(f"{account_id}|{live}|{' '.join(scopes)}".encode()).hexdigest()[:40]
    secret = f"{kind}_{'live' if live else 'test'}_{digest}"
    get_table().put({**keys.api_key_lookup(api_keys.hash_secret(secret)), "entity": "api_key",
                     "account_id": account_id, "livemode": live, "scopes": scopes, "revoked": False,
                     "key_id": str(context.get("key_id") or "key_test"), "type": kind})
    return {"authorization": f"Bearer {secret}"}


@pytest.fixture
def make_api_event():
    return api_event


def load_function(code_dir: str) -> ModuleType:
    """functions/<code_dir>/app.py freshly imported, as a new Lambda execution environment would."""
    function = next(f for f in template.functions().values() if f.code_dir.name == code_dir)
    return load_environment(function)


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext("test")


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with no real endpoint or profile able to leak in; settings re-read."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_KMS",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    function_environment(monkeypatch)
    clear_caches()
    # moto's in-process DynamoDB is not thread-safe (a write beside another fails copying its dicts);
    # what production runs beside a transaction runs inline here. DynamoDB Local runs it concurrently.
    from customers_core import beside

    monkeypatch.setattr(beside, "submit", _Inline().submit)
    with mock_aws():
        yield
    clear_caches()


class _Inline:
    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


def function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the template's Globals give every function besides the table (Powertools' settings)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "customers-api")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CustomersApi/test")
    # Counted on every request, refused by none: loops of handler calls on moto can pass 100/s.
    # tests/unit/test_rate_limit.py sets its own limit.
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "1000000")


def clear_caches() -> None:
    """Settings, AWS clients and what a process keeps between requests are made once per process; a
    test that changes the environment starts afresh (customers_core.caches)."""
    from customers_core import caches

    caches.reset()
