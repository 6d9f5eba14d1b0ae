"""template.yaml, read once: functions, their HTTP routes and stream mappings, the table, the queues.
The key schema and routes live in the template only; everything local derives from it.

The template uses `AWS::LanguageExtensions`' `Fn::ForEach` (per-function log groups and alarms);
`load` expands it as CloudFormation does, so the local stack, the tests, `make openapi` and checkov
(which does not expand it: `python -m local_stack.template --expanded FILE`) see the same resources."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt …) as their long forms."""


def _cfn_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template with every `Fn::ForEach` expanded."""
    with path.open() as fh:
        loaded = dict(yaml.load(fh, Loader=_CfnLoader))  # noqa: S506 — SafeLoader subclass
    for section in ("Resources", "Outputs", "Conditions"):
        if isinstance(loaded.get(section), dict):
            loaded[section] = _expand(loaded[section])
    return loaded


_FOR_EACH = "Fn::ForEach::"


def _expand(mapping: dict[str, Any]) -> dict[str, Any]:
    """A template section with its `Fn::ForEach::Name: [Identifier, [values…], {key: fragment}]`
    entries replaced by one copy of the fragment per value (nested loops included)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not key.startswith(_FOR_EACH):
            out[key] = value
            continue
        identifier, collection, fragment = value
        for item in collection:
            for out_key, out_value in _expand(_substitute(fragment, identifier, str(item))).items():
                if out_key in out:
                    raise ValueError(f"{key} makes {out_key} twice")
                out[out_key] = out_value
    return out


def _substitute(node: Any, identifier: str, value: str) -> Any:
    """`${Identifier}` and `&{Identifier}` replaced in every key and string, and `Ref: Identifier`
    by the value, as Fn::ForEach does."""
    if isinstance(node, dict):
        if node == {"Ref": identifier}:
            return value
        return {_substitute(k, identifier, value): _substitute(v, identifier, value) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, identifier, value) for item in node]
    if isinstance(node, str):
        return node.replace("${" + identifier + "}", value).replace("&{" + identifier + "}", value)
    return node


def resources(of_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in load()["Resources"].items() if v["Type"] == of_type}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    routes: list[Route] = field(default_factory=list)
    stream: dict[str, Any] | None = None
    queue: dict[str, Any] | None = None
    environment: dict[str, Any] = field(default_factory=dict)


def function_properties(loaded: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """A function's properties with the Globals' (Handler, Timeout …) where it sets none itself."""
    return {**loaded.get("Globals", {}).get("Function", {}), **resource["Properties"]}


def functions() -> dict[str, Function]:
    out: dict[str, Function] = {}
    for logical_id, res in resources("AWS::Serverless::Function").items():
        props = function_properties(load(), res)
        routes, stream, queue = [], None, None
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                routes.append(Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id))
            elif event["Type"] == "DynamoDB":
                stream = event["Properties"]
            elif event["Type"] == "SQS":
                queue = event["Properties"]
        environment = (res["Properties"].get("Environment") or {}).get("Variables") or {}  # its own; Globals apart
        timeout = props.get("Timeout", 3)
        if isinstance(timeout, dict):  # a parameter (FunctionTimeout): its default, as deployed
            timeout = parameter_defaults()[timeout["Ref"]]
        out[logical_id] = Function(logical_id, ROOT / props["CodeUri"], props["Handler"], int(timeout),
                                   routes, stream, queue, dict(environment))
    return out


def table_logical_id() -> str:
    return next(iter(resources("AWS::DynamoDB::Table")))


def table_definition(table_name: str) -> dict[str, Any]:
    """create_table kwargs for the template's table (keys, GSIs, stream), under `table_name`."""
    props = next(iter(resources("AWS::DynamoDB::Table").values()))["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        definition["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return definition


def ttl_attribute() -> str | None:
    props = next(iter(resources("AWS::DynamoDB::Table").values()))["Properties"]
    spec = props.get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def queues() -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in resources("AWS::SQS::Queue").items()}


def resolve_environment(variables: dict[str, Any], refs: dict[str, str]) -> dict[str, str]:
    """Environment variables with Refs and simple Subs resolved from `refs` (logical id or parameter)."""
    def resolve(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return str(refs[value["Ref"]])
        if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
            return re.sub(r"\$\{([\w:]+)\}", lambda m: str(refs[m.group(1)]), value["Fn::Sub"])
        return str(value)

    return {name: resolve(value) for name, value in variables.items()}


def global_environment(refs: dict[str, str]) -> dict[str, str]:
    """The Globals' environment variables, with Refs resolved."""
    variables = load().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return resolve_environment(variables, refs)


def parameter_defaults() -> dict[str, str]:
    return {k: str(v["Default"]) for k, v in load().get("Parameters", {}).items() if "Default" in v}


def kms_keys() -> list[str]:
    return list(resources("AWS::KMS::Key"))


def filter_patterns(stream: dict[str, Any]) -> list[dict[str, Any]]:
    filters = (stream.get("FilterCriteria") or {}).get("Filters") or []
    return [json.loads(f["Pattern"]) for f in filters]


ROUTES_MODULE = ROOT / "layers" / "core" / "python" / "customers_core" / "routes.py"


def routes_module() -> str:
    """customers_core/routes.py as the template's HttpApi events make it: the 404/405 function's
    table of paths and methods, generated so that routes are declared in the template alone."""
    table: dict[str, set[str]] = {}
    for function in functions().values():
        for route in function.routes:
            if route.path != "$default":
                table.setdefault(re.sub(r"\{\w+\}", "[^/]+", route.path), set()).add(route.method)
    order = ("GET", "POST", "PATCH", "PUT", "DELETE")
    # A literal segment before a parameter, as API Gateway matches (/v1/customers/search before /{id}).
    lines = [f"    {json.dumps(path)}: ({''.join(json.dumps(m) + ', ' for m in sorted(methods, key=order.index))[:-2]}"
             f"{',' if len(methods) == 1 else ''}),"
             for path, methods in sorted(table.items(), key=lambda item: item[0].replace("[^/]+", "\uffff"))]
    return ('"""The API\'s paths (as regular expressions) and their methods, for the 404/405 function.\n\n'
            "Generated from template.yaml's HttpApi events by `make routes`; do not edit (a test checks it is\n"
            'current)."""\n\n'
            "ROUTES: dict[str, tuple[str, ...]] = {\n" + "\n".join(lines) + "\n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.template", description=__doc__)
    parser.add_argument("--expanded", type=Path,
                        help="write the template with Fn::ForEach expanded here, as JSON (for checkov)")
    parser.add_argument("--routes", action="store_true", help=f"write {ROUTES_MODULE.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.expanded:
        loaded = dict(load())
        # The expansion is done: without the transform, checkov reads the resources as CloudFormation's.
        loaded["Transform"] = [t for t in _as_list(loaded.get("Transform")) if t != "AWS::LanguageExtensions"]
        args.expanded.parent.mkdir(parents=True, exist_ok=True)
        args.expanded.write_text(json.dumps(loaded, indent=1))
    if args.routes:
        ROUTES_MODULE.write_text(routes_module())
    if not (args.expanded or args.routes):
        parser.error("nothing to do: --expanded FILE and/or --routes")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


if __name__ == "__main__":
    main()
