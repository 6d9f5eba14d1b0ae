"""Fixtures shared by every tier. The table is always created from template.yaml's definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(method: str, path: str, *, body: str | None = None, content_type: str | None = None,
              context: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, built from the events/ sample's shape."""
    event = load_event("create_customer")
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["headers"] = {**({"content-type": content_type} if content_type else {}), **(headers or {})}
    event["body"] = body
    event["isBase64Encoded"] = False
    event["requestContext"]["authorizer"] = {"lambda": context if context is not None else {}}
    if path_parameters:
        event["pathParameters"] = path_parameters
    else:
        event.pop("pathParameters", None)
    return event


@pytest.fixture
def make_api_event():
    return api_event
