"""install()/uninstall(): exact restoration, idempotence, selection, fallback, import cost."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import litellm_accel
from litellm_accel.errors import ConfigError
from litellm_accel.settings import AccelSettings

ONLY_TOKENS = {"routing": {"enabled": False}, "pool": {"enabled": False}, "ratelimit": {"enabled": False}}
MESSAGES = [{"role": "user", "content": "Hello there, how are you today?"}]


def sample_settings(**extra) -> AccelSettings:
    return AccelSettings(tokens={"implementation": "sample-counter", **extra}, **ONLY_TOKENS)


def snapshot() -> dict:
    """Identity of every attribute of the modules and classes an attachment may touch."""
    import litellm
    import litellm.utils
    from litellm.litellm_core_utils import token_counter as tc

    targets = {"litellm": litellm, "litellm.utils": litellm.utils, "token_counter": tc, "Router": litellm.Router}
    return {name: dict(vars(obj)) for name, obj in targets.items()}


#: State litellm itself changes when a Router is constructed (not touched by litellm-accel).
LITELLM_OWN_STATE = {
    "suppress_debug_info",
    "_async_client_cleanup_registered",
    "_model_cost_mutation_generation",
    "_model_cost_lowercase_map",  # a lookup cache litellm rebuilds lazily
}


def assert_restored(before: dict) -> None:
    """Every attribute that existed before is the identical object again. (litellm adds attributes
    lazily on first access, so attributes that appeared meanwhile are not compared.)"""
    after = snapshot()
    changed = [
        f"{name}.{key}"
        for name, attrs in before.items()
        for key, value in attrs.items()
        if key not in LITELLM_OWN_STATE and (key not in after[name] or after[name][key] is not value)
    ]
    assert changed == []


def test_import_does_not_import_litellm() -> None:
    code = "import sys, litellm_accel; print('litellm' in sys.modules, 'pluggy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_install_uninstall_round_trip_restores_identical_objects(sample_plugin: str) -> None:
    import litellm
    from litellm.litellm_core_utils import token_counter as tc

    before = snapshot()
    stock = tc.token_counter
    stock_count = stock(model="gpt-4o", messages=MESSAGES)
    report = litellm_accel.install(sample_settings())
    assert report.features["tokens"].status == "active", report.features["tokens"].reason
    assert tc.token_counter is not stock
    assert tc.token_counter(model="gpt-4o", messages=MESSAGES) == stock_count
    from accel_sample_plugin import SampleCounter

    assert SampleCounter.instances[-1].calls == 1
    assert litellm_accel.metrics()["tokens"]["accelerated"] == 1
    router = litellm.Router(model_list=[{"model_name": "m", "litellm_params": {"model": "gpt-4o", "api_key": "x"}}])
    assert isinstance(router, litellm.Router)
    litellm_accel.uninstall()
    assert tc.token_counter is stock
    assert_restored(before)
    assert SampleCounter.instances[-1].closed


def test_round_trip_with_every_builtin_feature_enabled() -> None:
    import litellm

    before = snapshot()
    cache_before = litellm.in_memory_llm_clients_cache
    report = litellm_accel.install(AccelSettings())
    assert set(report.features) == {"tokens", "routing", "pool", "ratelimit"}
    router = litellm.Router(model_list=[{"model_name": "m", "litellm_params": {"model": "gpt-4o", "api_key": "x"}}])
    assert isinstance(router, litellm.Router) and litellm.Router.__name__ == "Router"
    litellm_accel.uninstall()
    assert_restored(before)
    assert litellm.in_memory_llm_clients_cache is cache_before


def test_install_is_idempotent_and_uninstall_twice_is_harmless(sample_plugin: str) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    first = litellm_accel.install(sample_settings())
    patched = tc.token_counter
    assert litellm_accel.install(sample_settings()) is first
    assert tc.token_counter is patched
    litellm_accel.uninstall()
    litellm_accel.uninstall()
    assert not litellm_accel.is_installed()


def test_concurrent_installs_attach_once(sample_plugin: str) -> None:
    from accel_sample_plugin import SampleCounter

    settings = sample_settings()
    threads = [threading.Thread(target=litellm_accel.install, args=(settings,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(SampleCounter.instances) == 1


def test_accelerated_context_manager(sample_plugin: str) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    stock = tc.token_counter
    with litellm_accel.accelerated(sample_settings()) as report:
        assert report.features["tokens"].status == "active"
        assert tc.token_counter is not stock
    assert tc.token_counter is stock and not litellm_accel.is_installed()


def test_failing_implementation_never_breaks_the_call(sample_plugin: str) -> None:
    import litellm
    from accel_sample_plugin import SampleCounter
    from litellm.litellm_core_utils import token_counter as tc

    expected = tc.token_counter(model="gpt-4o", messages=MESSAGES)
    litellm_accel.install(sample_settings())
    SampleCounter.mode = "raise"
    assert litellm.litellm_core_utils.token_counter.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    m = litellm_accel.metrics()["tokens"]
    assert m["errors"] == 1 and m["fallbacks"] == 1


def test_shadow_flag_from_settings_records_mismatch(sample_plugin: str) -> None:
    from accel_sample_plugin import SampleCounter
    from litellm.litellm_core_utils import token_counter as tc

    expected = tc.token_counter(model="gpt-4o", messages=MESSAGES)
    litellm_accel.install(sample_settings(flag="shadow"))
    SampleCounter.mode = "wrong"
    assert tc.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert litellm_accel.metrics()["tokens"]["shadow_mismatches"] == 1


def test_runtime_flag_api(sample_plugin: str) -> None:
    from accel_sample_plugin import SampleCounter
    from litellm.litellm_core_utils import token_counter as tc

    litellm_accel.install(sample_settings())
    litellm_accel.set_flag("tokens", "off")
    tc.token_counter(model="gpt-4o", messages=MESSAGES)
    assert SampleCounter.instances[-1].calls == 0
    litellm_accel.set_flag("tokens", "on")
    tc.token_counter(model="gpt-4o", messages=MESSAGES)
    assert SampleCounter.instances[-1].calls == 1
    with pytest.raises(ConfigError, match="valid features"):
        litellm_accel.set_flag("nonsense", "on")


def test_unknown_implementation_attaches_nothing(sample_plugin: str) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    stock = tc.token_counter
    with pytest.raises(ConfigError, match="sample-counter"):
        litellm_accel.install(AccelSettings(tokens={"implementation": "nope"}, **ONLY_TOKENS))
    assert tc.token_counter is stock and not litellm_accel.is_installed()


def test_disabled_feature_is_reported_and_untouched(sample_plugin: str) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    stock = tc.token_counter
    report = litellm_accel.install(AccelSettings(tokens={"enabled": False}, **ONLY_TOKENS))
    assert report.features["tokens"].status == "disabled"
    assert tc.token_counter is stock


def test_changed_attachment_point_skips_feature(sample_plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    def token_counter(model="", text=None):  # a "newer litellm" with another signature
        return 0

    monkeypatch.setattr(tc, "token_counter", token_counter)
    report = litellm_accel.install(sample_settings())
    assert report.features["tokens"].status == "skipped"
    assert "signature changed" in report.features["tokens"].reason
    assert tc.token_counter is token_counter


def test_prometheus_text_has_feature_counters(sample_plugin: str) -> None:
    from litellm.litellm_core_utils import token_counter as tc

    litellm_accel.install(sample_settings())
    tc.token_counter(model="gpt-4o", messages=MESSAGES)
    text = litellm_accel.prometheus_text()
    assert 'litellm_accel_accelerated_total{feature="tokens",implementation="sample-counter"} 1.0' in text
    from litellm_accel.metrics import REGISTRY
    from litellm_accel.prometheus import render_plain

    assert 'litellm_accel_calls_total{feature="tokens",implementation="sample-counter"} 1.0' in render_plain(REGISTRY)
