"""Plugin discovery through real entry points, allow/block lists, failures and selection."""

from __future__ import annotations

import sys

import pytest

from litellm_accel.errors import PluginConflictError, UnknownImplementationError
from litellm_accel.plugins import ACTIVE, BLOCKED, FAILED, NOT_ALLOWED, PluginManager, api_compatible
from litellm_accel.settings import AccelSettings

BUILTIN = {"tokens", "routing", "pool", "ratelimit"}


def infos_by_name(manager: PluginManager) -> dict:
    return {i.name: i for i in manager.plugins()}


def test_builtin_plugins_are_discovered_from_entry_points() -> None:
    infos = infos_by_name(PluginManager(AccelSettings()))
    assert set(infos) >= BUILTIN
    for name in BUILTIN:
        assert infos[name].distribution == f"litellm-accel-{name}"
        assert infos[name].status == ACTIVE, infos[name].reason


def test_sample_plugin_found_and_selected_by_config(sample_plugin: str) -> None:
    settings = AccelSettings(tokens={"implementation": "sample-counter"})
    manager = PluginManager(settings)
    info = infos_by_name(manager)[sample_plugin]
    assert info.status == ACTIVE
    assert info.distribution == "accel-sample"
    assert info.features == {"tokens": ["sample-counter"], "routing": ["sample-routing"]}
    chosen = manager.select("tokens", settings.tokens.implementation)
    assert chosen is not None and chosen.name == "sample-counter" and chosen.distribution == "accel-sample"


def test_blocked_plugin_is_never_imported(sample_plugin: str) -> None:
    del sys.modules["accel_sample_plugin"]
    manager = PluginManager(AccelSettings(plugins={"block": ["accel-sample"]}))
    info = infos_by_name(manager)[sample_plugin]
    assert info.status == BLOCKED
    assert "accel_sample_plugin" not in sys.modules
    assert "sample-counter" not in manager.implementations("tokens")


def test_allow_list_keeps_everything_else_out(sample_plugin: str) -> None:
    del sys.modules["accel_sample_plugin"]
    manager = PluginManager(AccelSettings(plugins={"allow": ["tokens"]}))
    infos = infos_by_name(manager)
    assert infos["tokens"].status == ACTIVE
    assert infos[sample_plugin].status == NOT_ALLOWED
    assert infos["routing"].status == NOT_ALLOWED
    assert "accel_sample_plugin" not in sys.modules


def test_broken_import_is_skipped_and_reported(install_dist) -> None:
    install_dist(
        "accel-broken",
        entry_points={"broken": "accel_broken_plugin"},
        modules={"accel_broken_plugin": "raise ImportError('needs a missing library')\n"},
    )
    manager = PluginManager(AccelSettings())
    info = infos_by_name(manager)["broken"]
    assert info.status == FAILED
    assert "needs a missing library" in info.reason
    # the others still work
    assert infos_by_name(manager)["tokens"].status == ACTIVE


def test_incompatible_api_version_is_skipped_with_versions_named(install_dist) -> None:
    source = "from litellm_accel import hookimpl\nLITELLM_ACCEL_API_VERSION = '2.0'\n"
    install_dist(
        "accel-future", entry_points={"future": "accel_future_plugin"}, modules={"accel_future_plugin": source}
    )
    info = infos_by_name(PluginManager(AccelSettings()))["future"]
    assert info.status == FAILED
    assert "2.0" in info.reason and "1.0" in info.reason


def test_missing_api_version_is_skipped(install_dist) -> None:
    install_dist("accel-noversion", entry_points={"nover": "accel_nover_plugin"}, modules={"accel_nover_plugin": "\n"})
    info = infos_by_name(PluginManager(AccelSettings()))["nover"]
    assert info.status == FAILED and "LITELLM_ACCEL_API_VERSION" in info.reason


def test_malformed_registration_is_skipped(install_dist) -> None:
    source = (
        "from litellm_accel import hookimpl\nLITELLM_ACCEL_API_VERSION = '1.0'\n"
        "class NoName: pass\n"
        "@hookimpl\ndef litellm_accel_token_counters():\n    return [NoName]\n"
    )
    install_dist(
        "accel-noname", entry_points={"noname": "accel_noname_plugin"}, modules={"accel_noname_plugin": source}
    )
    manager = PluginManager(AccelSettings())
    info = infos_by_name(manager)["noname"]
    assert info.status == FAILED and "name" in info.reason
    assert "NoName" not in str(manager.implementations("tokens"))


def test_duplicate_names_are_a_clear_error_naming_both_distributions(
    sample_plugin: str, install_dist, site_dir
) -> None:
    source = (site_dir / "accel_sample_plugin.py").read_text()
    (site_dir / "accel_copy_plugin.py").write_text(source)
    install_dist("accel-copy", entry_points={"copy": "accel_copy_plugin"})
    with pytest.raises(PluginConflictError) as err:
        PluginManager(AccelSettings()).implementations("tokens")
    assert "accel-sample" in str(err.value) and "accel-copy" in str(err.value)
    assert "sample-counter" in str(err.value)


def test_unknown_implementation_lists_available(sample_plugin: str) -> None:
    manager = PluginManager(AccelSettings())
    with pytest.raises(UnknownImplementationError) as err:
        manager.select("tokens", "nope")
    assert "nope" in str(err.value) and "sample-counter" in str(err.value)


def test_default_selection_prefers_builtin_distribution(sample_plugin: str) -> None:
    manager = PluginManager(AccelSettings())
    available = manager.implementations("tokens")
    chosen = manager.select("tokens")
    builtin = [e for e in available.values() if e.distribution == "litellm-accel-tokens"]
    if builtin:
        assert chosen == builtin[0]
    else:  # only the sample plugin offers a token counter
        assert chosen is not None and chosen.name == "sample-counter"


def test_manager_without_entry_points_sees_only_registered_plugins(site_dir) -> None:
    from tests.fixtures import accel_sample_plugin

    manager = PluginManager(AccelSettings(), load_entry_points=False)
    assert manager.plugins() == []
    manager.register(accel_sample_plugin, "sample-registered")
    assert set(manager.implementations("tokens")) == {"sample-counter"}
    manager.unregister("sample-registered")
    assert manager.implementations("tokens") == {}


def test_entry_points_are_loaded_once(sample_plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    calls = []
    real = metadata.entry_points

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", counting)
    manager = PluginManager(AccelSettings())
    assert calls == []  # lazy: nothing loaded at construction
    manager.implementations("tokens")
    manager.plugins()
    manager.select("tokens")
    assert len(calls) == 1


def test_health_reports_are_collected(sample_plugin: str) -> None:
    reports = PluginManager(AccelSettings()).health()
    assert any(r.component == "sample" and r.ok for r in reports)


@pytest.mark.parametrize(
    ("required", "compatible"), [("1.0", True), ("1", True), ("1.1", False), ("2.0", False), ("0.9", False)]
)
def test_api_compatibility_rule(required: str, compatible: bool) -> None:
    assert api_compatible(required, "1.0") is compatible
