"""Rendering results: a rich table for people, a JSON document for machines."""

from __future__ import annotations

import math
import platform
import sys
from typing import Any

from litellm_accel.bench.arms import ACCELERATED, STOCK
from litellm_accel.bench.runner import ERROR, FAILED, INACTIVE, NOT_RUN, OK, ScenarioResult
from litellm_accel.bench.stats import Summary


def format_value(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit == "req/s":
        return f"{value:,.0f} req/s" if value >= 100 else f"{value:.1f} req/s"
    if value >= 1000:
        return f"{value / 1000:.2f} ms"
    if value >= 100:
        return f"{value:.0f} µs"
    return f"{value:.1f} µs" if value >= 10 else f"{value:.2f} µs"


def format_spread(samples: list[float], unit: str) -> str:
    if len(samples) < 2:
        return ""
    s = Summary.of(samples)
    return f"IQR {format_value(s.q1, unit)}-{format_value(s.q3, unit)}"


def format_ratio(result: ScenarioResult) -> str:
    if result.status in (NOT_RUN, INACTIVE):
        return result.status
    if result.status == ERROR:
        return "error"
    ratio = result.ratio
    return "—" if ratio is None else f"{ratio:.2f}x"


def notes_of(result: ScenarioResult) -> str:
    parts: list[str] = []
    if result.status in (NOT_RUN, INACTIVE, ERROR):
        parts.append(result.reason)
    if result.group == "e2e" and result.status in (OK, FAILED):
        arms = result.details.get("arms", {})
        s, a = arms.get(STOCK, {}), arms.get(ACCELERATED, {})

        def ms(v: Any) -> str:
            return "—" if v is None else f"{v:.1f}"

        parts.append(
            f"p50 {ms(s.get('p50_ms'))} -> {ms(a.get('p50_ms'))} ms, "
            f"p99 {ms(s.get('p99_ms'))} -> {ms(a.get('p99_ms'))} ms"
        )
        parts.append(
            f"ok {s.get('succeeded', 0)}/{s.get('sent', 0)} stock, {a.get('succeeded', 0)}/{a.get('sent', 0)} accel"
        )
        parts.append(f"connections {s.get('connections_opened', 0)} -> {a.get('connections_opened', 0)}")
    parts.extend(result.problems)
    parts.extend(result.warnings)
    return "; ".join(p for p in parts if p)


def render_table(results: list[ScenarioResult], header: dict[str, Any]) -> Any:
    """A ``rich.table.Table`` of every scenario."""
    from rich.table import Table

    table = Table(title=header.get("title"), caption=header.get("caption"), show_lines=False)
    table.add_column("scenario", no_wrap=True)
    table.add_column("stock (median)", justify="right")
    table.add_column("accelerated (median)", justify="right")
    table.add_column("speedup", justify="right")
    table.add_column("spread (stock | accel)", justify="left")
    table.add_column("notes", overflow="fold")
    for r in results:
        stock, accel = r.arms[STOCK].samples, r.arms[ACCELERATED].samples
        style = None
        if r.status in (FAILED, ERROR):
            style = "red"
        elif r.status in (NOT_RUN, INACTIVE):
            style = "dim"
        spread = ""
        if stock or accel:
            spread = f"{format_spread(stock, r.unit)} | {format_spread(accel, r.unit)}"
        table.add_row(
            r.name,
            format_value(r.median(STOCK), r.unit),
            format_value(r.median(ACCELERATED), r.unit),
            format_ratio(r),
            spread,
            notes_of(r),
            style=style,
        )
    return table


def environment() -> dict[str, Any]:
    from importlib import metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "litellm": version("litellm"),
        "litellm-accel": version("litellm-accel"),
        "plugins": {
            name: version(name)
            for name in (
                "litellm-accel-tokens",
                "litellm-accel-routing",
                "litellm-accel-pool",
                "litellm-accel-ratelimit",
            )
        },
    }


def document(
    results: list[ScenarioResult],
    *,
    command: str,
    workload: dict[str, Any],
    config: dict[str, Any],
    install: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """The ``--json`` document."""
    failures = [p for r in results for p in r.problems] + [
        f"{r.name}: {r.reason}" for r in results if r.status == ERROR
    ]
    return {
        "command": command,
        "environment": environment(),
        "workload": workload,
        "config": config,
        "install": install,
        "method": "interleaved rounds (A B, B A, ...), one warm-up round discarded; medians; "
        "ratio = stock/accelerated for times, accelerated/stock for throughputs",
        "scenarios": [r.as_dict() for r in results],
        "failures": failures,
        "notes": notes,
        "ok": not failures,
    }
