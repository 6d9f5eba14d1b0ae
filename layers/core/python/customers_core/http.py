"""Request bodies and query strings: JSON, and Stripe's form encoding with bracket notation.
Both decode to the same structure, so one model validates either."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from customers_core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 1024 * 1024
# Map-valued parameters: their keys are the caller's, so "0", "1" there are not list indexes.
MAP_FIELDS = frozenset({"metadata", "custom_fields"})
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def compact_json(body: Any) -> str:
    """A response body as the API sends it (and as an idempotency record keeps it)."""
    return json.dumps(body, separators=(",", ":"))


def _not_json(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _looks_like_json(data: bytes) -> bool:
    """A body that parses as a JSON object or array (what a JSON body sent without its Content-Type is)."""
    text = data.strip()
    if text[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"The body is not valid UTF-8 (byte {exc.start + 1} of {len(data)}); "
                             "send text encoded as UTF-8.", code="body_invalid_json") from exc


def decode_body(event: dict[str, Any]) -> Any:
    """The request's body as JSON-like data ({} when empty). Raises the contract's 4xx otherwise."""
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge("The request body is larger than 1 MiB.")
    if not data.strip():
        return {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        text = _utf8(data)
        try:
            parsed = json.loads(text, parse_constant=_not_json)
            # JSON may escape lone surrogates ("\\ud800"), which no UTF-8 store or response can carry.
            json.dumps(parsed, ensure_ascii=False).encode()
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"The body is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}.",
                                 code="body_invalid_json") from exc
        except UnicodeEncodeError as exc:
            raise InvalidRequest("The body is not valid JSON: it escapes a lone surrogate (\\ud800-\\udfff), "
                                 "which is no character.", code="body_invalid_json") from exc
        return parsed
    if content_type == "application/x-www-form-urlencoded":
        if _looks_like_json(data):
            # curl's -d sends this Content-Type unless told otherwise.
            raise UnsupportedMediaType(
                "The body is JSON but its Content-Type is application/x-www-form-urlencoded (what curl -d "
                "sends unless told otherwise); send the header Content-Type: application/json.")
        text = _utf8(data)
        try:  # %-escapes must decode to UTF-8 too: `name=%FF` is refused, not stored as U+FFFD
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidRequest("The form body is not valid UTF-8 once its %-escapes are decoded; "
                                 "encode text as UTF-8 before escaping it.", code="body_invalid_json") from exc
        return decode_form(pairs)
    hint = " This body looks like JSON: add the header Content-Type: application/json." \
        if _looks_like_json(data) else ""
    raise UnsupportedMediaType(
        f"Content-Type '{content_type or 'none'}' is not supported; "
        f"send application/json or application/x-www-form-urlencoded.{hint}"
    )


def parse_query(raw: str) -> list[tuple[str, str]]:
    """A query string's pairs, refusing %-escapes that are not UTF-8 (400) instead of replacing them."""
    try:
        return parse_qsl(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The query string is not valid UTF-8 once its %-escapes are decoded; "
                             "encode text as UTF-8 before escaping it.") from exc


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`metadata[plan]=pro&tags[0]=vip&tags[]=new` → {"metadata": {"plan": "pro"}, "tags": ["vip", "new"]}."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        head = name.split("[", 1)[0]
        path = [head, *_BRACKETS.findall(name[len(head):])]
        if not head or "".join(f"[{p}]" for p in path[1:]) != name[len(head):]:
            raise InvalidRequest(f"Malformed parameter name '{name}'.", param=name)
        node = root
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise InvalidRequest(f"Parameter '{name}' conflicts with another.", param=name)
            if nxt == "":  # `tags[]=a`: append
                path[i + 1] = str(len(child))
            node = child
        last = path[-1]
        if len(path) == 1 and last in node:  # `tags=a&tags=b`: a repeated plain name is a list
            previous = node[last]
            node[last] = {**previous, str(len(previous)): value} if isinstance(previous, dict) \
                else {"0": previous, "1": value}
        else:
            node[last] = value
    return _lists(root, parent=None)


def _lists(node: Any, parent: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v, k) for k, v in node.items()}
    if parent not in MAP_FIELDS and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def error_param(loc: tuple[str | int, ...]) -> str:
    """pydantic's error location as the contract names parameters: address[city], [3].email."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not out or (out.endswith("]") and out.startswith("[")):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{part}]"
    return out


_UNION_TAGS = ("function-", "list[", "dict[", "literal[", "constrained-")


_TYPE_TAGS = frozenset({"int", "str", "float", "bool", "none", "list", "dict", "is-instance", "json-or-python"})


def _is_union_tag(part: str | int, previous: str | int | None = None) -> bool:
    """pydantic names the union member an error came from in its location (`Address`, `int`,
    `list[constrained-str]`); the contract's param names leave those out. A map's own keys (after
    `metadata`, `custom_fields`) are the caller's, never tags."""
    if not isinstance(part, str) or previous in MAP_FIELDS:
        return False
    return part.startswith(_UNION_TAGS) or part in _TYPE_TAGS or (part[:1].isupper() and part.isidentifier()
                                                                     and part in _MODEL_NAMES)


_MODEL_NAMES = frozenset({"Address", "CreatedRange"})


def validation_error(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> InvalidRequest:
    """The first pydantic error as the contract's 400 (`prefix`: where the model sits, e.g. (3,)), worded
    as the contract words it (models.messages): what the parameter must be, never the validator's text."""
    from customers_core.models.messages import describe  # noqa: PLC0415 — the models import this module's users

    err = exc.errors()[0]
    raw = tuple(err["loc"])
    loc = prefix + tuple(p for i, p in enumerate(raw) if not _is_union_tag(p, raw[i - 1] if i else None))
    param = error_param(loc)
    if err["type"] == "extra_forbidden":
        return InvalidRequest(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")
    if err["type"] == "missing":
        return InvalidRequest(f"Missing required param: {param}.", param=param, code="parameter_missing")
    code = "metadata_invalid" if "metadata" in loc[:2] else "parameter_invalid"
    phrase = describe(err, param).rstrip(".")
    if not param:  # a model's own check of several fields: its message is the whole sentence
        return InvalidRequest(f"{phrase[:1].upper()}{phrase[1:]}.", code=code)
    return InvalidRequest(f"Invalid {param}: {phrase}.", param=param, code=code)
