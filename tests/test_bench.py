"""``litellm-accel bench``: the command end to end on a tiny workload, and the method underneath it
(interleaving, arm isolation, parity and end-to-end checks) with a registered test plugin.

Nothing here asserts a duration: only structure, counts and the checks the bench performs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from litellm_accel import installer
from litellm_accel.bench.arms import ACCELERATED, STOCK, Arms
from litellm_accel.bench.command import bench
from litellm_accel.bench.runner import run_scenario
from litellm_accel.bench.scenarios import BenchContext, Scenario, Workload
from litellm_accel.bench.session import BenchOptions, list_scenarios, run_bench
from litellm_accel.bench.stats import Summary, percentile, speedup
from litellm_accel.bench.timing import Sample
from litellm_accel.bench.userconfig import embedded_config
from litellm_accel.plugins import PluginManager
from litellm_accel.settings import AccelSettings
from tests.fixtures import accel_sample_plugin
from tests.fixtures.accel_sample_plugin import SampleCounter

TINY = ["--quick", "--json", "--rounds", "1", "--sample-ms", "5", "--requests", "12", "--concurrency", "4"]


def invoke(args: list[str]) -> Any:
    from litellm_accel.cli import main

    return CliRunner().invoke(main, ["bench", *args], catch_exceptions=False)


def sample_manager(mode: str = "ok") -> PluginManager:
    """A plugin manager that knows only the test plugin (its token counter answers with stock's count)."""
    SampleCounter.mode = mode
    SampleCounter.instances.clear()
    manager = PluginManager(AccelSettings(), load_entry_points=False)
    manager.register(accel_sample_plugin, "sample")
    return manager


@pytest.fixture(autouse=True)
def _reset_sample_counter() -> Any:
    yield
    SampleCounter.mode = "ok"
    SampleCounter.instances.clear()


# -- the command, with the installed plugins ------------------------------------------------------------
def test_quick_json_has_every_scenario_with_both_arms_and_a_ratio() -> None:
    result = invoke(TINY)
    doc = json.loads(result.stdout)
    assert result.exit_code == (0 if doc["ok"] else 1)
    assert doc["ok"], doc["failures"]

    expected = {name for name, title in list_scenarios(BenchOptions(quick=True)) if "unavailable" not in title}
    by_name = {s["name"]: s for s in doc["scenarios"]}
    assert set(by_name) == expected
    features = doc["install"]["features"]

    for name, s in by_name.items():
        if s["group"] == "ratelimit":
            runnable = features["ratelimit"]["implementation"] is not None
        else:
            runnable = any(features[f]["status"] == "active" for f in s["features"])
        if not runnable:
            assert s["status"] in ("not installed", "not active"), name
            assert s["ratio"] is None
            continue
        assert s["status"] == "ok", (name, s["reason"], s["problems"])
        for arm in ("stock", "accelerated"):
            assert s[arm]["ops"] > 0 and s[arm]["rounds"] == 1, (name, arm)
            assert s[arm]["median"] > 0
        assert isinstance(s["ratio"], float) and s["ratio"] > 0
        # The stock arm never reached an implementation; the accelerated arm did (guarded paths).
        assert not any(c.get("calls") for c in s["stock"]["feature_calls"].values()), name
        if s["group"] != "ratelimit":
            served = s["accelerated"]["feature_calls"]
            assert any(served.get(f, {}).get("calls") for f in s["features"]), name
        else:
            assert s["details"]["decisions"]["stock"] > 0 and s["details"]["decisions"]["accelerated"] > 0

    tokens = by_name["tokens.short_chat"]
    if features["tokens"]["status"] == "active":
        assert tokens["accelerated"]["feature_calls"]["tokens"]["calls"] >= tokens["accelerated"]["ops"]
        assert tokens["details"]["probe_counts_equal"] is True

    e2e = by_name["e2e.acompletion"]
    if e2e["status"] == "ok":
        for arm in ("stock", "accelerated"):
            facts = e2e["details"]["arms"][arm]
            # Two rounds (the warm-up round and one measured), each 4 warm-up calls + 12 timed calls.
            assert facts["sent"] == 2 * (4 + 12)
            assert facts["succeeded"] == facts["sent"] and facts["failed"] == facts["wrong_content"] == 0
            assert facts["server_requests"] == facts["sent"]  # the fake server saw every request
            assert facts["p50_ms"] > 0 and facts["p99_ms"] >= facts["p50_ms"]
    assert installer.is_installed() is False  # the bench leaves litellm stock


def test_table_output_names_every_selected_scenario() -> None:
    result = invoke(["--quick", "--rounds", "1", "--scenario", "tokens.short_chat", "--scenario", "ratelimit"])
    assert result.exit_code == 0, result.output
    assert "tokens.short_chat" in result.stdout and "ratelimit.memory" in result.stdout
    assert "speedup" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--scenario", "ratelimit.redis"], "needs --redis-url"),
        (["--config", "/nonexistent/models.yaml"], "cannot read the file"),
        (["--redis-url", "http://x"], "redis_url"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    from litellm_accel.cli import main

    result = CliRunner().invoke(main, ["bench", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


@pytest.mark.redis
def test_rate_limit_scenarios_on_memory_and_redis(redis_url: str) -> None:
    result = invoke(["--quick", "--json", "--rounds", "1", "--scenario", "ratelimit", "--redis-url", redis_url])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["failures"]
    by_name = {s["name"]: s for s in doc["scenarios"]}
    assert set(by_name) == {"ratelimit.memory", "ratelimit.redis"}
    if doc["install"]["features"]["ratelimit"]["implementation"] is None:
        assert {s["status"] for s in by_name.values()} == {"not installed"}
        return
    for s in by_name.values():
        assert s["status"] == "ok" and s["ratio"] > 0
        assert s["details"]["decisions"]["stock"] > 0 and s["details"]["decisions"]["accelerated"] > 0
    assert by_name["ratelimit.redis"]["details"]["backend"] == "redis"


def test_unreachable_redis_is_a_one_line_error() -> None:
    from tests.conftest import free_port

    result = CliRunner().invoke(
        bench, ["--scenario", "ratelimit.redis", "--redis-url", f"redis://127.0.0.1:{free_port()}/0"]
    )
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot reach Redis at redis://127.0.0.1:")


def test_list_names_every_scenario() -> None:
    result = CliRunner().invoke(bench, ["--list", "--quick"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names[:3] == ["tokens.short_chat", "tokens.long_message", "tokens.conversation"]
    assert "routing.sync.usage-based-routing-v2.100" in names and "e2e.acompletion" in names
    assert "routing.sync.least-busy.10" not in names  # --quick keeps two routing strategies


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("model_list: [unclosed", "invalid YAML"),
        ("- model_name: a\n", "has no litellm_params.model"),
        ("{}", "expected a list of deployments"),
        (
            "model_list: [{model_name: g, litellm_params: {model: gpt-4o}}]\n"
            "router_settings: {routing_strategy: bogus}",
            "Invalid routing_strategy: 'bogus'",
        ),
        (
            "model_list: [{model_name: g, litellm_params: {model: gpt-4o}}]\nrouter_settings: {no_such: 1}",
            "unexpected keyword argument 'no_such'",
        ),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(content)
    result = CliRunner().invoke(bench, ["--config", str(path), "--scenario", "routing", "--quick"])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_user_config_with_fake_provider_runs_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "proxy_config.yaml"
    path.write_text(
        """
model_list:
  - model_name: team-a
    litellm_params: {model: azure/gpt-4o-prod, api_base: https://example.invalid, api_version: "2024-06-01"}
    model_info: {id: a-1}
  - model_name: team-a
    litellm_params: {model: gpt-4o, api_key: sk-real}
    model_info: {id: a-2}
  - model_name: team-b
    litellm_params: {model: openai/gpt-4o-mini, rpm: 100}
router_settings:
  routing_strategy: simple-shuffle
  num_retries: 0
"""
    )
    names = [n for n, _ in list_scenarios(BenchOptions(config_file=str(path), fake_provider=True))]
    assert "routing.sync.team-a" in names and "routing.async.team-b" in names and "e2e.acompletion" in names
    # The end-to-end scenario runs only when a feature is active; force one with the test plugin.
    doc, _ = run_bench(
        BenchOptions(
            quick=True,
            rounds=1,
            requests=6,
            concurrency=2,
            config_file=str(path),
            fake_provider=True,
            patterns=("e2e",),
        ),
        plugin_manager=sample_manager(),
        progress=False,
    )
    assert doc["ok"], doc["failures"]
    (e2e,) = doc["scenarios"]
    assert e2e["status"] == "ok"
    for arm in ("stock", "accelerated"):
        facts = e2e["details"]["arms"][arm]
        assert facts["succeeded"] == facts["sent"] == facts["server_requests"] > 0
    assert doc["config"]["model_groups"] == {"team-a": 2, "team-b": 1}


def test_without_fake_provider_a_user_config_never_calls_real_providers(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps([{"model_name": "g", "litellm_params": {"model": "gpt-4o"}}]))
    result = CliRunner().invoke(bench, ["--config", str(path), "--scenario", "e2e"])
    assert result.exit_code == 2 and "needs --fake-provider" in result.stderr


# -- the method, with the test plugin -----------------------------------------------------------------
class RecordingScenario(Scenario):
    """Records, for each sample, the arm and whether litellm-accel was installed at that moment."""

    group = "test"
    features = ("tokens",)

    def __init__(self) -> None:
        super().__init__("test.recording", "records arms")
        self.seen: list[tuple[str, bool]] = []

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        import litellm

        self.seen.append((arm, installer.is_installed()))
        litellm.token_counter(model="gpt-4o", text="hello world")
        return Sample(10.0 if arm == STOCK else 2.0, 1)


def make_context(manager: PluginManager, rounds: int) -> BenchContext:
    import asyncio

    settings = AccelSettings()
    arms = Arms(settings, manager)
    arms.probe()
    loop = asyncio.new_event_loop()
    workload = Workload(rounds=rounds, budget_s=0.001, requests=1, concurrency=1, quick=True)
    return BenchContext(arms=arms, config=embedded_config("http://127.0.0.1:9/v1"), workload=workload, loop=loop)


def test_rounds_interleave_arms_and_discard_the_warm_up() -> None:
    ctx = make_context(sample_manager(), rounds=4)
    scenario = RecordingScenario()
    try:
        result = run_scenario(scenario, ctx)
    finally:
        ctx.arms.close()
        ctx.loop.close()
    assert [arm for arm, _ in scenario.seen] == [STOCK, ACCELERATED, ACCELERATED, STOCK] * 2 + [STOCK, ACCELERATED]
    assert all(installed == (arm == ACCELERATED) for arm, installed in scenario.seen)
    assert result.status == "ok" and result.arms[STOCK].samples == [10.0] * 4
    assert result.ratio == pytest.approx(5.0)
    # Warm-up excluded: 4 measured accelerated samples, one guarded call each.
    assert result.arms[ACCELERATED].feature_calls["tokens"]["accelerated"] == 4
    assert result.arms[STOCK].feature_calls == {}
    assert installer.is_installed() is False


class LeakyScenario(Scenario):
    """Keeps the accelerated ``token_counter`` it saw while installed and calls it in the stock arm too,
    like a library that cached the patched function: the bench must notice the stock arm is not stock."""

    group = "test"
    features = ("tokens",)

    def __init__(self) -> None:
        super().__init__("test.leaky", "calls a cached accelerated function in the stock arm")
        self.kept: Any = None

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        import litellm

        if arm == ACCELERATED and self.kept is None:
            self.kept = litellm.token_counter
        (self.kept or litellm.token_counter)(model="gpt-4o", text="hello")
        return Sample(1.0, 1)


def test_a_stock_arm_that_reaches_accelerated_code_fails_the_scenario() -> None:
    ctx = make_context(sample_manager(), rounds=2)
    try:
        result = run_scenario(LeakyScenario(), ctx)
    finally:
        ctx.arms.close()
        ctx.loop.close()
    assert result.status == "failed"
    assert any("stock arm reached accelerated code (tokens)" in p for p in result.problems)


def test_end_to_end_reports_answers_that_are_not_the_fake_servers() -> None:
    from litellm_accel.bench.scenarios.endtoend import EndToEnd
    from litellm_accel.bench.server import FakeServerProcess

    with FakeServerProcess(reply="an unexpected answer") as server:
        ctx = make_context(sample_manager(), rounds=1)
        ctx.config = embedded_config(server.api_base)
        ctx.server = server
        ctx.workload = Workload(rounds=1, budget_s=0.001, requests=4, concurrency=2, quick=True)
        try:
            result = run_scenario(EndToEnd("e2e.test", "wrong reply", expected_reply="the expected answer"), ctx)
        finally:
            ctx.arms.close()
            ctx.loop.close()
    assert result.status == "failed"
    assert len(result.problems) == 2  # one per arm
    assert all("12 returned other content than the fake server's" in p for p in result.problems), result.problems


def test_token_scenarios_catch_an_implementation_that_differs_from_stock() -> None:
    doc, results = run_bench(
        BenchOptions(quick=True, rounds=1, patterns=("tokens.short_chat",)),
        plugin_manager=sample_manager("wrong"),
        progress=False,
    )
    assert not doc["ok"]
    assert any("differ from stock" in line for line in doc["failures"])
    assert results[0].status == "failed"
    assert SampleCounter.instances and sum(i.calls for i in SampleCounter.instances) > 0


def test_an_inactive_feature_shows_not_installed_instead_of_failing() -> None:
    manager = PluginManager(AccelSettings(), load_entry_points=False)  # no plugin at all
    doc, _ = run_bench(
        BenchOptions(quick=True, rounds=1, patterns=("tokens", "ratelimit")), plugin_manager=manager, progress=False
    )
    assert doc["ok"]
    assert {s["status"] for s in doc["scenarios"]} == {"not installed"}
    assert all(s["ratio"] is None for s in doc["scenarios"])


# -- statistics, against numpy ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values", [[3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.0, 3.0], list(np.random.default_rng(7).random(41))]
)
def test_percentiles_match_numpy(values: list[float]) -> None:
    for q in (0, 25, 50, 75, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    s = Summary.of(values)
    assert (s.minimum, s.maximum, s.count) == (min(values), max(values), len(values))


def test_speedup_direction() -> None:
    assert speedup(10.0, 2.0, higher_is_better=False) == 5.0  # times: stock / accelerated
    assert speedup(100.0, 150.0, higher_is_better=True) == 1.5  # throughputs: accelerated / stock
    assert speedup(math.nan, 1.0, higher_is_better=False) is None


# -- the fake server child process --------------------------------------------------------------------
def test_fake_server_process_answers_litellm_plain_and_streaming() -> None:
    import litellm

    from litellm_accel.bench.server import FakeServerProcess

    with FakeServerProcess(reply="child process reply") as server:
        kwargs = {"model": "openai/gpt-4o", "api_base": server.api_base, "api_key": "sk-test"}
        messages = [{"role": "user", "content": "hi"}]
        response = litellm.completion(messages=messages, **kwargs)
        assert response.choices[0].message.content == "child process reply"
        assert response.usage.completion_tokens == 3
        stream = litellm.completion(messages=messages, stream=True, **kwargs)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        assert text == "child process reply"
        stats = server.stats()
        assert stats["requests"] == 2 and stats["streaming_requests"] == 1
