"""The ``tokens.options`` table of the built-in token counter, validated.

Every key is documented in docs/tokens.md. Unknown keys are an error (a typo must not silently fall
back to a default).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from litellm_accel.errors import ConfigError

#: litellm release whose ``token_counter`` this implementation mirrors (the parity suite ran on it).
TESTED_LITELLM_VERSION = "1.110.2"


class TokenOptions(BaseModel):
    """Options of the ``builtin`` token counter (``[tokens.options]`` in litellm-accel.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memo_enabled: bool = Field(True, description="Remember per-message and per-string counts.")
    memo_max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=0,
        description="Upper bound of the memo's estimated memory (keys it holds + bookkeeping), in bytes.",
    )
    memo_max_entry_bytes: int = Field(
        64 * 1024,
        ge=0,
        description="Messages or strings larger than this (estimated bytes) are counted but not remembered.",
    )
    short_string_max_chars: int = Field(
        16,
        ge=0,
        description="Strings up to this length (roles, names, short prompts) are remembered on their own.",
    )
    plan_cache_size: int = Field(
        512, ge=1, description="How many per-model counting plans are kept (least recently built dropped)."
    )
    async_offload_threshold_chars: int = Field(
        32_768,
        ge=0,
        description="acount() counts inputs with at least this many characters of text in a worker thread.",
    )
    async_offload_threshold_tokens: int | None = Field(
        None,
        ge=0,
        description="If set, acount() also offloads inputs whose estimated tokens (characters / 4) reach it.",
    )
    allow_untested_litellm: bool = Field(
        False,
        description=(
            f"Start on a litellm other than {TESTED_LITELLM_VERSION} (the release the parity suite proved). "
            "Off by default: the feature is skipped and litellm counts as stock."
        ),
    )

    def offloads(self, chars: int) -> bool:
        """Whether an input holding ``chars`` characters of text should be counted off the event loop."""
        if chars >= self.async_offload_threshold_chars:
            return True
        tokens = self.async_offload_threshold_tokens
        return tokens is not None and chars // 4 >= tokens


def parse_options(raw: dict[str, Any] | None) -> TokenOptions:
    """Validate ``tokens.options``; raises :class:`~litellm_accel.errors.ConfigError` naming each bad key
    and what is allowed."""
    try:
        return TokenOptions(**(raw or {}))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"])
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(sorted(TokenOptions.model_fields))
                problems.append(f"unknown option tokens.options.{key} (valid options: {allowed})")
            else:
                problems.append(f"invalid option tokens.options.{key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
