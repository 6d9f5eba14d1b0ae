"""Search parameters (api.md §6)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customers_core.models.fields import listify
from customers_core.models.responses import CustomerObject


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=1000, description="Stripe's search query language (api.md §6)")
    limit: int = Field(default=10, ge=1, le=100)
    page: str | None = Field(default=None, max_length=200, description="next_page of the previous result")
    expand: list[str] | None = Field(
        default=None, description="total_count adds the number of matches; other entries expand nothing and are "
                                  "ignored, as on list")

    _expand = field_validator("expand", mode="before")(listify)


class SearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    next_page: str | None
    data: list[CustomerObject]
    total_count: int | None = None
