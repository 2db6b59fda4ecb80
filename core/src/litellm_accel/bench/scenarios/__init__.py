"""The scenario catalogue and ``--scenario`` selection."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from litellm_accel.bench.scenarios import endtoend, ratelimit, routing, tokens
from litellm_accel.bench.scenarios.base import BenchContext, Scenario, Workload
from litellm_accel.errors import ConfigError

__all__ = ["BenchContext", "Catalogue", "Scenario", "Workload", "catalogue", "select"]


@dataclass
class Catalogue:
    """Scenario factories by name, in run order, plus why some known scenarios are unavailable."""

    factories: dict[str, Callable[[], Scenario]]
    unavailable: dict[str, str]


def catalogue(
    *,
    embedded: bool,
    model_groups: Sequence[str],
    redis_url: str | None,
    concurrency: int,
    expected_reply: str,
    fake_server: bool,
    quick: bool = False,
) -> Catalogue:
    """Every scenario these settings allow. ``quick`` keeps two routing strategies (simple-shuffle and
    usage-based-routing-v2) so that a quick run stays under a minute."""
    factories: list[Callable[[], Scenario]] = []
    unavailable: dict[str, str] = {}
    factories += tokens.scenarios()
    factories += routing.scenarios(embedded, list(model_groups), quick=quick)
    factories += ratelimit.scenarios(redis_url)
    if not redis_url:
        unavailable["ratelimit.redis"] = "needs --redis-url (or the redis_url setting)"
    if fake_server:
        factories += endtoend.scenarios(concurrency, expected_reply)
    else:
        unavailable["e2e.acompletion"] = "needs --fake-provider with --config (it would call your real providers)"
    named: dict[str, Callable[[], Scenario]] = {}
    for factory in factories:
        named[factory().name] = factory
    return Catalogue(named, unavailable)


def select(cat: Catalogue, patterns: Sequence[str]) -> list[str]:
    """Names matching ``patterns`` (exact name, a dotted prefix such as ``tokens`` or ``routing.sync``,
    or a glob such as ``routing.*.100``), in catalogue order; every names must match something."""
    names = list(cat.factories)
    if not patterns:
        return names
    chosen: set[str] = set()
    for pattern in patterns:
        matched = [n for n in names if _matches(n, pattern)]
        if not matched:
            for name, reason in cat.unavailable.items():
                if _matches(name, pattern):
                    raise ConfigError(f"scenario {name!r} is not available: {reason}")
            groups = sorted({n.split(".", 1)[0] for n in names})
            raise ConfigError(
                f"unknown scenario {pattern!r}; use a group ({', '.join(groups)}), a full name or a glob "
                "(litellm-accel bench --list shows every name)"
            )
        chosen.update(matched)
    return [n for n in names if n in chosen]


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)
