"""One benchmark run from options to results (what ``litellm-accel bench`` does, usable from Python).

Order: read settings and the config file and check the scenario names (every user mistake is found
before anything starts), start the fake server when the end-to-end scenario runs, learn which features
are active, run each scenario's interleaved rounds, leave litellm uninstalled.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from litellm_accel.bench.defaults import FAKE_REPLY
from litellm_accel.bench.runner import ScenarioResult

QUICK = {"rounds": 3, "budget_s": 0.05, "requests": 48}
DEFAULT = {"rounds": 7, "budget_s": 0.25, "requests": 200}

#: Placeholder ``api_base`` while the fake server is not running (routing picks never call it).
UNUSED_API_BASE = "http://127.0.0.1:9/v1"


@dataclass
class BenchOptions:
    """The command's options (see ``litellm-accel bench --help``)."""

    quick: bool = False
    patterns: tuple[str, ...] = ()
    config_file: str | None = None
    fake_provider: bool = False
    redis_url: str | None = None
    concurrency: int = 32
    requests: int | None = None
    rounds: int | None = None
    sample_ms: float | None = None
    server_latency_ms: float = 0.0
    command: str = "litellm-accel bench"


def _prepare(options: BenchOptions) -> tuple[Any, Any, Any]:
    from litellm_accel.bench.scenarios import catalogue
    from litellm_accel.bench.userconfig import embedded_config, load_config_file
    from litellm_accel.settings import load_settings

    overrides: dict[str, Any] = {"redis_url": options.redis_url} if options.redis_url else {}
    settings = load_settings(**overrides)
    if options.config_file is not None:
        fake = UNUSED_API_BASE if options.fake_provider else None
        config = load_config_file(options.config_file, fake_api_base=fake)
    else:
        config = embedded_config(UNUSED_API_BASE)
    cat = catalogue(
        embedded=options.config_file is None,
        model_groups=config.model_groups,
        redis_url=settings.redis_url,
        concurrency=options.concurrency,
        expected_reply=FAKE_REPLY,
        fake_server=config.uses_fake_server,
        quick=options.quick,
    )
    return settings, config, cat


