"""Prometheus exposition of :class:`~litellm_accel.metrics.MetricsRegistry`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from litellm_accel.metrics import STANDARD_COUNTERS

if TYPE_CHECKING:
    from litellm_accel.metrics import MetricsRegistry

_PREFIX = "litellm_accel"


def _families(registry: MetricsRegistry) -> Iterator[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    """Yield (name, type, help, samples) for every metric family."""
    snap = registry.snapshot()
    for counter, help_text in STANDARD_COUNTERS.items():
        samples = [({"feature": f, "implementation": d["implementation"]}, float(d[counter])) for f, d in snap.items()]
        yield f"{_PREFIX}_{counter}_total", "counter", help_text, samples
    extra: dict[str, list[tuple[dict[str, str], float]]] = {}
    for f, d in snap.items():
        for name, value in d["counters"].items():
            labels = {"feature": f, "implementation": d["implementation"], "name": name}
            extra.setdefault("counter", []).append((labels, float(value)))
        for name, value in d["gauges"].items():
            labels = {"feature": f, "implementation": d["implementation"], "name": name}
            extra.setdefault("gauge", []).append((labels, float(value)))
    if extra.get("counter"):
        yield f"{_PREFIX}_plugin_events_total", "counter", "Implementation-specific counters.", extra["counter"]
    if extra.get("gauge"):
        yield f"{_PREFIX}_plugin_gauge", "gauge", "Implementation-specific gauges.", extra["gauge"]
    latency: list[tuple[dict[str, str], float]] = []
    for f, d in snap.items():
        for arm in ("latency", "stock_latency"):
            for q in ("p50", "p95", "p99"):
                value = d[arm][f"{q}_us"]
                if value is not None:
                    labels = {
                        "feature": f,
                        "implementation": d["implementation"],
                        "arm": "accelerated" if arm == "latency" else "stock",
                        "quantile": {"p50": "0.5", "p95": "0.95", "p99": "0.99"}[q],
                    }
                    latency.append((labels, value / 1e6))
    yield f"{_PREFIX}_latency_seconds", "gauge", "Call latency quantiles (approximate).", latency


def _label_text(labels: dict[str, str]) -> str:
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels.items()
    )
    return "{" + inner + "}"


def render_plain(registry: MetricsRegistry) -> str:
    """Render without ``prometheus_client``."""
    lines: list[str] = []
    for name, kind, help_text, samples in _families(registry):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{_label_text(labels)} {value!r}")
    return "\n".join(lines) + "\n"


def render_with_prometheus_client(registry: MetricsRegistry) -> str | None:
    """Render through ``prometheus_client`` (``None`` when it is not installed)."""
    try:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    except ImportError:
        return None

    class _Collector:
        def collect(self):  # type: ignore[no-untyped-def]
            for name, kind, help_text, samples in _families(registry):
                label_names = sorted({k for labels, _ in samples for k in labels}) if samples else []
                if kind == "counter":
                    family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
                else:
                    family = GaugeMetricFamily(name, help_text, labels=label_names)
                for labels, value in samples:
                    family.add_metric([labels.get(k, "") for k in label_names], value)
                yield family

    prom_registry = CollectorRegistry(auto_describe=False)
    prom_registry.register(_Collector())  # type: ignore[arg-type]
    return generate_latest(prom_registry).decode()
