"""The ``litellm-accel`` command: ``plugins``, ``doctor``, ``config``, ``bench``.

Every command takes ``--json``. A user mistake (bad setting, unknown plugin, unreadable file) prints
one ``error: ...`` line and exits with status 2; no traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from litellm_accel._version import PLUGIN_API_VERSION, __version__
from litellm_accel.errors import AccelError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2
EXIT_FAILED_CHECK = 1


def _offline_litellm() -> None:
    # litellm downloads its model cost map on import unless told otherwise; the CLI never needs it.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def handle_errors(func: F) -> F:
    """Turn user mistakes into one readable line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except AccelError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except (OSError, ValueError) as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_USER_ERROR)

    return wrapper  # type: ignore[return-value]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="litellm-accel")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def main(debug: bool) -> None:
    """litellm-accel: faster LiteLLM hot paths with stock-identical results."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _offline_litellm()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def plugins(as_json: bool) -> None:
    """List plugins: name, distribution, version, features, status."""
    from litellm_accel.plugins import BUILTIN_DISTRIBUTIONS, PluginManager
    from litellm_accel.settings import load_settings

    manager = PluginManager(load_settings())
    infos = manager.plugins()
    seen = {i.distribution for i in infos}
    missing = [
        {
            "name": feature,
            "distribution": dist,
            "version": None,
            "status": "not installed",
            "reason": "",
            "features": {},
        }
        for feature, dist in BUILTIN_DISTRIBUTIONS.items()
        if dist not in seen
    ]
    data = [i.as_dict() for i in infos] + missing
    if as_json:
        emit_json({"plugin_api_version": PLUGIN_API_VERSION, "plugins": data})
        return
    rows = []
    for d in data:
        features = ", ".join(f"{f}: {'/'.join(names)}" for f, names in d["features"].items())
        status = d["status"] + (f" ({d['reason']})" if d["reason"] and d["status"] != "active" else "")
        rows.append([d["name"], d["distribution"], d["version"], features, status])
    click.echo(table(["plugin", "distribution", "version", "features", "status"], rows))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def doctor(as_json: bool) -> None:
    """Check litellm support, attachment points, offline tokenizers, Redis and plugin health."""
    from litellm_accel.doctor import run_checks
    from litellm_accel.plugins import PluginManager
    from litellm_accel.settings import load_settings

    settings = load_settings()
    checks = run_checks(settings, PluginManager(settings))
    ok = all(c.ok for c in checks)
    if as_json:
        emit_json({"ok": ok, "checks": [c.as_dict() for c in checks]})
    else:
        click.echo(table(["check", "ok", "detail"], [[c.name, "ok" if c.ok else "FAIL", c.detail] for c in checks]))
        click.echo("all checks passed" if ok else "some checks failed")
    if not ok:
        click.get_current_context().exit(EXIT_FAILED_CHECK)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def config(as_json: bool) -> None:
    """Show the effective settings and where each value came from."""
    from litellm_accel.provenance import explain
    from litellm_accel.settings import config_file_path, load_settings

    settings = load_settings()
    rows = explain(settings)
    path = config_file_path()
    if as_json:
        emit_json({"config_file": str(path) if path else None, "settings": rows})
        return
    click.echo(f"config file: {path if path else 'none'}")
    click.echo(table(["key", "value", "source"], [[r["key"], json.dumps(r["value"]), r["source"]] for r in rows]))


def _register_bench() -> None:
    try:
        from litellm_accel.bench.command import bench
    except ImportError as exc:  # the bench package is optional while it is being built
        logging.getLogger("litellm_accel.cli").debug("bench command unavailable: %s", exc)
        return
    main.add_command(bench)


_register_bench()


def run() -> None:  # pragma: no cover - console entry point alias
    main(prog_name="litellm-accel")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
