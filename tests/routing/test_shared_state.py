"""Shared routing state through a real redis-server: two processes (this test and a peer started with
``tests/routing/shared_state_peer.py``) see each other's usage, in-flight counts and latency within the
documented staleness (two flush intervals plus round trips), a silent instance drops out after the ttl,
no Redis command runs on the pick path, and Redis failures never reach a pick."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm import Router

import litellm_accel
from litellm_accel_routing.shared_state import merge_latency_maps, own_state, parse_exchange
from tests.routing.helpers import accelerated_routing, routing_settings
from tests.routing.shared_state_models import model_list

REPO = Path(__file__).resolve().parents[2]
FLUSH = 0.2
TTL = 2.0
#: The documented bound (two flushes) plus slack for a loaded CI machine and process start-up.
SEEN_WITHIN = 2 * FLUSH + 3.0
MESSAGES = [{"role": "user", "content": "hello"}]


def shared_options(**extra: Any) -> dict[str, Any]:
    return {"shared_state_flush_seconds": FLUSH, "shared_state_ttl_seconds": TTL, **extra}


class Peer:
    """The other instance: a child process with its own Router, driven line by line."""

    def __init__(self, redis_url: str, strategy: str, **options: Any) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_ACCEL_")}
        env.update(
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            LITELLM_ACCEL_REDIS_URL=redis_url,
            LITELLM_ACCEL_TOKENS__ENABLED="false",
            LITELLM_ACCEL_POOL__ENABLED="false",
            LITELLM_ACCEL_RATELIMIT__ENABLED="false",
            PEER_STRATEGY=strategy,
            PYTHONPATH=str(REPO),
        )
        for name, value in shared_options(**options).items():
            env[f"LITELLM_ACCEL_ROUTING__OPTIONS__{name.upper()}"] = str(value)
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "routing" / "shared_state_peer.py")],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._answer() == "ready"

    def _answer(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line, f"peer exited with {self.proc.poll()}"
        return line

    def do(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        assert self._answer() == "ok"

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.do("quit")
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    started: list[Peer] = []

    def start(redis_url: str, strategy: str, **options: Any) -> Peer:
        peer = Peer(redis_url, strategy, **options)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


def picks(router: Router, n: int = 40) -> Counter[str]:
    return Counter(router.get_available_deployment("g")["model_info"]["id"] for _ in range(n))


def eventually(condition: Callable[[], bool], within: float) -> float | None:
    """Seconds until ``condition()`` held, or ``None`` if it did not within ``within`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def install_shared(monkeypatch: pytest.MonkeyPatch, redis_url: str, **options: Any) -> Any:
    monkeypatch.setenv("LITELLM_ACCEL_REDIS_URL", redis_url)
    return accelerated_routing(options=shared_options(**options))


# -- two processes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "in-process"])
def test_usage_from_another_process_is_seen(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, peers: Callable[..., Peer], shared: bool
) -> None:
    """The peer sends 10 requests to d1 (usage-v2 records their tokens); within the staleness bound this
    process's usage-v2 picks (the lowest usage) never choose d1, neither the accelerated pick nor stock's
    pick inside ``completion`` (5 of them: their own tokens on d2 stay below the peer's on d1). With
    shared state off they still do."""
    peer = peers(redis_url, "usage-based-routing-v2")
    extra = {} if shared else {"shared_state": "off"}
    with install_shared(monkeypatch, redis_url, **extra):
        router = Router(model_list=model_list(), routing_strategy="usage-based-routing-v2")
        try:
            assert picks(router)["d1"] > 0  # nothing used yet: both deployments are picked
            peer.do("usage 10 d1")
            seen = eventually(lambda: picks(router)["d1"] == 0, SEEN_WITHIN)
            if shared:
                assert seen is not None, "the peer's usage never reached this process"
                assert picks(router, 200)["d1"] == 0
                # Stock's own pick inside completion reads the same merged usage.
                for _ in range(5):
                    response = router.completion(model="g", messages=MESSAGES, mock_response="ok")
                    assert response._hidden_params["model_id"] == "d2"
            else:
                assert seen is None
        finally:
            router.retire()


def test_in_flight_requests_of_another_process_are_seen(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, peers: Callable[..., Peer]
) -> None:
    """least-busy picks the first least busy deployment (d1 when idle). While the peer has 3 requests in
    flight on d1, this process picks d2; when they finish, d1 again."""
    peer = peers(redis_url, "least-busy")
    with install_shared(monkeypatch, redis_url):
        router = Router(model_list=model_list(), routing_strategy="least-busy")
        try:
            assert picks(router) == Counter({"d1": 40})
            hold_seconds = SEEN_WITHIN + 3.0
            peer.do(f"hold 3 d1 {hold_seconds}")
            assert eventually(lambda: picks(router) == Counter({"d2": 40}), SEEN_WITHIN) is not None
            peer.do("wait")
            assert eventually(lambda: picks(router) == Counter({"d1": 40}), SEEN_WITHIN) is not None
        finally:
            router.retire()


def test_latency_of_another_process_is_seen(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, peers: Callable[..., Peer]
) -> None:
    """The peer measured d1 slow and d2 fast; this process has no sample of its own and, once the peer's
    samples arrive, latency-based routing picks only d2 (before, both)."""
    peer = peers(redis_url, "latency-based-routing")
    with install_shared(monkeypatch, redis_url):
        router = Router(model_list=model_list(), routing_strategy="latency-based-routing")
        try:
            assert set(picks(router)) == {"d1", "d2"}
            peer.do("slow 3 d1 0.3")
            peer.do("slow 3 d2 0.0")
            assert eventually(lambda: picks(router) == Counter({"d2": 40}), SEEN_WITHIN) is not None
        finally:
            router.retire()


def test_a_killed_instance_stops_counting_after_the_ttl(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, peers: Callable[..., Peer]
) -> None:
    """A peer killed with requests in flight publishes no more: after ttl its in-flight count is gone."""
    peer = peers(redis_url, "least-busy")
    with install_shared(monkeypatch, redis_url):
        router = Router(model_list=model_list(), routing_strategy="least-busy")
        try:
            peer.do("hold 3 d1 600")
            assert eventually(lambda: picks(router) == Counter({"d2": 40}), SEEN_WITHIN) is not None
            peer.proc.kill()
            peer.proc.wait()
            assert eventually(lambda: picks(router) == Counter({"d1": 40}), TTL + SEEN_WITHIN) is not None
        finally:
            router.retire()


# -- one process -------------------------------------------------------------------------------------


def test_no_redis_command_on_the_pick_path(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    """With a long flush interval, hundreds of picks and completions between two exchanges send Redis
    nothing (the server's own command counter is the witness)."""
    client = redis.Redis.from_url(redis_url)
    with install_shared(
        monkeypatch, redis_url, shared_state_flush_seconds=30, shared_state_ttl_seconds=120
    ) as implementation:
        router = Router(model_list=model_list(), routing_strategy="usage-based-routing-v2")
        try:
            router.get_available_deployment("g")  # registers the router; the first exchange runs now
            exchanges = implementation.metrics.counter_value
            assert eventually(lambda: exchanges("shared_state_exchanges") >= 1, 5) is not None
            before = int(client.info("stats")["total_commands_processed"])
            for _ in range(200):
                router.get_available_deployment("g")
            for _ in range(20):
                router.completion(model="g", messages=MESSAGES, mock_response="ok")
            after = int(client.info("stats")["total_commands_processed"])
            assert after - before == 1  # the first INFO itself
            assert exchanges("shared_state_exchanges") == 1
        finally:
            router.retire()


def test_uninstall_withdraws_this_instance(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with install_shared(monkeypatch, redis_url) as implementation:
        router = Router(model_list=model_list(), routing_strategy="least-busy")
        router.get_available_deployment("g")
        zset = implementation.options.shared_state_prefix + "participants"
        assert eventually(lambda: client.zcard(zset) == 1, 5) is not None
        router.retire()
    assert client.zcard(zset) == 0
    assert client.keys(implementation.options.shared_state_prefix + "p:*") == []


def test_redis_down_never_reaches_a_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens at the URL: picks and completions answer as stock, the errors are counted."""
    from tests.conftest import free_port

    with install_shared(monkeypatch, f"redis://127.0.0.1:{free_port()}/0", shared_state_timeout_ms=100) as impl:
        router = Router(model_list=model_list(), routing_strategy="usage-based-routing-v2")
        try:
            assert set(picks(router)) == {"d1", "d2"}
            for _ in range(3):
                router.completion(model="d1", messages=MESSAGES, mock_response="ok")
            assert eventually(lambda: impl.metrics.counter_value("shared_state_errors") >= 2, 5) is not None
            # This process's own usage still counts, as in stock (recorded by litellm's logging worker).
            assert eventually(lambda: picks(router) == Counter({"d2": 40}), 5) is not None
            assert litellm_accel.metrics()["routing"]["errors"] == 0
        finally:
            router.retire()


def test_flag_off_reads_local_state_only(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    """Two routers of this process share through Redis too; with the routing flag off neither sees the
    other (stock), with it on again they do."""
    with install_shared(monkeypatch, redis_url):
        first = Router(model_list=model_list(), routing_strategy="usage-based-routing-v2")
        second = Router(model_list=model_list(), routing_strategy="usage-based-routing-v2")
        try:
            picks(second)
            for _ in range(3):
                first.completion(model="d1", messages=MESSAGES, mock_response="ok")
            assert eventually(lambda: picks(second)["d1"] == 0, SEEN_WITHIN) is not None
            litellm_accel.set_flag("routing", "off")
            assert picks(second, 100)["d1"] > 0
            litellm_accel.set_flag("routing", "on")
            assert picks(second, 100)["d1"] == 0
        finally:
            first.retire()
            second.retire()


def test_a_router_with_its_own_redis_is_left_to_stock(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    with install_shared(monkeypatch, redis_url) as implementation:
        router = Router(
            model_list=model_list(), routing_strategy="least-busy", redis_host=host, redis_port=int(port)
        )
        try:
            router.get_available_deployment("g")
            assert implementation.shared_state.participant(router._core._cache) is None
        finally:
            router.retire()


def test_invalid_shared_state_options_skip_the_feature_with_a_clear_reason() -> None:
    bad = [
        ({"shared_state_flush_seconds": 5, "shared_state_ttl_seconds": 6}, "shared_state_ttl_seconds"),
        ({"shared_state": "sometimes"}, "shared_state"),
        ({"shared_state_flush_seconds": 0}, "shared_state_flush_seconds"),
    ]
    for options, named in bad:
        report = litellm_accel.install(routing_settings(options=options))
        try:
            status = report.features["routing"]
            assert status.status == "skipped"
            assert named in status.reason
        finally:
            litellm_accel.uninstall()


# -- the pieces ----------------------------------------------------------------------------------------


def test_latency_maps_merge_every_instances_samples() -> None:
    own = {
        "d1": {"latency_normalized": [1.0, 2.0], "2026-11-26-10-00": {"tpm": 10, "rpm": 1}},
        "d2": {"latency_normalized": [0], "2026-11-26-10-00": {"tpm": 0, "rpm": 0}},  # never used here
    }
    peer_a = {"d1": {"latency_normalized": [3.0], "time_to_first_token_seconds": [0.5]}}
    peer_b = {
        "d1": {"latency_normalized": [4.0], "2026-11-26-10-00": {"tpm": 5, "rpm": 2}},
        "d2": {"latency_normalized": [9.0]},
    }
    merged = merge_latency_maps(own, [peer_a, peer_b])
    assert sorted(merged["d1"]["latency_normalized"]) == [1.0, 2.0, 3.0, 4.0]
    assert merged["d1"]["time_to_first_token_seconds"] == [0.5]
    assert merged["d1"]["2026-11-26-10-00"] == {"tpm": 15, "rpm": 3}
    assert merged["d2"]["latency_normalized"] == [9.0]  # the placeholder gives way to a real sample
    assert own["d1"]["latency_normalized"] == [1.0, 2.0]  # inputs are not modified
    only_placeholder = merge_latency_maps(own, [{}])
    assert only_placeholder["d2"] == own["d2"]


def test_own_state_and_exchange_round_trip(redis_url: str) -> None:
    """What one router's cache publishes is what another participant reads, summed over participants;
    expired entries and placeholders are not published."""
    routers = [Router(model_list=model_list(), routing_strategy="least-busy") for _ in range(2)]
    try:
        for index, router in enumerate(routers):
            cache = router._core._cache
            cache.set_cache("g_request_count:d1", index + 1, local_only=True)
            cache.set_cache("d1:openai/model-one:rpm:10-00", 5, local_only=True)
            cache.set_cache("d2:openai/model-two:tpm:10-00", 7, local_only=True, ttl=-1)  # already expired
            cache.set_cache("g_map", {"d1": {"latency_normalized": [0.1 * (index + 1)]}}, local_only=True)
            cache.set_cache("unrelated", 99, local_only=True)
        states = [own_state(router._core._cache) for router in routers]
        fields = dict(zip(states[0][::2], states[0][1::2], strict=True))
        assert set(fields) == {"c:g_request_count:d1", "c:d1:openai/model-one:rpm:10-00", "l:g_map"}
        client = redis.Redis.from_url(redis_url)
        script = client.register_script(
            __import__("litellm_accel_routing.shared_state", fromlist=["_EXCHANGE"])._EXCHANGE
        )
        script(keys=["t:participants"], args=["a", 5000, "t:", *states[0]])
        script(keys=["t:participants"], args=["b", 5000, "t:", *states[1]])
        reply = script(keys=["t:participants"], args=["c", 5000, "t:"])
        snapshot = parse_exchange(reply)
        assert snapshot.participants == 2
        assert snapshot.counts == {"g_request_count:d1": 3, "d1:openai/model-one:rpm:10-00": 10}
        assert sorted(m["d1"]["latency_normalized"][0] for m in snapshot.latency["g_map"]) == pytest.approx([0.1, 0.2])
        # A participant does not read itself back.
        assert parse_exchange(script(keys=["t:participants"], args=["a", 5000, "t:", *states[0]])).counts == {
            "g_request_count:d1": 2,
            "d1:openai/model-one:rpm:10-00": 5,
        }
    finally:
        for router in routers:
            router.retire()


# -- properties of the merges ----------------------------------------------------------------------------

samples = st.lists(st.floats(min_value=0.001, max_value=100, allow_nan=False), min_size=1, max_size=5)
minute_usage = st.fixed_dictionaries({"tpm": st.integers(0, 10_000), "rpm": st.integers(0, 100)})
latency_entry = st.fixed_dictionaries(
    {"latency_normalized": samples},
    optional={"time_to_first_token_seconds": samples, "2026-11-26-10-00": minute_usage},
)
latency_map = st.dictionaries(st.sampled_from(["d1", "d2", "d3"]), latency_entry, max_size=3)


@settings(max_examples=200, deadline=None)
@given(own=latency_map, others=st.lists(latency_map, max_size=3))
def test_merged_latency_keeps_every_sample_and_sums_usage(own: dict[str, Any], others: list[dict[str, Any]]) -> None:
    merged = merge_latency_maps(own, others)
    sources = [own, *others]
    assert set(merged) == {d for source in sources for d in source}
    for deployment_id, entry in merged.items():
        present = [source[deployment_id] for source in sources if deployment_id in source]
        for name in ("latency_normalized", "time_to_first_token_seconds"):
            expected = Counter(x for e in present for x in e.get(name, ()))
            assert Counter(entry.get(name, ())) == expected
        for counter in ("tpm", "rpm"):
            total = sum(e["2026-11-26-10-00"][counter] for e in present if "2026-11-26-10-00" in e)
            assert entry.get("2026-11-26-10-00", {}).get(counter, 0) == total


@settings(max_examples=200, deadline=None)
@given(
    local=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    others=st.lists(st.dictionaries(st.sampled_from([f"k{i}" for i in range(8)]), st.integers(1, 50)), max_size=3),
)
def test_merged_counts_are_local_plus_every_other_instance(local: list[int], others: list[dict[str, int]]) -> None:
    """What other participants publish (in the exchange script's reply format) is summed and added to this
    router's own count key by key; with no other participant the counts are unchanged."""
    from litellm_accel_routing.shared_state import SharedRoutingState

    keys = [f"k{i}" for i in range(len(local))]
    state = SharedRoutingState.__new__(SharedRoutingState)  # the merge needs only a snapshot, no Redis
    reply: list[Any] = []
    for index, counts in enumerate(others):
        fields = [x for key, value in counts.items() for x in (f"c:{key}", str(value))]
        reply += [f"peer{index}", fields]

    class Cache:
        redis_cache = None
        in_memory_cache = None

    cache = Cache()

    class Found:
        snapshot = parse_exchange(reply)

    state.ttl_seconds = 10
    state.participant = lambda _cache: Found  # type: ignore[method-assign]
    merged = state.merge_counts(cache, keys, tuple(local))
    assert merged == tuple(n + sum(o.get(k, 0) for o in others) for k, n in zip(keys, local, strict=True))
