"""Configuration is validated when it is loaded (clear errors naming the bad key), the plugin is found
through its entry point and installed, and ``doctor`` gets its health lines."""

from __future__ import annotations

import pytest

import litellm_accel
from litellm_accel.errors import ConfigError
from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings
from litellm_accel_ratelimit import BuiltinRateLimiter, Scope, create_limiter, parse_options


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"scopes": {"team:acme": {"rpm": 0}}}, "ratelimit.options.scopes.team:acme.rpm"),
        ({"scopes": {"team:acme": {"tpm": -5}}}, "ratelimit.options.scopes.team:acme.tpm"),
        ({"scopes": {"team:acme": {"max_parallel": 0}}}, "ratelimit.options.scopes.team:acme.max_parallel"),
        ({"scopes": {"acme": {"rpm": 1}}}, "malformed scope key 'acme'"),
        ({"scopes": {"planet:earth": {"rpm": 1}}}, "unknown scope kind 'planet'"),
        ({"scopes": {"team:{x}": {"rpm": 1}}}, "braces"),
        ({"scopes": {"team:": {"rpm": 1}}}, "non-empty"),
        ({"defaults": {"galaxy": {"rpm": 1}}}, "unknown scope kind 'galaxy'"),
        ({"algorithm": "leaky"}, "ratelimit.options.algorithm"),
        ({"failure_policy": "maybe"}, "ratelimit.options.failure_policy"),
        ({"redis_timeout_ms": 0}, "ratelimit.options.redis_timeout_ms"),
        ({"window_seconds": -1}, "ratelimit.options.window_seconds"),
        ({"rpm": 10}, "unknown setting 'ratelimit.options.rpm'"),
        ({"scopes": {"team:a": {"rpn": 1}}}, "unknown setting 'ratelimit.options.scopes.team:a.rpn'"),
        ({"local_fallback_share": 0.5}, "failure_policy = 'local'"),
    ],
)
def test_bad_options_are_rejected_naming_the_key(options: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options(options)
    assert named in str(caught.value)


def test_bad_options_keep_install_from_attaching_and_say_why() -> None:
    settings = AccelSettings(
        tokens={"enabled": False},
        routing={"enabled": False},
        pool={"enabled": False},
        ratelimit={"options": {"scopes": {"user:bob": {"rpm": -1}}}},
    )
    with pytest.raises(ConfigError) as caught:
        litellm_accel.install(settings)
    assert "ratelimit.options.scopes.user:bob.rpm" in str(caught.value)
    assert not litellm_accel.is_installed()


def test_redis_backend_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        create_limiter({"backend": "redis"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "user", "id": "u", "rpm": 0}, "rpm must be a positive integer"),
        ({"kind": "user", "id": "u", "tpm": 1.5}, "tpm must be a positive integer"),
        ({"kind": "user", "id": "u", "max_parallel": True}, "max_parallel must be a positive integer"),
        ({"kind": "org", "id": "u"}, "unknown scope kind 'org'"),
        ({"kind": "user", "id": ""}, "non-empty"),
        ({"kind": "user", "id": "a\nb"}, "control characters"),
        ({"kind": "user", "id": "x" * 600}, "longer than 512"),
        ({"kind": "user", "id": "u", "algorithm": "magic"}, "unknown algorithm"),
    ],
)
def test_bad_scopes_are_rejected_at_creation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scope(**kwargs)


def test_entry_point_registers_the_builtin_limiter() -> None:
    manager = PluginManager(AccelSettings())
    choice = manager.select("ratelimit", None)
    assert choice is not None and choice.name == "builtin" and choice.cls is BuiltinRateLimiter
    assert choice.distribution == "litellm-accel-ratelimit"


def test_install_binds_the_limiter_with_options_and_health(redis_url: str) -> None:
    settings = AccelSettings(
        tokens={"enabled": False},
        routing={"enabled": False},
        pool={"enabled": False},
        redis_url=redis_url,
        ratelimit={"options": {"algorithm": "sliding_window"}},
    )
    report = litellm_accel.install(settings)
    assert report.features["ratelimit"].status == "active"
    limiter = litellm_accel.get_implementation("ratelimit")
    assert isinstance(limiter, BuiltinRateLimiter)
    assert limiter.options.algorithm == "sliding_window" and limiter.redis is not None
    assert limiter.acquire_sync(Scope("user", "u", rpm=1)).allowed
    from litellm_accel_ratelimit import hooks

    lines = hooks.litellm_accel_health()
    assert any(r.component == "ratelimit" and r.ok and "reachable" in r.detail for r in lines)
    litellm_accel.uninstall()
    assert limiter not in set(__import__("litellm_accel_ratelimit.limiter").limiter.LIVE_LIMITERS)


def test_memory_backend_health_line() -> None:
    limiter = create_limiter({})
    report = limiter.health()
    assert report.ok and "in-memory" in report.detail
    limiter.close()


def test_doctor_line_without_a_live_limiter(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    from litellm_accel_ratelimit import hooks

    monkeypatch.setenv("LITELLM_ACCEL_REDIS_URL", redis_url)
    [line] = hooks.litellm_accel_health()
    assert line.ok and "reachable" in line.detail
    monkeypatch.setenv("LITELLM_ACCEL_RATELIMIT__OPTIONS", '{"algorithm": "leaky"}')
    [line] = hooks.litellm_accel_health()
    assert not line.ok and "ratelimit.options.algorithm" in line.detail
