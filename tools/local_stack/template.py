"""template.yaml, read once: functions, their HTTP routes and stream mappings, the table, the queues.
The key schema and routes live in the template only; everything local derives from it."""

from __future__ import annotations

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
    with path.open() as fh:
        return dict(yaml.load(fh, Loader=_CfnLoader))  # noqa: S506 — SafeLoader subclass


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


def functions() -> dict[str, Function]:
    globals_ = load().get("Globals", {}).get("Function", {})
    out: dict[str, Function] = {}
    for logical_id, res in resources("AWS::Serverless::Function").items():
        props = res["Properties"]
        routes, stream, queue = [], None, None
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                routes.append(Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id))
            elif event["Type"] == "DynamoDB":
                stream = event["Properties"]
            elif event["Type"] == "SQS":
                queue = event["Properties"]
        environment = (props.get("Environment") or {}).get("Variables") or {}
        out[logical_id] = Function(logical_id, ROOT / props["CodeUri"], props["Handler"],
                                   int(props.get("Timeout", globals_.get("Timeout", 3))), routes, stream, queue,
                                   dict(environment))
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
