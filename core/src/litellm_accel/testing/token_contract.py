"""Conformance tests for :class:`litellm_accel.contracts.TokenCounter` implementations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from litellm_accel.contracts import TokenCounter
from litellm_accel.testing import outcomes
from litellm_accel.testing.base import ContractBase
from litellm_accel.testing.corpus import TokenCase, random_token_cases, token_corpus
from litellm_accel.testing.harness import installed


def stock_token_counter() -> Callable[..., int]:
    """Stock litellm's inner ``token_counter`` (unwrapped if litellm-accel has patched it)."""
    from litellm.litellm_core_utils import token_counter as module

    function = module.token_counter
    while hasattr(function, "__litellm_accel_guard__"):
        function = function.__wrapped__
    return function  # type: ignore[no-any-return]


def _compare(implementation: Any, stock: Callable[..., int], cases: list[TokenCase]) -> tuple[list[str], int, int]:
    """(mismatch descriptions, answered count, cases where stock returned a value)."""
    mismatches: list[str] = []
    answered = valued = 0
    for case in cases:
        expected = outcomes.run(stock, **case.arguments())
        got = outcomes.run(implementation.count, **case.arguments())
        if expected.error is None:
            valued += 1
            if not got.delegated and got.error is None:
                answered += 1
        if not outcomes.conforms(got, expected):
            mismatches.append(f"{case.id}: implementation {got.describe()}, stock {expected.describe()}")
    return mismatches, answered, valued


class TokenCounterContract(ContractBase):
    """Subclass as ``class TestMyCounter(TokenCounterContract)`` with an ``implementation_class`` fixture.

    Checks: counts equal stock's on the built-in corpus (and stay equal when repeated, after the caller
    mutates its messages, from several threads, and on seeded random chats); errors are stock's types
    or ``UseStock``; and installed through the host, ``litellm.token_counter`` answers like stock.
    """

    feature: ClassVar[str] = "tokens"
    #: Share of the corpus (cases where stock returns a count) the implementation must answer itself
    #: rather than delegate; 0 would let an implementation that always delegates pass unexamined.
    min_answered_share: ClassVar[float] = 0.5
    random_cases: ClassVar[int] = 150

    def test_meets_the_protocol(self, implementation: Any) -> None:
        assert isinstance(implementation, TokenCounter)

    def test_counts_equal_stock_on_the_corpus(self, implementation: Any) -> None:
        mismatches, answered, valued = _compare(implementation, stock_token_counter(), token_corpus())
        assert not mismatches, f"{len(mismatches)} mismatches with stock:\n" + "\n".join(mismatches[:20])
        assert answered >= self.min_answered_share * valued, (
            f"answered only {answered} of {valued} countable cases itself (the rest was UseStock)"
        )

    def test_repeated_counts_stay_equal(self, implementation: Any) -> None:
        cases = token_corpus()
        stock = stock_token_counter()
        for round_ in range(3):
            mismatches, _answered, _valued = _compare(implementation, stock, cases)
            assert not mismatches, f"round {round_}: " + "\n".join(mismatches[:20])

    def test_caller_mutations_are_counted_afresh(self, implementation: Any) -> None:
        stock = stock_token_counter()
        messages = [{"role": "user", "content": "first words"}]
        assert outcomes.conforms(
            outcomes.run(implementation.count, model="gpt-4o", messages=messages),
            outcomes.run(stock, model="gpt-4o", messages=messages),
        )
        messages[0]["content"] += " and many more words appended in place"
        messages.append({"role": "assistant", "content": "a reply"})
        got = outcomes.run(implementation.count, model="gpt-4o", messages=messages)
        expected = outcomes.run(stock, model="gpt-4o", messages=messages)
        assert outcomes.conforms(got, expected), f"after mutation: {got.describe()} != stock {expected.describe()}"

    def test_seeded_random_chats_equal_stock(self, implementation: Any) -> None:
        mismatches, _answered, _valued = _compare(
            implementation, stock_token_counter(), random_token_cases(self.random_cases)
        )
        assert not mismatches, f"{len(mismatches)} mismatches with stock:\n" + "\n".join(mismatches[:20])

    def test_concurrent_counts_equal_stock(self, implementation: Any) -> None:
        cases = [c for c in token_corpus() if "long" not in c.id][:120]
        stock = stock_token_counter()
        expected = {c.id: outcomes.run(stock, **c.arguments()) for c in cases}
        failures: list[str] = []

        def worker(offset: int) -> None:
            for case in cases[offset:] + cases[:offset]:
                got = outcomes.run(implementation.count, **case.arguments())
                if not outcomes.conforms(got, expected[case.id]):
                    failures.append(f"{case.id}: {got.describe()} != stock {expected[case.id].describe()}")

        threads = [threading.Thread(target=worker, args=(i * 30,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, "\n".join(failures[:20])

    def test_installed_through_the_host_answers_like_stock(
        self, implementation_class: type, implementation_options: dict[str, Any], accel_settings: dict[str, Any]
    ) -> None:
        import litellm
        import litellm.utils

        from litellm_accel.metrics import REGISTRY

        stock = stock_token_counter()
        originals = (litellm.token_counter, litellm.utils.token_counter)
        cases = [c for c in token_corpus() if c.id.startswith(("user[", "conversation[", "tools[", "text["))]
        expected = [outcomes.run(stock, **c.arguments()) for c in cases]
        with installed(self.feature, implementation_class, implementation_options, **accel_settings):
            assert litellm.token_counter is not originals[0], "the host did not patch litellm.token_counter"
            for function in (litellm.token_counter, litellm.utils.token_counter):
                for case, want in zip(cases, expected, strict=True):
                    got = outcomes.run(function, **case.arguments())
                    assert got == want, f"{case.id}: {got.describe()} != stock {want.describe()}"
            metrics = REGISTRY.get(self.feature)
            assert metrics is not None and metrics.errors == 0, (
                f"implementation errors: {metrics and metrics.last_error}"
            )
            assert metrics.accelerated > 0, "every call was delegated or answered by stock"
        assert (litellm.token_counter, litellm.utils.token_counter) == originals, "uninstall() did not restore litellm"
