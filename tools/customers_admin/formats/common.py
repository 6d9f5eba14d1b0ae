"""What every format's mapping shares: the mapped record, and a builder that applies the common rules
(docs/migration.md, "Rules for every format").

- The source's id is kept: as `external_id` when the record has no external id of its own, else as
  `metadata[source_id]` (api.md §12).
- The source's creation time, converted to Unix seconds, is kept as `metadata[source_created]`.
  These two provenance keys are added only while the metadata has room (50 keys): they never make a
  record fail. The record's own external id (or its source id) already makes a re-run safe.
- Metadata values that are not strings are written as their JSON text (`true`, `42`, `{"a":1}`); a
  null value is left out. Keys the mapping adds for source fields (`stripe_customer_id` …) are data,
  not provenance: a record whose metadata then has more than 50 keys fails ("too many metadata keys").
- A full name with no first/last of its own is also split: the first word is `first_name`, the rest
  `last_name` (`name` keeps the whole); first and last with no name of their own are joined into `name`.
- Empty strings count as absent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from customers_core.models.customer import CustomerParams

METADATA_MAX_KEYS = 50
PROVENANCE_KEYS = ("source_id", "source_created")
# Fields of api.md §10 that the service keeps once its customer model has them; until then a mapping
# keeps them in metadata (see `Builder.kept`).
NATIVE_EXTRAS = ("shipping", "preferred_locales", "tax_exempt", "business_name", "individual_name")


def supports(name: str) -> bool:
    """Whether the service's customer object takes this field (as a create parameter)."""
    return name in CustomerParams.model_fields


@dataclass(frozen=True)
class Problem:
    """A record that cannot be imported, found while mapping it."""

    code: str
    message: str
    param: str | None = None


@dataclass
class Mapped:
    """One source record as this service's create parameters, plus its wallets."""

    source_id: str | None
    params: dict[str, Any]
    wallets: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skip: str | None = None  # a record to leave out on purpose (deleted in the source), with why


