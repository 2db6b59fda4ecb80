"""Parity of the builtin counter with the real stock ``token_counter`` (litellm 1.110.2).

Every assertion compares with stock litellm called on the same input in the same process; a call the
counter delegates (``UseStock``) is answered by stock, exactly as the guard does, and the suites also
check that delegation stays rare and happens only for the documented reasons.
"""

from __future__ import annotations

import base64
import random
from collections import Counter
from typing import Any

import pytest

from litellm_accel.contracts import UseStock
from tests.tokens.cases import DOWNLOAD_MODELS, MODELS, generated_cases, png, sentence
from tests.tokens.helpers import compare, outcome, stock_token_counter

GENERATED = generated_cases(seed=20261126, per_model=20)


def _check_all(counter: Any, cases: list[dict[str, Any]]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    mismatches = []
    for case in cases:
        result = compare(counter, case)
        if not result.same:
            mismatches.append((case, result))
        if result.delegated:
            # Delegating an input is only allowed where stock itself raises (stock then raises its
            # own exception) or for the documented reasons.
            assert result.stock[0] == "raised" or "download" in result.reason, (case, result)
            kinds["delegated"] += 1
        else:
            kinds["accelerated"] += 1
    assert mismatches == [], mismatches[:3]
    return kinds


def test_generated_corpus_is_large_and_covers_every_model() -> None:
    assert len(GENERATED) >= 500
    assert {case["model"] for case in GENERATED} == set(MODELS)
    assert sum("messages" in case for case in GENERATED) >= 500


def test_generated_cases_equal_stock(counter: Any) -> None:
    kinds = _check_all(counter, GENERATED)
    # Parity must not come from handing everything to stock.
    assert kinds["accelerated"] >= 0.85 * len(GENERATED), kinds


def test_generated_cases_equal_stock_when_the_memo_is_warm(counter: Any) -> None:
    _check_all(counter, GENERATED[:300])
    hits_before = counter.memo.hits
    _check_all(counter, GENERATED[:300])
    assert counter.memo.hits > hits_before  # the second pass is answered from the memo


def test_generated_cases_equal_stock_without_the_memo() -> None:
    from litellm_accel_tokens.counter import BuiltinTokenCounter

    _check_all(BuiltinTokenCounter(options={"memo_enabled": False}), GENERATED[::3])


def test_litellm_message_objects_and_mixed_lists(counter: Any) -> None:
    from litellm import Message

    rng = random.Random(3)
    for model in ("gpt-4o", "gpt-3.5-turbo-0301", "claude-sonnet-4-5", "deepseek-chat"):
        messages = [
            Message(role="assistant", content=sentence(rng)),
            Message(
                role="assistant",
                content=None,
                tool_calls=[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            ),
            {"role": "user", "content": sentence(rng), "name": "bob"},
            Message(role="assistant", content=sentence(rng), function_call={"name": "g", "arguments": "{}"}),
        ]
        result = compare(counter, {"model": model, "messages": messages})
        assert result.same and not result.delegated, result


def test_tool_messages_names_and_every_tool_choice(counter: Any) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a thing up",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string"}, "n": {"type": "number", "enum": [1, 1.0, True]}},
                "required": ["q"],
            },
        },
    }
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "find it", "name": "alice"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}],
        },
        {"role": "tool", "tool_call_id": "1", "content": "found"},
    ]
    choices = [
        None,
        "auto",
        "none",
        "required",
        {"type": "function", "function": {"name": "lookup"}},
        {"type": "none"},
        {"name": "lookup"},
        {"type": "tool", "name": "lookup"},
        {"function": {}},
    ]
    for model in ("gpt-4o", "gpt-4", "gpt-3.5-turbo-0301", "deepseek-chat", "xai/grok-4.1", "qwen3.5-72b"):
        for choice in choices:
            for tools in (None, [], [tool], [tool, {"type": "function", "function": {"name": "bare"}}]):
                result = compare(counter, {"model": model, "messages": messages, "tools": tools, "tool_choice": choice})
                assert result.same and not result.delegated, (model, choice, tools, result)


