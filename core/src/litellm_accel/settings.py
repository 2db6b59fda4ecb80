"""Validated configuration: defaults < TOML config file < environment < explicit arguments.

Environment variables use the prefix ``LITELLM_ACCEL_`` and ``__`` between nested keys, for example
``LITELLM_ACCEL_TOKENS__FLAG=shadow`` or ``LITELLM_ACCEL_PLUGINS__BLOCK='["pool"]'``. The config file
is TOML, read from ``$LITELLM_ACCEL_CONFIG`` or else ``./litellm-accel.toml`` when it exists. Every key
is documented in docs/configuration.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from litellm_accel.errors import ConfigError

ENV_PREFIX = "LITELLM_ACCEL_"
CONFIG_ENV_VAR = "LITELLM_ACCEL_CONFIG"
DEFAULT_CONFIG_FILE = "litellm-accel.toml"


class FlagState(str, Enum):
    """How a feature's calls are served. See docs/feature-flags.md."""

    OFF = "off"  #: always stock litellm
    SHADOW = "shadow"  #: run both, answer with stock's result, record mismatches and both timings
    CANARY = "canary"  #: accelerated for ``rollout_percent`` of requests, stock for the rest
    ON = "on"  #: always accelerated (with fallback to stock on error)


class ErrorBudget(BaseModel):
    """After ``max_errors`` errors within ``window_seconds`` the feature trips to stock litellm for
    ``cooldown_seconds``; then one trial call is let through (half-open) and success closes it again."""

    model_config = ConfigDict(extra="forbid")

    max_errors: int = Field(5, ge=1, description="Errors within the window that trip the feature.")
    window_seconds: float = Field(60.0, gt=0, description="Length of the error-counting window.")
    cooldown_seconds: float = Field(30.0, gt=0, description="How long a tripped feature stays on stock.")


class FeatureSettings(BaseModel):
    """Settings shared by every feature."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Attach this feature on install().")
    implementation: str | None = Field(
        None, description="Implementation name; default: the built-in plugin's, when installed."
    )
    flag: FlagState = Field(FlagState.ON, description="off, shadow, canary or on.")
    rollout_percent: float = Field(
        100.0, ge=0, le=100, description="Share of requests accelerated when flag is canary."
    )
    error_budget: ErrorBudget = Field(default_factory=ErrorBudget)  # type: ignore[arg-type]
    options: dict[str, Any] = Field(
        default_factory=dict, description="Implementation-specific options (see each plugin's docs)."
    )

    @field_validator("implementation")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a non-empty implementation name or unset")
        return value


class PluginSelection(BaseModel):
    """Which installed plugins may load. Names are entry-point names or distribution names."""

    model_config = ConfigDict(extra="forbid")

    allow: list[str] | None = Field(None, description="Only these plugins load (unset: all).")
    block: list[str] = Field(default_factory=list, description="These plugins are never imported.")


class AccelSettings(BaseSettings):
    """The whole litellm-accel configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    tokens: FeatureSettings = Field(default_factory=FeatureSettings)  # type: ignore[arg-type]
    routing: FeatureSettings = Field(default_factory=FeatureSettings)  # type: ignore[arg-type]
    pool: FeatureSettings = Field(default_factory=FeatureSettings)  # type: ignore[arg-type]
    ratelimit: FeatureSettings = Field(default_factory=FeatureSettings)  # type: ignore[arg-type]
    redis_url: str | None = Field(
        None, description="Redis URL for plugins that share state across instances; unset: in memory."
    )
    plugins: PluginSelection = Field(default_factory=PluginSelection)  # type: ignore[arg-type]

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def feature(self, name: str) -> FeatureSettings:
        """Settings of one feature by name (``tokens``, ``routing``, ``pool``, ``ratelimit``)."""
        value = getattr(self, name, None)
        if not isinstance(value, FeatureSettings):
            raise ConfigError(f"unknown feature {name!r}; valid features: tokens, routing, pool, ratelimit")
        return value


def config_file_path() -> Path | None:
    """The config file in effect: ``$LITELLM_ACCEL_CONFIG`` (must exist) or ``./litellm-accel.toml``."""
    explicit = os.environ.get(CONFIG_ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV_VAR}={explicit!r}: no such config file")
        return path
    default = Path.cwd() / DEFAULT_CONFIG_FILE
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> AccelSettings:
    """Build :class:`AccelSettings` from all sources, turning validation errors into one readable
    :class:`~litellm_accel.errors.ConfigError` that names each bad key, its value and what is allowed."""
    try:
        return AccelSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML file
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot read config file {config_file_path()}: {exc}") from None


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``invalid setting tokens.flag = 'maybe': <what is allowed> (env var ...)``."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        env_var = ENV_PREFIX + "__".join(str(part) for part in err["loc"]).upper()
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r} (env var {env_var}); see docs/configuration.md")
            continue
        lines.append(f"invalid setting {key} = {value!r}: {err['msg']} (env var {env_var})")
    return "; ".join(lines)