def check_redis(url: str | None) -> None:
    """Fail early, with one line, when the Redis of the Redis scenarios cannot be reached."""
    from litellm_accel.errors import ConfigError

    try:
        import redis
    except ImportError:
        raise ConfigError("Redis scenarios need the redis package: pip install 'litellm-accel[redis]'") from None
    try:
        client = redis.Redis.from_url(str(url), socket_timeout=3, socket_connect_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        raise ConfigError(f"cannot reach Redis at {url}: {type(exc).__name__}: {exc}") from None


def list_scenarios(options: BenchOptions) -> list[tuple[str, str]]:
    """``(name, title)`` of every scenario these options make available, then the unavailable ones."""
    _, _, cat = _prepare(options)
    rows = [(name, factory().title) for name, factory in cat.factories.items()]
    rows += [(name, f"(unavailable: {reason})") for name, reason in cat.unavailable.items()]
    return rows


def run_bench(
    options: BenchOptions, *, plugin_manager: Any = None, progress: bool = True
) -> tuple[dict[str, Any], list[ScenarioResult]]:
    """Run the benchmark; return the JSON document and the results.

    Raises :class:`~litellm_accel.errors.AccelError` for user mistakes (bad config file, unknown
    scenario name, invalid settings). Failures inside scenarios are reported in the document.
    ``plugin_manager`` replaces the installed plugins (tests register their own).
    """
    from litellm_accel.bench.report import document
    from litellm_accel.bench.scenarios import Workload, select
    from litellm_accel.bench.userconfig import embedded_config, load_config_file

    settings, config, cat = _prepare(options)
    names = select(cat, options.patterns)
    if "ratelimit.redis" in names:
        check_redis(settings.redis_url)
    preset = QUICK if options.quick else DEFAULT
    workload = Workload(
        rounds=options.rounds if options.rounds is not None else int(preset["rounds"]),
        budget_s=options.sample_ms / 1000.0 if options.sample_ms is not None else float(preset["budget_s"]),
        requests=options.requests if options.requests is not None else int(preset["requests"]),
        concurrency=options.concurrency,
        quick=options.quick,
    )
    with ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = None
        if any(name.startswith("e2e.") for name in names):
            from litellm_accel.bench.server import FakeServerProcess

            server = stack.enter_context(FakeServerProcess(reply=FAKE_REPLY, latency_ms=options.server_latency_ms))
            if options.config_file is None:
                config = embedded_config(server.api_base)
            else:
                fake = server.api_base if options.fake_provider else None
                config = load_config_file(options.config_file, fake_api_base=fake)
        results, install, notes = _run(
            names, cat, config, workload, settings, server, plugin_manager=plugin_manager, progress=progress
        )
    doc = document(
        results,
        command=options.command,
        workload={
            "quick": options.quick,
            "rounds": workload.rounds,
            "sample_budget_s": workload.budget_s,
            "requests_per_sample": workload.requests,
            "concurrency": workload.concurrency,
            "server_latency_ms": options.server_latency_ms,
        },
        config=config.as_dict(),
        install=install,
        notes=notes,
    )
    return doc, results


def _run(
    names: list[str],
    cat: Any,
    config: Any,
    workload: Any,
    settings: Any,
    server: Any,
    *,
    plugin_manager: Any,
    progress: bool,
) -> tuple[list[ScenarioResult], dict[str, Any], list[str]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from litellm_accel.bench.arms import Arms
    from litellm_accel.bench.runner import ERROR, INACTIVE, NOT_RUN, run_scenario, steps_per_scenario
    from litellm_accel.bench.scenarios import BenchContext

    console = Console(stderr=True)
    arms = Arms(settings, plugin_manager)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ctx = BenchContext(
        arms=arms, config=config, workload=workload, loop=loop, server=server, redis_url=settings.redis_url
    )
    results: list[ScenarioResult] = []
    steps = steps_per_scenario(workload.rounds)
    try:
        with (
            ExitStack() as stack,
            Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=not (progress and console.is_terminal),
            ) as bar,
        ):
            task = bar.add_task("loading litellm and plugins", total=None)
            # Install warnings become notes of the report; repeated on every arm switch they would be noise.
            stack.enter_context(_quiet_logger("litellm_accel.installer"))
            stack.enter_context(_quiet_logger("LiteLLM"))
            report = arms.probe()
            ctx.notes.extend(_feature_notes(report, settings))
            if config.source != "embedded":
                from litellm_accel.bench.scenarios.routers import validate_config

                validate_config(ctx)
            scenarios = [cat.factories[name]() for name in names]
            bar.update(task, total=len(scenarios) * steps, completed=0)
            for scenario in scenarios:
                bar.update(task, description=scenario.name)
                done_before = bar.tasks[0].completed
                result = run_scenario(scenario, ctx, lambda _n, _a: bar.advance(task))
                if result.status in (NOT_RUN, INACTIVE, ERROR):
                    bar.update(task, completed=done_before + steps)
                results.append(result)
    finally:
        arms.close()
        _close_loop(loop)
    return results, arms.describe(), ctx.notes


def _feature_notes(report: Any, settings: Any) -> list[str]:
    notes = []
    for feature, status in report.features.items():
        if status.status != "active":
            notes.append(f"{feature}: {status.status}" + (f" ({status.reason})" if status.reason else ""))
        else:
            flag = settings.feature(feature).flag.value
            if flag != "on":
                notes.append(f"{feature}: flag is {flag!r}, so the accelerated arm is not pure accelerated")
    return notes


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # closing is best effort; the results are already computed
        pass
    finally:
        asyncio.set_event_loop(None)
        loop.close()