def test_disable_token_counter_returns_zero(counter: Any, restore_litellm_switches: None) -> None:
    import litellm

    litellm.disable_token_counter = True
    for kwargs in (
        {"model": "gpt-4o", "text": "hello"},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        {"text": "a", "messages": []},
        {},
    ):
        result = compare(counter, kwargs)
        assert result.same and result.stock == ("ok", 0) and not result.delegated


def test_special_token_text_is_counted_as_plain_text(counter: Any) -> None:
    specials = [
        "<|endoftext|>",
        "<|fim_prefix|>",
        "<|fim_middle|>",
        "<|fim_suffix|>",
        "<|endofprompt|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|><|endoftext|>",
        "x<|endoftext|>y",
    ]
    for model in ("gpt-4o", "gpt-4", "claude-sonnet-4-5", "deepseek-chat", ""):
        for special in specials:
            for kwargs in (
                {"model": model, "text": special},
                {"model": model, "messages": [{"role": "user", "content": special}]},
            ):
                result = compare(counter, kwargs)
                assert result.same and not result.delegated, (kwargs, result)


def test_chunk_boundaries_change_counts_and_are_reproduced(counter: Any) -> None:
    import litellm.litellm_core_utils.token_counter as stock_module

    encoding = stock_module.openai_tokenizer_encoding("gpt-4o")
    boundary_changed = False
    for length in (1023, 1024, 1025, 2047, 2048, 2049, 5000):
        for filler in ("a", "ab ", "東京", "😀", "word "):
            text = (filler * length)[: length - 1] + "é"
            result = compare(counter, {"model": "gpt-4o", "text": text})
            assert result.same and not result.delegated, (length, filler)
            if result.stock[1] != len(encoding.encode(text, disallowed_special=())):
                boundary_changed = True
    assert boundary_changed  # litellm's chunked encoding is really being exercised


def test_surrogates_and_unusual_text(counter: Any) -> None:
    for text in ("\ud800", "a\udfffb" * 700, "\x00\x01", "", " ", "\n" * 3000, ["a", None, 3, "b"], []):
        for model in ("gpt-4o", "gpt-3.5-turbo", "deepseek-chat"):
            result = compare(counter, {"model": model, "text": text})
            # The HuggingFace tokenizers reject lone surrogates (TypeError): stock raises, so do we.
            assert result.same and (not result.delegated or result.stock[0] == "raised"), (model, result)


def test_images_every_detail_and_encoding(counter: Any) -> None:
    rng = random.Random(11)
    for use_default in (False, True, None):
        for detail in ("auto", "low", "high", "original", None):
            for raw in (png(512, 512), png(4000, 1000), png(10, 20000)):
                url = "data:image/png;base64," + base64.b64encode(raw).decode()
                image_url: Any = {"url": url} if detail is None else {"url": url, "detail": detail}
                case = {
                    "model": rng.choice(["gpt-4o", "gpt-4", "claude-sonnet-4-5"]),
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "look"},
                                {"type": "image_url", "image_url": image_url},
                            ],
                        }
                    ],
                    "use_default_image_token_count": use_default,
                }
                result = compare(counter, case)
                assert result.same, (detail, use_default, result)
                assert not result.delegated or result.stock[0] == "raised"


def test_image_urls_that_stock_would_download_are_delegated(counter: Any) -> None:
    url = "http://127.0.0.1:9/cat.png"  # nothing listens there: stock's attempt fails fast and offline
    case = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url, "detail": "high"}}]}],
    }
    with pytest.raises(UseStock, match="download"):
        counter.count(**case)
    # Stock answers those; with use_default_image_token_count stock never downloads, nor do we delegate.
    assert compare(counter, case).same
    result = compare(counter, {**case, "use_default_image_token_count": True})
    assert result.same and not result.delegated
    for detail in ("auto", "low"):
        auto = {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url, "detail": detail}}]}
            ],
        }
        result = compare(counter, auto)
        assert result.same and not result.delegated


def test_downloaded_tokenizers_are_delegated(counter: Any) -> None:
    for model in DOWNLOAD_MODELS:
        if model == "command-r":
            continue  # not in litellm's cohere table: counted on tiktoken like any unknown model
        with pytest.raises(UseStock):
            counter.count(model=model, messages=[{"role": "user", "content": "hi"}])


