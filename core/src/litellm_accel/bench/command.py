"""``litellm-accel bench``: the click command (registered on the CLI group by ``litellm_accel.cli``)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from typing import Any

import click

from litellm_accel.errors import AccelError

EXIT_FAILED = 1
EXIT_USER_ERROR = 2


def _offline() -> None:
    # Before litellm is imported: no cost-map download, no chatter on stderr.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")


@click.command("bench")
@click.option("--quick", is_flag=True, help="A short run (under a minute): fewer rounds, shorter samples.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="NAME",
    help="Run only these scenarios (repeatable): a group (tokens, routing, ratelimit, e2e), a dotted "
    "prefix (routing.sync), a full name or a glob (routing.*.100).",
)
@click.option("--list", "list_only", is_flag=True, help="List the scenario names and exit.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Benchmark your own Router configuration (YAML/JSON model_list, optionally router_settings).",
)
@click.option("--fake-provider", is_flag=True, help="With --config: point every deployment at the local fake server.")
@click.option("--redis-url", help="Also measure rate-limit decisions on this Redis (default: the redis_url setting).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 4096),
    default=32,
    show_default=True,
    help="Concurrent requests in the end-to-end scenario.",
)
@click.option("--requests", "requests_", type=click.IntRange(1), help="Requests per end-to-end sample.")
@click.option("--rounds", type=click.IntRange(1, 1000), help="Measured rounds per scenario (after one warm-up).")
@click.option(
    "--sample-ms",
    type=click.FloatRange(0.1, 60_000),
    help="Time each arm spends on one latency sample (default 250, quick 50).",
)
@click.option(
    "--server-latency-ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Latency the fake server adds to each answer.",
)
def bench(
    quick: bool,
    as_json: bool,
    scenarios: tuple[str, ...],
    list_only: bool,
    config_file: str | None,
    fake_provider: bool,
    redis_url: str | None,
    concurrency: int,
    requests_: int | None,
    rounds: int | None,
    sample_ms: float | None,
    server_latency_ms: float,
) -> None:
    """Measure stock and accelerated LiteLLM side by side on a built-in Router configuration.

    Starts a fake OpenAI-compatible server on 127.0.0.1 (no API key, no network), then runs each scenario
    for stock litellm and for litellm with litellm-accel installed, interleaved in rounds, and reports
    medians, spread and the speedup. Exit status: 0 all good, 1 a check failed (a request failed, an
    answer differed, a scenario errored), 2 a usage error.
    """
    _offline()
    from litellm_accel.bench.session import BenchOptions, list_scenarios, run_bench

    ctx = click.get_current_context()
    options = BenchOptions(
        quick=quick,
        patterns=scenarios,
        config_file=config_file,
        fake_provider=fake_provider,
        redis_url=redis_url,
        concurrency=concurrency,
        requests=requests_,
        rounds=rounds,
        sample_ms=sample_ms,
        server_latency_ms=server_latency_ms,
        command=_command_line(),
    )
    try:
        if list_only:
            for name, title in list_scenarios(options):
                click.echo(f"{name:45s} {title}")
            return
        doc, results = run_bench(options, progress=not as_json or sys.stderr.isatty())
    except AccelError as exc:
        if _debug(ctx):
            raise
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        ctx.exit(130)
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        _print_table(doc, results)
    ctx.exit(0 if doc["ok"] else EXIT_FAILED)


def _print_table(doc: dict[str, Any], results: list[Any]) -> None:
    from rich.console import Console

    from litellm_accel.bench.report import render_table

    console = Console() if sys.stdout.isatty() else Console(width=200)
    features = doc["install"].get("features", {})
    active = [f for f, s in features.items() if s.get("status") == "active"]
    caption = (
        f"{doc['command']}  ·  active: {', '.join(active) or 'none'}  ·  "
        "speedup > 1: accelerated is faster  ·  spread: interquartile range over rounds"
    )
    console.print(render_table(results, {"title": "litellm-accel bench: stock vs accelerated", "caption": caption}))
    for line in doc["failures"]:
        console.print(f"[red]FAILED[/red] {line}", markup=True, highlight=False)
    for line in doc["notes"]:
        console.print(f"note: {line}", highlight=False)


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) if root is not ctx else False


def _command_line() -> str:
    args = sys.argv[1:]
    if "bench" in args:
        args = args[args.index("bench") :]
        return "litellm-accel " + " ".join(shlex.quote(a) for a in args)
    return "litellm-accel bench"
