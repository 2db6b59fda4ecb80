"""Settings from env, TOML file and arguments, their precedence, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from litellm_accel.errors import ConfigError
from litellm_accel.provenance import explain
from litellm_accel.settings import FlagState, load_settings


def test_defaults() -> None:
    s = load_settings()
    assert s.tokens.enabled and s.tokens.flag is FlagState.ON and s.tokens.implementation is None
    assert s.redis_url is None and s.plugins.allow is None and s.plugins.block == []


def test_env_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__FLAG", "canary")
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__ROLLOUT_PERCENT", "12.5")
    monkeypatch.setenv("LITELLM_ACCEL_ROUTING__ERROR_BUDGET__MAX_ERRORS", "9")
    monkeypatch.setenv("LITELLM_ACCEL_PLUGINS__BLOCK", '["pool"]')
    monkeypatch.setenv("LITELLM_ACCEL_REDIS_URL", "redis://127.0.0.1:1/0")
    s = load_settings()
    assert s.tokens.flag is FlagState.CANARY and s.tokens.rollout_percent == 12.5
    assert s.routing.error_budget.max_errors == 9
    assert s.plugins.block == ["pool"]
    assert s.redis_url == "redis://127.0.0.1:1/0"


def write_config(path: Path) -> Path:
    path.write_text(
        'redis_url = "redis://127.0.0.1:2/0"\n'
        '[tokens]\nflag = "shadow"\nimplementation = "x"\n'
        "[tokens.options]\nmemo_max_bytes = 1024\n"
        "[pool]\nenabled = false\n"
    )
    return path


def test_default_config_file_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path / "litellm-accel.toml")
    s = load_settings()
    assert s.tokens.flag is FlagState.SHADOW and s.tokens.options == {"memo_max_bytes": 1024}
    assert s.pool.enabled is False and s.redis_url == "redis://127.0.0.1:2/0"


def test_config_file_from_env_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path / "elsewhere.toml")
    monkeypatch.setenv("LITELLM_ACCEL_CONFIG", str(path))
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__FLAG", "off")  # env beats file
    s = load_settings()
    assert s.tokens.flag is FlagState.OFF
    assert s.tokens.implementation == "x"  # file still supplies other keys
    assert load_settings(redis_url="redis://h:3").redis_url == "redis://h:3"  # arguments beat both
    sources = {row["key"]: row["source"] for row in explain(s)}
    assert sources["tokens.flag"] == "env LITELLM_ACCEL_TOKENS__FLAG"
    assert sources["tokens.implementation"] == f"file {path}"
    assert sources["routing.flag"] == "default"


def test_missing_config_file_is_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_CONFIG", "/nonexistent/accel.toml")
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings()


def test_malformed_toml_is_readable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.toml").write_text("[tokens\nflag=")
    monkeypatch.setenv("LITELLM_ACCEL_CONFIG", str(tmp_path / "bad.toml"))
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "value", "fragments"),
    [
        ("LITELLM_ACCEL_TOKENS__FLAG", "maybe", ["tokens.flag", "'maybe'", "'off', 'shadow', 'canary' or 'on'"]),
        ("LITELLM_ACCEL_POOL__ROLLOUT_PERCENT", "150", ["pool.rollout_percent", "100"]),
        ("LITELLM_ACCEL_REDIS_URL", "http://x", ["redis_url", "redis://"]),
        ("LITELLM_ACCEL_RATELIMIT__ERROR_BUDGET__MAX_ERRORS", "0", ["ratelimit.error_budget.max_errors", "1"]),
        ("LITELLM_ACCEL_TOKENS__ENABLED", "perhaps", ["tokens.enabled", "'perhaps'"]),
    ],
)
def test_invalid_values_name_key_value_and_allowed(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragments
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message
    assert env in message


def test_unknown_key_in_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "litellm-accel.toml").write_text("[tokens]\nflagg = 'on'\n")
    with pytest.raises(ConfigError, match=r"tokens\.flagg"):
        load_settings()
