"""Checks behind ``litellm-accel doctor``: is this litellm supported, can each feature attach, are the
tokenizer files available offline, is Redis reachable, what do the plugins' health hooks say."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from litellm_accel.contracts import FEATURES
from litellm_accel.installer import MIN_LITELLM, TESTED_LITELLM, litellm_version, version_tuple
from litellm_accel.plugins import ACTIVE, FAILED, PluginManager
from litellm_accel.settings import AccelSettings


@dataclass
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_litellm() -> Check:
    version = litellm_version()
    if version is None:
        return Check("litellm", False, "litellm is not installed")
    if version_tuple(version) < MIN_LITELLM:
        return Check("litellm", False, f"litellm {version} is older than {'.'.join(map(str, MIN_LITELLM))}")
    note = "tested" if version == TESTED_LITELLM else f"untested (tested: {TESTED_LITELLM}); attachment points checked"
    return Check("litellm", True, f"litellm {version}, {note}")


def check_attachments(manager: PluginManager) -> list[Check]:
    from litellm_accel.attachments import attachment_for

    checks = []
    for feature in FEATURES:
        try:
            problems = attachment_for(feature).problems()
        except Exception as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        available = sorted(manager.implementations(feature))
        impl = f"implementations: {', '.join(available) or 'none installed'}"
        if problems:
            checks.append(Check(f"attach {feature}", False, "; ".join(problems) + f" ({impl})"))
        else:
            checks.append(Check(f"attach {feature}", True, f"attachment points present ({impl})"))
    return checks


def check_tokenizers() -> Check:
    """tiktoken encodings that litellm ships must load without network access."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        # Importing litellm's default_encoding points TIKTOKEN_CACHE_DIR at the files litellm ships.
        import tiktoken
        from litellm.litellm_core_utils import default_encoding

        missing = []
        for encoding in ("cl100k_base", "o200k_base"):
            try:
                tiktoken.get_encoding(encoding)
            except Exception as exc:
                missing.append(f"{encoding} ({type(exc).__name__})")
        directory = os.path.join(os.path.dirname(default_encoding.__file__), "tokenizers")
        for bundled in ("anthropic_tokenizer.json", "deepseek_tokenizer.json"):
            if not os.path.isfile(os.path.join(directory, bundled)):
                missing.append(f"{bundled} in {directory}")
    except Exception as exc:
        return Check("tokenizers offline", False, f"{type(exc).__name__}: {exc}")
    if missing:
        return Check("tokenizers offline", False, "not available offline: " + ", ".join(missing))
    return Check("tokenizers offline", True, "cl100k_base, o200k_base and litellm's bundled tokenizers load offline")


def check_redis(settings: AccelSettings) -> Check | None:
    if not settings.redis_url:
        return None
    try:
        import redis
    except ImportError:
        return Check(
            "redis", False, "redis_url is set but redis-py is not installed (pip install 'litellm-accel[redis]')"
        )
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        client.ping()
        client.close()
    except Exception as exc:
        return Check("redis", False, f"{settings.redis_url} not reachable: {type(exc).__name__}: {exc}")
    return Check("redis", True, f"{settings.redis_url} reachable")


def run_checks(settings: AccelSettings, manager: PluginManager) -> list[Check]:
    """Every doctor check, in display order."""
    checks = [check_litellm()]
    for info in manager.plugins():
        if info.status == FAILED:
            checks.append(Check(f"plugin {info.name}", False, info.reason))
        elif info.status == ACTIVE:
            checks.append(Check(f"plugin {info.name}", True, f"{info.distribution} {info.version}"))
    checks.extend(check_attachments(manager))
    checks.append(check_tokenizers())
    redis_check = check_redis(settings)
    if redis_check is not None:
        checks.append(redis_check)
    for report in manager.health():
        checks.append(Check(f"health {report.component}", report.ok, report.detail))
    return checks
