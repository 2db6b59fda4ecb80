"""Property: for any message structure, the builtin counter's outcome is stock's outcome.

Hypothesis draws message lists from a grammar much wider than valid chat messages (unknown keys,
odd value types, malformed blocks, special-token text, images) plus tools and tool_choice; stock
litellm is the oracle. One counter instance is shared across examples so the memo is exercised too.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokens.cases import MODELS, gif, jpeg, png
from tests.tokens.helpers import compare

_COUNTER: Any = None


def shared_counter() -> Any:
    global _COUNTER
    if _COUNTER is None:
        from litellm_accel_tokens.counter import BuiltinTokenCounter

        _COUNTER = BuiltinTokenCounter(options={"memo_max_bytes": 200_000})  # small: evictions happen
    return _COUNTER


text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "<|endoftext|>", "user", "assistant", "system", "東京😀", "\n\n", "a" * 1030]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=2100),
)
images = st.builds(
    lambda maker, size, detail, as_string: (
        f"data:image/png;base64,{base64.b64encode(maker(*size)).decode()}"
        if as_string
        else {
            "url": f"data:image/png;base64,{base64.b64encode(maker(*size)).decode()}",
            **({} if detail is None else {"detail": detail}),
        }
    ),
    st.sampled_from([png, gif, jpeg]),
    st.tuples(st.integers(1, 9000), st.integers(1, 9000)),
    st.sampled_from([None, "auto", "low", "high", "bad"]),
    st.booleans(),
)
block = st.one_of(
    text,
    st.fixed_dictionaries({"type": st.just("text"), "text": st.one_of(text, st.none(), st.integers())}),
    st.fixed_dictionaries({"type": st.sampled_from(["thinking", "redacted_thinking"]), "thinking": text}),
    st.fixed_dictionaries({"type": st.just("compaction"), "content": text}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.one_of(images, st.none(), st.just(""))}),
    st.fixed_dictionaries({"type": st.just("tool_result"), "tool_use_id": st.just("t"), "content": text}),
    st.fixed_dictionaries({"type": st.sampled_from(["nonsense", "audio"])}),
    st.dictionaries(st.sampled_from(["text", "kind"]), text, max_size=2),
    st.integers(),
)
tool_call = st.one_of(
    st.fixed_dictionaries(
        {
            "id": st.just("c"),
            "type": st.just("function"),
            "function": st.fixed_dictionaries({"name": text, "arguments": text}),
        }
    ),
    st.fixed_dictionaries({"id": st.just("c")}),
)
value = st.one_of(
    text,
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(block, max_size=4),
    st.dictionaries(st.text(max_size=5), text, max_size=2),
)
message = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "developer"]),
            "content": st.one_of(text, st.none(), st.lists(block, max_size=4)),
        },
        optional={
            "name": text,
            "tool_calls": st.one_of(st.lists(tool_call, max_size=2), st.none(), text),
            "function_call": st.one_of(st.fixed_dictionaries({"name": text, "arguments": text}), st.none(), text),
            "tool_call_id": text,
            "provider_specific_fields": st.one_of(
                st.none(), st.just({"compaction_blocks": [{"type": "compaction", "content": "summary of before"}]})
            ),
            "search_results": st.one_of(
                st.none(),
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "content": st.lists(
                                st.fixed_dictionaries({"type": st.just("text"), "text": text}), max_size=2
                            )
                        }
                    ),
                    max_size=2,
                ),
            ),
        },
    ),
    st.dictionaries(st.sampled_from(["role", "content", "name", "extra", "refusal", "audio"]), value, max_size=4),
)
tool = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.text(min_size=0, max_size=12)},
            optional={
                "description": text,
                "parameters": st.fixed_dictionaries(
                    {
                        "type": st.just("object"),
                        "properties": st.dictionaries(
                            st.text(min_size=1, max_size=8),
                            st.fixed_dictionaries(
                                {
                                    "type": st.sampled_from(
                                        ["string", "number", "integer", "boolean", "array", "object", "null", "weird"]
                                    )
                                },
                                optional={
                                    "enum": st.lists(
                                        st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=4)),
                                        max_size=3,
                                    ),
                                    "description": text,
                                },
                            ),
                            max_size=3,
                        ),
                    },
                    optional={"required": st.lists(st.text(max_size=8), max_size=2)},
                ),
                "strict": st.booleans(),
            },
        ),
    }
)
tool_choice = st.one_of(
    st.none(),
    st.sampled_from(["auto", "none", "required"]),
    st.fixed_dictionaries(
        {"type": st.just("function"), "function": st.fixed_dictionaries({"name": st.text(max_size=10)})}
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["none", "auto", "tool"])}, optional={"name": st.text(max_size=10)}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    model=st.sampled_from(MODELS),
    messages=st.lists(message, max_size=5),
    tools=st.one_of(st.none(), st.lists(tool, max_size=3)),
    choice=tool_choice,
    response=st.sampled_from([False, False, True, None]),
    use_default=st.sampled_from([False, True, None]),
    default=st.sampled_from([None, None, 0, 9]),
)
def test_any_message_structure_counts_like_stock(
    model: str, messages: list[Any], tools: Any, choice: Any, response: Any, use_default: Any, default: Any
) -> None:
    case = {
        "model": model,
        "messages": messages,
        "tools": tools,
        "tool_choice": choice,
        "count_response_tokens": response,
        "use_default_image_token_count": use_default,
        "default_token_count": default,
    }
    result = compare(shared_counter(), case)
    assert result.same, result
    if result.delegated:
        assert result.stock[0] == "raised" or "download" in result.reason, result


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    value=st.one_of(text, st.lists(st.one_of(text, st.integers(), st.none()), max_size=4)),
)
def test_any_text_counts_like_stock(model: str, value: Any) -> None:
    result = compare(shared_counter(), {"model": model, "text": value})
    assert result.same, result
    assert not result.delegated or result.stock[0] == "raised", result
