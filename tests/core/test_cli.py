"""The litellm-accel command: every command with and without --json, and readable errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from litellm_accel.cli import main

BUILTIN = {"tokens", "routing", "pool", "ratelimit"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plugins_json_lists_builtin_plugins_from_entry_points() -> None:
    code, out, _ = run("plugins", "--json")
    assert code == 0
    data = json.loads(out)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert set(plugins) >= BUILTIN
    for name in BUILTIN:
        assert plugins[name]["distribution"] == f"litellm-accel-{name}"
        assert plugins[name]["status"] == "active"
    assert data["plugin_api_version"] == "1.0"


def test_plugins_table_shows_sample_plugin_and_blocked(sample_plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_PLUGINS__BLOCK", '["routing"]')
    code, out, _ = run("plugins")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "accel-sample" in lines["sample"] and "tokens: sample-counter" in lines["sample"]
    assert "blocked" in lines["routing"]


def test_doctor_json_and_table(sample_plugin: str) -> None:
    code, out, _ = run("doctor", "--json")
    data = json.loads(out)
    names = {c["name"]: c for c in data["checks"]}
    assert names["litellm"]["ok"] and "1." in names["litellm"]["detail"]
    assert names["tokenizers offline"]["ok"]
    assert names["attach tokens"]["ok"]
    assert names["health sample"]["ok"]
    assert code == (0 if data["ok"] else 1)
    code2, table, _ = run("doctor")
    assert "tokenizers offline" in table and code2 == code


def test_doctor_reports_unreachable_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("LITELLM_ACCEL_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    code, out, _ = run("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["redis"]["ok"] is False and "not reachable" in checks["redis"]["detail"]
    assert code == 1


def test_doctor_reports_reachable_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_REDIS_URL", redis_url)
    _, out, _ = run("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["redis"]["ok"] is True


def test_config_shows_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "litellm-accel.toml").write_text("[routing]\nflag = 'shadow'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__FLAG", "off")
    code, out, _ = run("config", "--json")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)["settings"]}
    assert rows["tokens.flag"] == {"key": "tokens.flag", "value": "off", "source": "env LITELLM_ACCEL_TOKENS__FLAG"}
    assert rows["routing.flag"]["value"] == "shadow" and rows["routing.flag"]["source"].startswith("file ")
    assert rows["pool.flag"]["source"] == "default"
    code, out, _ = run("config")
    assert code == 0 and "LITELLM_ACCEL_TOKENS__FLAG" in out and "config file:" in out


@pytest.mark.parametrize("command", ["plugins", "doctor", "config"])
def test_bad_setting_is_one_line_error_for_every_command(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_ACCEL_TOKENS__FLAG", "maybe")
    code, out, err = run(command)
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("error: invalid setting tokens.flag = 'maybe'")
    assert "Traceback" not in err + out


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("litellm-accel")
    env = {**os.environ, "LITELLM_ACCEL_ROUTING__ROLLOUT_PERCENT": "-5"}
    proc = subprocess.run([str(exe), "config"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "routing.rollout_percent" in proc.stderr and "Traceback" not in proc.stderr
    ok = subprocess.run([str(exe), "plugins", "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["plugins"]
