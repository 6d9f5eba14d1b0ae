"""docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator, pinned in
requirements/dev.txt), and declares what generated clients need (api.md §10): search's parameters,
the event list's filters, the retry's body, the customer's and the webhook endpoint's new fields."""

from __future__ import annotations

import json

from local_stack.openapi import SPEC_PATH
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator


def _spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def test_the_document_validates_as_openapi_3_1():
    spec = _spec()
    assert spec["openapi"].startswith("3.1")
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []
    validate(spec)  # the library's own entry point agrees


def test_search_declares_every_parameter():
    parameters = {p["name"]: p for p in _spec()["paths"]["/v1/customers/search"]["get"]["parameters"]}
    assert set(parameters) == {"query", "limit", "page", "expand[]"}
    assert parameters["query"]["required"] is True and parameters["query"]["in"] == "query"
    assert parameters["limit"]["schema"]["maximum"] == 100


def test_the_new_surface_is_declared():
    spec = _spec()
    events = {p["name"] for p in spec["paths"]["/v1/events"]["get"]["parameters"]}
    assert {"type", "types", "delivery_success"} <= events
    schemas = spec["components"]["schemas"]
    assert {"shipping", "preferred_locales", "tax_exempt", "business_name", "individual_name", "balance",
            "invoice_settings"} <= set(schemas["CustomerObject"]["properties"])
    assert {"shipping", "preferred_locales", "tax_exempt", "business_name", "individual_name"} <= \
        set(schemas["CustomerParams"]["properties"])
    assert {"api_version", "connect"} <= set(schemas["WebhookEndpointParams"]["properties"])
    assert {"api_version", "application"} <= set(schemas["WebhookEndpointObject"]["properties"])
    retry = spec["paths"]["/v1/events/{event_id}/retry"]["post"]
    assert "webhook_endpoint" in schemas["RetryEventParams"]["properties"]
    assert "400" in retry["responses"] and "requestBody" in retry
