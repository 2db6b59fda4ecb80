"""The ``tokens.options`` table understood by the ``memo`` implementation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from litellm_accel.errors import ConfigError


class MemoOptions(BaseModel):
    """Options of the ``memo`` token counter.

    ``max_entries``: how many distinct calls the LRU memo keeps (the least recently used is evicted).
    ``models``: when set, only calls whose ``model`` starts with one of these prefixes are memoised;
    every other call is handed to stock litellm unchanged.
    """

    model_config = ConfigDict(extra="forbid")

    max_entries: int = Field(4096, ge=1, le=10_000_000, description="Size of the LRU memo.")
    models: list[str] | None = Field(None, description="Model-name prefixes to memoise (unset: every model).")


def parse_options(raw: dict[str, Any]) -> MemoOptions:
    """Validate ``tokens.options``; one ``ConfigError`` naming every bad key (``install()`` then raises
    it and attaches nothing, instead of attaching a misconfigured counter)."""
    try:
        return MemoOptions.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(["tokens", "options", *(str(part) for part in err["loc"])])
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown setting {key!r} (valid: max_entries, models)")
            else:
                problems.append(f"invalid setting {key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