class Builder:
    """Collects one record's mapped fields; `build()` applies the metadata rules."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.source_metadata: dict[str, str] = {}
        self.data_metadata: dict[str, str] = {}
        self.provenance: dict[str, str] = {}
        self.wallets: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.source_id: str | None = None
        self.skip: str | None = None

    # -- scalars ---------------------------------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        if value is None or value == "":
            return
        self.params[name] = value

    def string(self, name: str, value: Any, source: str) -> None:
        """A string field; a number is taken as its text, anything else is a problem."""
        if value is None or value == "":
            return
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problems.append(Problem("record_invalid", f"{source} must be a string", name))
            return
        self.params[name] = value if isinstance(value, str) else json.dumps(value)

    def names(self, name: Any = None, first: Any = None, last: Any = None) -> None:
        """name, first_name, last_name: whichever the source has, and the others derived."""
        self.string("name", name, "name")
        self.string("first_name", first, "first_name")
        self.string("last_name", last, "last_name")
        have_first, have_last = "first_name" in self.params, "last_name" in self.params
        if "name" not in self.params and (have_first or have_last):
            joined = " ".join(str(self.params[k]) for k in ("first_name", "last_name") if k in self.params)
            if len(joined) <= 256:
                self.params["name"] = joined
        elif "name" in self.params and not have_first and not have_last:
            first_word, _, rest = str(self.params["name"]).strip().partition(" ")
            rest = rest.strip()
            if first_word and len(first_word) <= 128 and len(rest) <= 128:
                self.params["first_name"] = first_word
                if rest:
                    self.params["last_name"] = rest

    # -- identity and provenance -----------------------------------------------------------------
    def identity(self, source_id: Any, own_external_id: Any = None) -> None:
        """The source's id: `external_id` unless the record has an external id of its own."""
        if source_id is None or source_id == "" or isinstance(source_id, dict | list | bool):
            self.problems.append(Problem("id_missing", "the record has no id, so a re-run could not "
                                         "recognize it: give every record its source id", "id"))
            return
        self.source_id = str(source_id)
        if own_external_id not in (None, ""):
            self.string("external_id", own_external_id, "external id")
            self.provenance["source_id"] = self.source_id
        else:
            self.params["external_id"] = self.source_id

    def created(self, value: Any, source: str) -> None:
        if value is None or value == "":
            return
        seconds = unix_seconds(value)
        if seconds is None:
            self.problems.append(Problem("record_invalid", f"{source} is not a timestamp (ISO 8601 or Unix "
                                         f"seconds): {str(value)[:60]!r}", "created"))
            return
        self.provenance["source_created"] = str(seconds)

    # -- metadata --------------------------------------------------------------------------------
    def metadata(self, raw: Any, source: str = "metadata") -> None:
        if raw is None or raw == "":
            return
        if not isinstance(raw, dict):
            self.problems.append(Problem("metadata_invalid", f"{source} must be an object", "metadata"))
            return
        for key, value in raw.items():
            text = meta_text(value)
            if text is not None:
                self.source_metadata[str(key)] = text

    def data(self, key: str, value: Any, source: str) -> None:
        """A source field the service has no field for, kept as a metadata key."""
        text = meta_text(value)
        if text is None or text == "":
            return
        held = self.source_metadata.get(key)
        if held is not None and held != text:
            self.problems.append(Problem("metadata_invalid", f"metadata[{key}] in the source ({held[:40]!r}) "
                                         f"differs from {source} ({text[:40]!r}), which the import keeps "
                                         f"under that key", f"metadata[{key}]"))
            return
        self.data_metadata[key] = text

    def kept(self, name: str, value: Any, meta_key: str) -> None:
        """A §10 field: native when the service has it, else kept in metadata (JSON text if not a string)."""
        if value is None or value in ("", []):
            return
        if supports(name):
            self.params[name] = value
        else:
            self.data(meta_key, ",".join(value) if name == "preferred_locales" and isinstance(value, list)
                      else value, name)

    # -- wallets ---------------------------------------------------------------------------------
    def wallet(self, network: str, address: Any, chain_id: Any = None, **authorization: Any) -> None:
        if not isinstance(address, str) or not address:
            self.problems.append(Problem("wallet_invalid", f"a {network} wallet has no address", "wallets"))
            return
        wallet: dict[str, Any] = {"network": network, "address": address.strip()}
        if network == "evm":
            wallet["chain_id"] = chain_id
        auth = {k: v for k, v in authorization.items() if v not in (None, "")}
        if auth.get("has_active_authorization") is False:
            auth.pop("has_active_authorization")
        if auth:
            wallet["authorization"] = auth
        self.wallets.append(wallet)

    # -- result ----------------------------------------------------------------------------------
    def build(self) -> Mapped:
        metadata = {**self.source_metadata, **self.data_metadata}
        for key in PROVENANCE_KEYS:
            if key in self.provenance and key not in metadata and len(metadata) < METADATA_MAX_KEYS:
                metadata[key] = self.provenance[key]
        if metadata:
            self.params["metadata"] = metadata
        return Mapped(self.source_id, self.params, self.wallets, self.problems, self.skip)


def meta_text(value: Any) -> str | None:
    """A metadata value as text: strings as they are, other JSON as its text, null as absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def custom_value(value: Any) -> Any:
    """A custom field's value: string, number, boolean or null as they are; objects and arrays as JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_TAG_INVALID = re.compile(r"[^A-Za-z0-9_:.\-]+")


def normalize_tags(tags: Any) -> Any:
    """Tags as the service takes them (1–64 of `A-Za-z0-9_:.-`): other characters become '-'
    ('high value' → 'high-value'), repeats are dropped. Not a list: returned as is (validation says why)."""
    if not isinstance(tags, list):
        return tags
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            return tags
        clean = _TAG_INVALID.sub("-", tag.strip()).strip("-")[:64]
        if clean and clean not in out:
            out.append(clean)
    return out


def unix_seconds(value: Any) -> int | None:
    """Unix seconds from Unix seconds (int, or a string of digits) or an ISO 8601 timestamp (a naive
    one is taken as UTC); None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
