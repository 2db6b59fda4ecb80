"""The kit works the way docs/writing-a-plugin.md tells a plugin author to use it: a test file outside
this repository's test suite, run by a separate ``pytest -p litellm_accel.testing.pytest_plugin``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

AUTHOR_TESTS = textwrap.dedent(
    '''
    import pytest
    from litellm_accel.testing import TokenCounterContract


    class StockEcho:
        """Answers with stock's count (conforms)."""
        name = "stock-echo"

        def __init__(self, context):
            from litellm.litellm_core_utils.token_counter import token_counter
            self._stock = token_counter

        def count(self, *args, **kwargs):
            return self._stock(*args, **kwargs)

        def close(self):
            pass


    class CountsOneMore(StockEcho):
        """Adds one to every count (breaks the contract)."""
        name = "counts-one-more"

        def count(self, *args, **kwargs):
            return self._stock(*args, **kwargs) + 1


    class TestStockEcho(TokenCounterContract):
        @pytest.fixture
        def implementation_class(self):
            return StockEcho


    class TestCountsOneMore(TokenCounterContract):
        @pytest.fixture
        def implementation_class(self):
            return CountsOneMore


    def test_not_a_contract_test():
        pass
    '''
)


def test_author_runs_the_kit_with_dash_p(tmp_path: Path) -> None:
    (tmp_path / "test_author_counter.py").write_text(AUTHOR_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the author's own rootdir, not this repository's
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "litellm_accel.testing.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-m",
            "accel_contract",
            f"--junitxml={report}",
            "test_author_counter.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "plugin API" in result.stdout, "the kit's report header is missing"
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"] = (
            "failed" if failed else "passed"
        )
    echo = {name: outcome for name, outcome in outcomes.items() if name.startswith("TestStockEcho::")}
    one_more = {name: outcome for name, outcome in outcomes.items() if name.startswith("TestCountsOneMore::")}
    assert len(echo) == len(one_more) == 8, outcomes
    assert set(echo.values()) == {"passed"}, echo
    for test in (
        "test_counts_equal_stock_on_the_corpus",
        "test_repeated_counts_stay_equal",
        "test_seeded_random_chats_equal_stock",
        "test_concurrent_counts_equal_stock",
        "test_installed_through_the_host_answers_like_stock",
    ):
        assert one_more[f"TestCountsOneMore::{test}"] == "failed", test
    assert "test_not_a_contract_test" not in str(outcomes), "-m accel_contract should deselect other tests"
