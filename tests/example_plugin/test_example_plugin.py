"""The example third-party plugin, installed from its wheel, runs through the host like a built-in:
discovered by entry point, selected by config file and by env var, served through flags, shadow mode,
fallback on error, error budget and metrics, reported by its health hook, and removed by uninstall()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import litellm_accel
from litellm_accel.metrics import REGISTRY
from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings
from litellm_accel.testing.token_contract import stock_token_counter

pytestmark = pytest.mark.usefixtures("example_installed")

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count these words, please."}]


def stock_count(**kwargs: Any) -> int:
    return stock_token_counter()(**kwargs)


def write_config(text: str) -> Path:
    path = Path.cwd() / "litellm-accel.toml"  # the autouse fixture runs each test in a fresh directory
    path.write_text(text)
    return path


def test_discovered_through_its_entry_point() -> None:
    manager = PluginManager(AccelSettings())
    info = {p.name: p for p in manager.plugins()}["memo_tokens"]
    assert (info.distribution, info.version, info.status) == ("accel-memo-tokens", "0.1.0", "active")
    assert info.features == {"tokens": ["memo"]}
    assert manager.select("tokens", "memo").cls.__module__ == "accel_memo_tokens.counter"


def test_listed_by_the_cli(example_installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(example_installed), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-m", "litellm_accel.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["memo_tokens"]["status"] == "active"
    assert plugins["memo_tokens"]["features"] == {"tokens": ["memo"]}


def test_selected_by_config_file() -> None:
    write_config('[tokens]\nimplementation = "memo"\n\n[tokens.options]\nmax_entries = 8\n')
    import litellm

    expected = stock_count(model="gpt-4o", messages=CHAT)
    report = litellm_accel.install()
    assert (report.features["tokens"].implementation, report.features["tokens"].distribution) == (
        "memo",
        "accel-memo-tokens",
    )
    counter = litellm_accel.get_implementation("tokens")
    assert type(counter).__name__ == "MemoTokenCounter" and counter.options.max_entries == 8
    assert litellm.token_counter(model="gpt-4o", messages=CHAT) == expected
    assert litellm.token_counter(model="gpt-4o", messages=CHAT) == expected
    metrics = REGISTRY.get("tokens")
    assert (metrics.accelerated, metrics.counter_value("memo_misses"), metrics.counter_value("memo_hits")) == (2, 1, 1)


def test_selected_by_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__OPTIONS", '{"models": ["gpt-"]}')
    import litellm

    report = litellm_accel.install()
    assert report.features["tokens"].implementation == "memo"
    assert litellm_accel.get_implementation("tokens").options.models == ["gpt-"]
    claude = [{"role": "user", "content": "Outside the memoised family."}]
    assert litellm.token_counter(model="claude-3-5-sonnet-20240620", messages=claude) == stock_count(
        model="claude-3-5-sonnet-20240620", messages=claude
    )
    assert litellm.token_counter(model="gpt-4o", messages=CHAT) == stock_count(model="gpt-4o", messages=CHAT)
    metrics = REGISTRY.get("tokens")
    assert (metrics.delegated, metrics.accelerated) == (1, 1)


def test_env_var_overrides_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('[tokens]\nimplementation = "no-such-counter"\n')
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    assert litellm_accel.install().features["tokens"].implementation == "memo"


def test_unknown_name_lists_the_example() -> None:
    write_config('[tokens]\nimplementation = "mmeo"\n')
    with pytest.raises(litellm_accel.ConfigError, match=r"available: .*memo"):
        litellm_accel.install()


def test_shadow_mode_answers_with_stock_and_records_no_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__FLAG", "shadow")
    import litellm

    calls = [
        {"model": "gpt-4o", "messages": CHAT},
        {"model": "gpt-3.5-turbo", "messages": CHAT},
        {"model": "gpt-4o", "text": "plain text"},
        {"model": "gpt-4o", "messages": CHAT},  # a memo hit
    ]
    expected = [stock_count(**call) for call in calls]
    litellm_accel.install()
    assert [litellm.token_counter(**call) for call in calls] == expected
    metrics = REGISTRY.get("tokens")
    assert (metrics.shadow_runs, metrics.shadow_mismatches, metrics.errors) == (4, 0, 0)
    assert metrics.counter_value("memo_hits") == 1, "the implementation did run next to stock"
    assert metrics.stock_latency.count == 4 and metrics.latency.count == 4


class BrokenMemo(dict):
    """Stands in for the memo's storage to induce an implementation fault."""

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("memo storage corrupted")


def test_induced_fault_falls_back_to_stock_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__ERROR_BUDGET__MAX_ERRORS", "3")
    import litellm

    expected = stock_count(model="gpt-4o", messages=CHAT)
    litellm_accel.install()
    counter = litellm_accel.get_implementation("tokens")
    counter._entries = BrokenMemo()
    answers = [litellm.token_counter(model="gpt-4o", messages=CHAT) for _ in range(5)]
    assert answers == [expected] * 5, "every caller still got stock's count"
    metrics = REGISTRY.get("tokens")
    assert (metrics.errors, metrics.fallbacks, metrics.breaker_trips) == (3, 3, 1)
    assert metrics.stock == 2, "after the budget tripped, stock served without calling the implementation"
    assert "RuntimeError: memo storage corrupted" in metrics.last_error


def test_flag_off_serves_stock_without_the_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    import litellm

    litellm_accel.install()
    litellm_accel.set_flag("tokens", "off")
    assert litellm.token_counter(model="gpt-4o", messages=CHAT) == stock_count(model="gpt-4o", messages=CHAT)
    counter = litellm_accel.get_implementation("tokens")
    assert (counter.hits, counter.misses) == (0, 0)
    assert REGISTRY.get("tokens").stock == 1
    litellm_accel.set_flag("tokens", "on")
    litellm.token_counter(model="gpt-4o", messages=CHAT)
    assert counter.misses == 1


def test_health_hook_reports_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    import litellm

    litellm_accel.install()
    litellm.token_counter(model="gpt-4o", messages=CHAT)
    litellm.token_counter(model="gpt-4o", messages=CHAT)
    reports = [r for r in PluginManager(AccelSettings()).health() if r.component == "accel-memo-tokens"]
    assert len(reports) == 1 and reports[0].ok
    assert reports[0].detail == "1/4096 entries, hit ratio 50%"


def test_bad_option_is_a_config_error_with_the_key_named() -> None:
    write_config('[tokens]\nimplementation = "memo"\n\n[tokens.options]\nmax_entries = 0\n')
    import litellm

    from litellm_accel.errors import ConfigError

    original = litellm.token_counter
    with pytest.raises(ConfigError) as caught:
        litellm_accel.install()
    assert "tokens.options.max_entries = 0" in str(caught.value)
    assert litellm.token_counter is original, "a rejected configuration leaves litellm untouched"
    assert not litellm_accel.is_installed()


def test_uninstall_restores_litellm_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__IMPLEMENTATION", "memo")
    import litellm
    import litellm.utils
    from litellm.litellm_core_utils import token_counter as inner

    before = (litellm.token_counter, litellm.utils.token_counter, inner.token_counter)
    litellm_accel.install()
    assert inner.token_counter is not before[2]
    counter = litellm_accel.get_implementation("tokens")
    litellm_accel.uninstall()
    assert (litellm.token_counter, litellm.utils.token_counter, inner.token_counter) == before
    assert counter.closed and len(counter) == 0
