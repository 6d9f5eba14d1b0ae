"""The OpenAPI document, generated from the code: each function's Powertools resolver describes its
routes (pydantic models for bodies and responses); this merges them, adds what a resolver cannot say
(form encoding, Stripe's bracket query parameters, the API key scheme), and writes docs/openapi.json.

    python -m local_stack.openapi          # write docs/openapi.json
    python -m local_stack.openapi --check  # exit 1 if docs/openapi.json differs from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from customers_core.models.listing import ListCustomersParams, ListEventsParams
from customers_core.models.webhooks import ListWebhookEndpointsParams
from pydantic import BaseModel

from local_stack import template
from local_stack.runtime import load_environment

SPEC_PATH = template.ROOT / "docs" / "openapi.json"
FORM = "application/x-www-form-urlencoded"
LIST_PARAMETERS: dict[str, type[BaseModel]] = {"/v1/customers": ListCustomersParams, "/v1/events": ListEventsParams,
                                               "/v1/webhook_endpoints": ListWebhookEndpointsParams}


def _list_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A list endpoint's parameters model as query parameters, nested ones in bracket notation."""
    schema = model.model_json_schema()
    params = []
    for name, prop in schema["properties"].items():
        if name == "created":
            for op in ("gt", "gte", "lt", "lte"):
                params.append({"name": f"created[{op}]", "in": "query", "required": False,
                               "schema": {"type": "integer", "minimum": 0, "maximum": 9999999999}})
            continue
        if name == "metadata":  # metadata[key]=value: an object in bracket notation (OpenAPI's deepObject)
            variant = next(v for v in prop["anyOf"] if v.get("type") == "object")
            params.append({"name": name, "in": "query", "required": False, "style": "deepObject", "explode": True,
                           "description": prop.get("description", ""),
                           "schema": {"type": "object", "minProperties": variant["minProperties"],
                                      "maxProperties": variant["maxProperties"],
                                      "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": r"^[^\[\]]+$"},
                                      "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 500}}})
            continue
        if name in ("include", "expand"):
            item = {"type": "string", "enum": ["total_count"]} if name == "include" else {"type": "string"}
            params.append({"name": f"{name}[]", "in": "query", "required": False, "style": "form",
                           "explode": True, "schema": {"type": "array", "items": item}})
            continue
        variant = next((v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"), prop)
        clean = {k: v for k, v in variant.items() if k != "title"}
        if "default" in prop and prop["default"] is not None:
            clean["default"] = prop["default"]
        params.append({"name": name, "in": "query", "required": False, "schema": clean})
    return params


def build() -> dict[str, Any]:
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "customers-api", "version": "2026-11-01",
                 "description": "A multi-tenant Customers API in Stripe's dialect. Errors share one shape: "
                                "{\"error\": {type, code, message, param}}."},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "sk_… or rk_… API key"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
        "security": [{"bearer": []}, {"apiKey": []}],
    }
    for function in template.functions().values():
        module = load_environment(function)
        # Handlers import Body for type checking only (it costs ~200 ms of cold start); their string
        # annotations are resolved here, so the documentation gets it.
        vars(module).setdefault("Body", Body)
        app = getattr(module, "app", None)
        if app is None or not function.routes or function.routes[0].path == "$default":
            continue
        part = json.loads(app.get_openapi_json_schema(title="part", version="0", openapi_version="3.1.0"))
        for path, operations in part.get("paths", {}).items():
            spec["paths"].setdefault(path, {}).update(operations)
        spec["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            operation.get("responses", {}).pop("422", None)  # Powertools' own validation error: never sent
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                body["schema"] = _without_null(body["schema"])
            if body is not None:
                params = body["schema"].get("$ref", "").rsplit("/", 1)[-1] or "CustomerParams"
                form = params.replace("Params", "Form")
                operation["requestBody"]["content"][FORM] = {"schema": {"$ref": f"#/components/schemas/{form}"}}
                operation["requestBody"]["required"] = False
                spec["components"]["schemas"][form] = _form_schema(spec["components"]["schemas"][params])
            if method == "get" and path in LIST_PARAMETERS:
                operation["parameters"] = _list_parameters(LIST_PARAMETERS[path])
            if operation["operationId"].startswith("update_"):  # one function serves several methods
                resource = "Customer" if path.startswith("/v1/customers") else "WebhookEndpoint"
                operation["operationId"] = f"update{resource}" + ("" if method == "post" else method.capitalize())
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        spec["components"]["schemas"].pop(name, None)
    return spec


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    if not variants:
        return schema
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def _form_schema(params: dict[str, Any]) -> dict[str, Any]:
    """The form-encoded body: its plain string fields (form encoding has no null; "" clears). The
    object and array fields are sent in bracket notation (`metadata[k]=v`, `tags[0]=t`), which a
    JSON schema of a form cannot describe, so they are documented under the JSON body only."""
    properties: dict[str, Any] = {}
    for name, prop in params["properties"].items():
        variants = prop.get("anyOf", [prop])
        if any(v.get("type") in ("object", "array") or "$ref" in v for v in variants):
            continue
        values = [v["const"] for v in variants if "const" in v] + [e for v in variants for e in v.get("enum", [])]
        string = next((v for v in variants if v.get("type") == "string" and "const" not in v), None)
        if values:
            properties[name] = {"type": "string", "enum": sorted(set(values))}
        elif string is not None:
            properties[name] = {k: v for k, v in {**string, **{k: prop[k] for k in ("format",) if k in prop}}.items()
                                if k != "title"}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "description": "Form encoding, as Stripe's SDKs send it."}


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not SPEC_PATH.exists() or SPEC_PATH.read_text() != text:
            print(f"{SPEC_PATH} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    SPEC_PATH.write_text(text)
    print(f"wrote {SPEC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
