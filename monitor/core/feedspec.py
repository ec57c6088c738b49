"""The feeds a user declares in the feeds file, validated.

Pure: pydantic models over the data given, nothing else.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["FeedSpec", "FeedsFile"]


class FeedSpec(BaseModel):
    """One feed as the user declared it in the feeds file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    name: str = ""
    interval: int | None = Field(None, ge=1, description="seconds between polls")
    language: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    updates: bool = Field(False, description="alert again when an entry's text changes materially")
    fulltext: bool = Field(False, description="fetch each new article's page and extract its main text")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        v = v.strip()
        if not re.match(r"^https?://[^/\s]+", v, re.I):
            raise ValueError("feed URL must start with http:// or https://")
        return v


class FeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feeds: list[FeedSpec] = Field(default_factory=list)
