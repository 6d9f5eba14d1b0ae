"""Query parameters of list endpoints (api.md §5), decoded from Stripe's bracket notation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customers_core.models.customer import Sentiment, Status

MAX_OFFSET = 10_000
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


def listify(value: Any) -> Any:
    """`include=total_count` (no brackets) means a one-item list."""
    return [value] if isinstance(value, str) else value


EVENT_ID_PATTERN = (r"^(evt_[0-7][0-9A-HJKMNP-TV-Z]{25}|"
                    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


class ListEventsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)
    starting_after: str | None = Field(default=None, pattern=EVENT_ID_PATTERN)
    ending_before: str | None = Field(default=None, pattern=EVENT_ID_PATTERN)
    type: Literal["customer.created", "customer.updated", "customer.deleted"] | None = None
    created: CreatedRange | None = None
    expand: list[str] | None = None

    _created = field_validator("created", mode="before")(exact_second)
    _expand = field_validator("expand", mode="before")(listify)


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
    include: list[Literal["total_count"]] | None = None
    expand: list[str] | None = None

    _created = field_validator("created", mode="before")(exact_second)
    _listify = field_validator("include", "expand", mode="before")(listify)
