"""Token counting through ``litellm.token_counter`` (the attribute every litellm caller looks up).

Every timed call gets content no earlier call saw (a serial number is part of the text), so a cache of
earlier answers cannot make a call free; the growing conversation re-counts a conversation after each new
message, which is the case an incremental counter is for. Before timing, each arm counts the same probe
inputs and :meth:`verify` requires equal counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from litellm_accel.bench.arms import ACCELERATED, ARMS
from litellm_accel.bench.scenarios.base import BenchContext, Scenario
from litellm_accel.bench.timing import Sample, time_sync

Messages = list[dict[str, Any]]

_WORDS = (
    "latency",
    "throughput",
    "router",
    "deployment",
    "token",
    "budget",
    "request",
    "model",
    "context",
    "window",
    "prompt",
    "answer",
    "cache",
    "limit",
    "retry",
    "fallback",
    "stream",
    "chunk",
    "usage",
    "cost",
    "region",
    "tenant",
    "user",
    "team",
    "key",
    "policy",
)


def _prose(words: int, seed: int) -> str:
    """Deterministic English-like text of ``words`` words with punctuation and numbers."""
    out = []
    for i in range(words):
        word = _WORDS[(i * 7 + seed * 13 + i // 5) % len(_WORDS)]
        out.append(word)
        if i % 11 == 10:
            out[-1] += "."
        elif i % 17 == 16:
            out.append(str((i * seed) % 997))
    return " ".join(out)


def short_chat(serial: int) -> Messages:
    """Three short messages, all containing ``serial``."""
    return [
        {"role": "system", "content": f"You are assistant #{serial}. Answer briefly and precisely."},
        {"role": "user", "content": f"Question {serial}: which deployment served request {serial * 7}?"},
        {"role": "assistant", "content": f"Request {serial * 7} was served by deployment {serial % 10}."},
    ]


class _TokenScenario(Scenario):
    group = "tokens"
    features = ("tokens",)

    def __init__(self, name: str, title: str) -> None:
        super().__init__(name, title)
        self.model = "gpt-4o"
        self._serial = itertools.count(1)
        self.probe_counts: dict[str, list[int]] = {}
        self.ops: dict[str, int] = dict.fromkeys(ARMS, 0)

    def setup(self, ctx: BenchContext) -> None:
        self.model = ctx.config.first_model_of(ctx.config.model_groups[0])

    # Subclasses: the inputs of one batch (fresh serial numbers) and the probe inputs.
    def batch(self, size: int) -> list[Messages]:
        raise NotImplementedError

    def probes(self) -> list[Messages]:
        raise NotImplementedError

    def batch_size(self, ctx: BenchContext) -> int:
        raise NotImplementedError

    def measure(self, arm: str, ctx: BenchContext) -> Sample:
        import litellm

        if arm not in self.probe_counts:
            self.probe_counts[arm] = [litellm.token_counter(model=self.model, messages=m) for m in self.probes()]
        inputs = self.batch(self.batch_size(ctx))
        model = self.model
        feed = iter(inputs)

        def op() -> None:
            # Looked up on every call, like litellm's own callers do.
            litellm.token_counter(model=model, messages=next(feed))

        sample = time_sync(op, ctx.workload.budget_s, min_ops=1, max_ops=len(inputs))
        self.ops[arm] += sample.ops
        return sample

    def verify(self) -> list[str]:
        stock, accel = self.probe_counts.get("stock"), self.probe_counts.get(ACCELERATED)
        if stock is None or accel is None or stock == accel:
            return []
        diffs = [f"#{i}: {a} vs stock {s}" for i, (s, a) in enumerate(zip(stock, accel, strict=False)) if s != a]
        return [f"{self.name}: accelerated token counts differ from stock ({', '.join(diffs[:3])})"]

    def details(self) -> dict[str, Any]:
        return {"model": self.model, "probe_counts_equal": self.verify() == [], "calls": dict(self.ops)}


class ShortChat(_TokenScenario):
    def batch(self, size: int) -> list[Messages]:
        return [short_chat(next(self._serial)) for _ in range(size)]

    def probes(self) -> list[Messages]:
        return [short_chat(-i) for i in range(1, 9)]

    def batch_size(self, ctx: BenchContext) -> int:
        return 4_000 if ctx.workload.quick else 30_000


class LongMessage(_TokenScenario):
    """One user message of about 4,000 tokens."""

    WORDS = 3_600

    def __init__(self, name: str, title: str) -> None:
        super().__init__(name, title)
        self._body = _prose(self.WORDS, 3)

    def _message(self, serial: int) -> Messages:
        return [{"role": "user", "content": f"Document {serial}.\n{self._body}"}]

    def batch(self, size: int) -> list[Messages]:
        return [self._message(next(self._serial)) for _ in range(size)]

    def probes(self) -> list[Messages]:
        return [self._message(-1), [{"role": "user", "content": _prose(2_000, 5)}]]

    def batch_size(self, ctx: BenchContext) -> int:
        return 200 if ctx.workload.quick else 1_000


class GrowingConversation(_TokenScenario):
    """A conversation re-counted after each new message, restarting after :attr:`TURNS` messages."""

    TURNS = 20

    def _conversation_steps(self, conversation: int) -> list[Messages]:
        messages: Messages = [{"role": "system", "content": f"Conversation {conversation}: be helpful."}]
        steps = []
        for turn in range(self.TURNS - 1):
            role = "user" if turn % 2 == 0 else "assistant"
            messages = [*messages, {"role": role, "content": f"Turn {turn} of {conversation}. " + _prose(40, turn)}]
            steps.append(messages)
        return steps

    def batch(self, size: int) -> list[Messages]:
        steps: list[Messages] = []
        while len(steps) < size:
            steps.extend(self._conversation_steps(next(self._serial)))
        return steps

    def probes(self) -> list[Messages]:
        return self._conversation_steps(-1)

    def batch_size(self, ctx: BenchContext) -> int:
        return 2_000 if ctx.workload.quick else 12_000


def scenarios() -> list[Callable[[], Scenario]]:
    return [
        lambda: ShortChat("tokens.short_chat", "token_counter, 3 short messages (new content each call)"),
        lambda: LongMessage("tokens.long_message", "token_counter, one ~4k-token message"),
        lambda: GrowingConversation("tokens.conversation", "token_counter, conversation re-counted per turn"),
    ]
