"""Query parameters of list endpoints (api.md §5), decoded from Stripe's bracket notation."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from customers_core.errors import InvalidRequest
from customers_core.models.fields import Sentiment, Status, listify

MAX_OFFSET = 10_000
MAX_METADATA_FILTERS = 3
MAX_TIMESTAMP = 9_999_999_999
# A customer id (prefix + ULID, whose first character is at most 7) or the same 128 bits as a UUID.
CUSTOMER_ID_PATTERN = (r"^(cus_[0-7][0-9A-HJKMNP-TV-Z]{25}|"
                       r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


class CreatedRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gt: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP)
    gte: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP)
    lt: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP)
    lte: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP)

    def bounds(self) -> tuple[int | None, int | None]:
        """Inclusive [low, high] in whole seconds."""
        lows = [v for v in (self.gte, None if self.gt is None else self.gt + 1) if v is not None]
        highs = [v for v in (self.lte, None if self.lt is None else self.lt - 1) if v is not None]
        return (max(lows) if lows else None), (min(highs) if highs else None)


def exact_second(value: Any) -> Any:
    """`created=<ts>` means exactly that second."""
    return {"gte": value, "lte": value} if isinstance(value, str | int) else value


EVENT_ID_PATTERN = (r"^(evt_[0-7][0-9A-HJKMNP-TV-Z]{25}|"
                    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


# An event type (customer.created), or for `type` a group ending in one `*` (customer.*, or * alone).
EVENT_TYPE_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"
EVENT_TYPE_FILTER_PATTERN = r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*\.\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$"
MAX_EVENT_TYPES = 20


class ListEventsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)
    starting_after: str | None = Field(default=None, pattern=EVENT_ID_PATTERN)
    ending_before: str | None = Field(default=None, pattern=EVENT_ID_PATTERN)
    type: Annotated[str, Field(max_length=100, json_schema_extra={"pattern": EVENT_TYPE_FILTER_PATTERN})] | None = \
        Field(default=None, description="An event type, or a group with one trailing * (customer.*)")
    types: Annotated[list[Annotated[str, Field(max_length=100, json_schema_extra={"pattern": EVENT_TYPE_PATTERN})]],
                     Field(min_length=1, max_length=MAX_EVENT_TYPES)] | None = Field(
        default=None, description="Up to 20 exact event types (not with type)")
    delivery_success: bool | None = Field(
        default=None, description="true: events whose every delivery succeeded; false: events with at least one "
                                  "failed or dead-lettered delivery")
    created: CreatedRange | None = None
    expand: list[str] | None = None

    _created = field_validator("created", mode="before")(exact_second)
    _expand = field_validator("expand", "types", mode="before")(listify)

    @field_validator("delivery_success", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> Any:
        """Stripe's true or false, not pydantic's looser spellings (yes, 1, on)."""
        if isinstance(value, str):
            if value not in ("true", "false"):
                raise ValueError("must be true or false")
            return value == "true"
        return value

    @field_validator("type", mode="after")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(EVENT_TYPE_FILTER_PATTERN, value):
            raise ValueError("must be an event type such as customer.created, or a group such as customer.*")
        return value

    @field_validator("types", mode="after")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        for event_type in value or []:
            if not re.fullmatch(EVENT_TYPE_PATTERN, event_type):
                raise ValueError("each item must be an event type such as customer.created (no wildcard)")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ListEventsParams:
        if self.type is not None and self.types is not None:
            raise InvalidRequest("Send either type or types, not both.", param="types")
        return self


class ListCustomersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)
    starting_after: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    ending_before: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    page: int | None = Field(default=None, ge=1)
    page_size: int = Field(default=20, ge=1, le=100)
    email: str | None = Field(default=None, max_length=512)
    external_id: str | None = Field(default=None, max_length=255)
    status: Status | None = None
    sentiment: Sentiment | None = None
    tag: str | None = Field(default=None, max_length=64)
    wallet: str | None = Field(default=None, max_length=64, description="A wallet address: its owner")
    search: str | None = Field(default=None, min_length=2, max_length=200,
                               description="Word-prefix match on name and email (each word ≥ 2 characters)")
    created: CreatedRange | None = None
    metadata: Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=500)]],
                        Field(min_length=1, max_length=MAX_METADATA_FILTERS)] | None = Field(
        default=None, description="metadata[key]=value: customers whose metadata has exactly this value (case "
                                  "matters); up to 3 such filters, all must hold")
    include: list[Literal["total_count"]] | None = None
    expand: list[str] | None = None

    _created = field_validator("created", mode="before")(exact_second)
    _listify = field_validator("include", "expand", mode="before")(listify)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_keys(cls, value: Any) -> Any:
        """Keys as metadata keys are (1–40 characters, no brackets); the error names `metadata`."""
        for key in value if isinstance(value, dict) else ():
            if not 1 <= len(key) <= 40 or "[" in key or "]" in key:
                raise ValueError(f"key '{key[:60]}' must be 1 to 40 characters without brackets")
        return value
