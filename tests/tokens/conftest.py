"""Fixtures of the tokens tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def _litellm_loaded() -> None:
    import litellm.litellm_core_utils.token_counter  # noqa: F401 - loads litellm once per session


@pytest.fixture
def counter(_litellm_loaded: None) -> Iterator[object]:
    """A fresh standalone builtin counter (default options)."""
    from litellm_accel_tokens.counter import BuiltinTokenCounter

    instance = BuiltinTokenCounter()
    yield instance
    instance.close()


@pytest.fixture
def restore_litellm_switches() -> Iterator[None]:
    """Put back litellm globals a test flips (``disable_token_counter`` and friends)."""
    import litellm

    saved = (litellm.disable_token_counter, litellm.disable_hf_tokenizer_download)
    yield
    litellm.disable_token_counter, litellm.disable_hf_tokenizer_download = saved