def test_errors_have_stock_exception_types(counter: Any) -> None:
    cases = [
        {"model": "gpt-4o", "text": "a", "messages": []},
        {"model": "gpt-4o"},
        {"model": "gpt-4o", "text": "a", "tools": [{"type": "function", "function": {"name": "f"}}]},
        {"model": "gpt-4o", "text": "a", "tool_choice": "auto"},
        {"model": "gpt-4o", "messages": "not a list"},
        {"model": "gpt-4o", "messages": [["role", "user"]]},
        {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": "oops"}]},
        {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"id": "x"}]}]},
        {"model": "gpt-4o", "messages": [{"role": "assistant", "function_call": "auto"}]},
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x", "detail": "ultra"}}]}
            ],
        },
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "nope"}]}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "nope"}]}], "default_token_count": 5},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [42]}]},
        {"model": 123, "text": "x"},
        {"model": "gpt-4o", "text": 12},
    ]
    for case in cases:
        result = compare(counter, case)
        assert result.same, (case, result)


def test_custom_tokenizers_and_model_none(counter: Any) -> None:
    from importlib import resources

    from tokenizers import Tokenizer

    json_text = (
        resources.files("litellm.litellm_core_utils.tokenizers").joinpath("deepseek_tokenizer.json").read_text("utf-8")
    )
    custom_hf = {"type": "huggingface_tokenizer", "tokenizer": Tokenizer.from_str(json_text)}
    messages = [{"role": "user", "content": "Bonjour, ça va? 東京 <|endoftext|>"}]
    for custom in (custom_hf, {"type": "openai_tokenizer", "tokenizer": None}, {}, None):
        for model in ("gpt-4o", "claude-sonnet-4-5", ""):
            for kwargs in ({"text": "hello world " * 50}, {"messages": messages}):
                result = compare(counter, {"model": model, "custom_tokenizer": custom, **kwargs})
                assert result.same and not result.delegated, (custom, model, result)
    for kwargs in ({"text": "hello"}, {"messages": messages}):
        result = compare(counter, {"model": None, **kwargs})
        assert result.same, result
    result = compare(counter, {"model": "gpt-4o", "custom_tokenizer": {"type": "weird"}, "text": "x"})
    assert result.same and result.delegated


def test_hf_download_switch_and_runtime_registered_models(
    counter: Any, restore_litellm_switches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import litellm

    messages = [{"role": "user", "content": "Count me with the right tokenizer, please: 東京 😀"}]
    for model in ("claude-sonnet-4-5", "deepseek-chat", "my-brand-new-gpt"):
        assert compare(counter, {"model": model, "messages": messages}).same
    litellm.disable_hf_tokenizer_download = True
    for model in ("claude-sonnet-4-5", "deepseek-chat"):
        result = compare(counter, {"model": model, "messages": messages})
        assert result.same and not result.delegated
    litellm.disable_hf_tokenizer_download = None
    monkeypatch.setattr(litellm, "model_cost", dict(litellm.model_cost))
    monkeypatch.setattr(litellm, "open_ai_chat_completion_models", set(litellm.open_ai_chat_completion_models))
    before = counter.count(model="my-brand-new-gpt", text="Σ" * 300)
    litellm.register_model(
        {"my-brand-new-gpt": {"litellm_provider": "openai", "mode": "chat", "max_input_tokens": 1000}}
    )
    result = compare(counter, {"model": "my-brand-new-gpt", "text": "Σ" * 300})
    assert result.same and not result.delegated
    assert before == outcome(stock_token_counter(), {"model": "gpt-3.5-turbo", "text": "Σ" * 300})[1]


@pytest.mark.slow
def test_text_above_the_exact_limit_is_extrapolated_like_stock(counter: Any) -> None:
    plan = counter._plans.get("gpt-4o", None)
    text = "The quick brown fox jumps over the lazy dog. " * (counter._helpers.max_exact_chars // 45 + 10)
    result = compare(counter, {"model": "gpt-4o", "text": text})
    assert result.same and not result.delegated
    assert len(text) > counter._helpers.max_exact_chars and plan is not None
