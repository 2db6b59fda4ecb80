"""The plugin installed through litellm-accel: every caller path reaches it, answers stay stock's,
and ``uninstall()`` puts back the identical objects.

Real litellm throughout: ``litellm.token_counter``, a ``Router`` with ``enable_pre_call_checks`` and a
``usage-based-routing-v2`` Router answering with litellm's own ``mock_response`` (no provider call).
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

import litellm_accel
from litellm_accel.settings import AccelSettings

ONLY_TOKENS = {"routing": {"enabled": False}, "pool": {"enabled": False}, "ratelimit": {"enabled": False}}
MESSAGES = [{"role": "user", "content": "Hello there, this message has quite a few tokens in it, more than five."}]
MODEL_LIST = [
    {"model_name": "m", "litellm_params": {"model": "gpt-4o", "api_key": "x"}, "model_info": {"id": "big"}},
    {
        "model_name": "m",
        "litellm_params": {"model": "gpt-4o", "api_key": "x"},
        "model_info": {"id": "small", "max_input_tokens": 5},
    },
]


def install(**tokens: Any) -> None:
    report = litellm_accel.install(AccelSettings(tokens=tokens, **ONLY_TOKENS))
    status = report.features["tokens"]
    assert status.status == "active", status.reason
    assert status.implementation == "builtin"


def accelerated() -> int:
    return int(litellm_accel.metrics()["tokens"]["accelerated"])


COUNTER_MODULES = {"litellm.utils", "litellm.litellm_core_utils.token_counter"}


def token_counter_bindings() -> dict[str, Any]:
    """Every litellm module attribute named token_counter, by module (the objects themselves)."""
    bindings = {}
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "litellm" or name.startswith("litellm.")):
            value = getattr(module, "__dict__", {}).get("token_counter")
            # Only litellm's counting function and its wrapper (the proxy server, for one, defines an
            # HTTP endpoint that happens to be called token_counter too); not the submodules.
            if getattr(value, "__module__", None) in COUNTER_MODULES:
                bindings[name] = value
    return bindings


def test_public_function_and_reexports_are_accelerated_with_stock_results() -> None:
    import litellm
    import litellm.utils
    from litellm.litellm_core_utils import token_counter as inner_module

    stock = inner_module.token_counter
    expected = stock(model="gpt-4o", messages=MESSAGES)
    expected_text = stock(model="claude-sonnet-4-5", text="Bonjour <|endoftext|>")
    install()
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert litellm.utils.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert inner_module.token_counter(model="claude-sonnet-4-5", text="Bonjour <|endoftext|>") == expected_text
    from litellm._lazy_imports import get_token_counter_new

    assert get_token_counter_new()(model="gpt-4o", messages=MESSAGES) == expected
    assert accelerated() == 4
    assert litellm_accel.metrics()["tokens"]["errors"] == 0


def test_router_pre_call_checks_use_the_accelerated_counter() -> None:
    import litellm

    stock_router = litellm.Router(model_list=MODEL_LIST, enable_pre_call_checks=True)
    stock_picks = {
        stock_router.get_available_deployment(model="m", messages=MESSAGES)["model_info"]["id"] for _ in range(10)
    }
    install()
    router = litellm.Router(model_list=MODEL_LIST, enable_pre_call_checks=True)
    before = accelerated()
    picks = {router.get_available_deployment(model="m", messages=MESSAGES)["model_info"]["id"] for _ in range(10)}
    assert accelerated() >= before + 10
    # The context-window check drops the 5-token deployment in both cases.
    assert picks == stock_picks == {"big"}


async def test_async_pre_call_checks_and_completion_use_the_accelerated_counter() -> None:
    import litellm

    install()
    router = litellm.Router(model_list=MODEL_LIST, enable_pre_call_checks=True)
    before = accelerated()
    deployment = await router.select("m", {"messages": MESSAGES}, messages=MESSAGES)
    assert deployment["model_info"]["id"] == "big"
    response = await router.acompletion(model="m", messages=MESSAGES, mock_response="hi")
    assert response.choices[0].message.content == "hi"
    assert accelerated() >= before + 2


async def test_usage_based_routing_v2_uses_the_accelerated_counter() -> None:
    import litellm

    model_list = [
        {
            "model_name": "m",
            "litellm_params": {"model": "gpt-4o", "api_key": "x", "tpm": 1_000_000, "rpm": 1000},
            "model_info": {"id": "a"},
        },
        {
            "model_name": "m",
            "litellm_params": {"model": "gpt-4o", "api_key": "x", "tpm": 10, "rpm": 1000},
            "model_info": {"id": "b"},
        },
    ]
    stock_router = litellm.Router(model_list=model_list, routing_strategy="usage-based-routing-v2")
    stock_pick = await stock_router.select("m", {"messages": MESSAGES}, messages=MESSAGES)
    install()
    router = litellm.Router(model_list=model_list, routing_strategy="usage-based-routing-v2")
    before = accelerated()
    pick = await router.select("m", {"messages": MESSAGES}, messages=MESSAGES)
    response = await router.acompletion(model="m", messages=MESSAGES, mock_response="hi")
    assert response.choices[0].message.content == "hi"
    assert accelerated() >= before + 2
    # The 10-TPM deployment cannot take a ~20-token prompt: both pick the other one.
    assert pick["model_info"]["id"] == stock_pick["model_info"]["id"] == "a"


def test_memo_metrics_are_published() -> None:
    import litellm

    install(options={"memo_max_bytes": 50_000})
    for i in range(200):
        litellm.token_counter(
            model="gpt-4o", messages=[*MESSAGES, {"role": "assistant", "content": f"reply number {i} " * 20}]
        )
    implementation = litellm_accel.get_implementation("tokens")
    implementation.stats()  # publishes now rather than at the next 32nd call
    snapshot = litellm_accel.metrics()["tokens"]
    assert snapshot["counters"]["memo_hits"] >= 199  # the first message repeats
    assert snapshot["counters"]["memo_misses"] >= 200
    assert snapshot["counters"]["memo_evictions"] > 0
    assert 0 < snapshot["gauges"]["memo_bytes"] <= 50_000
    assert snapshot["accelerated"] == 200


def test_flag_off_and_shadow_keep_stock_answers() -> None:
    import litellm

    install()
    expected = litellm.token_counter(model="gpt-4o", messages=MESSAGES)
    litellm_accel.set_flag("tokens", "shadow")
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected
    assert litellm_accel.metrics()["tokens"]["shadow_mismatches"] == 0
    litellm_accel.set_flag("tokens", "off")
    assert litellm.token_counter(model="gpt-4o", messages=MESSAGES) == expected


def test_stock_errors_reach_the_caller_unchanged_and_are_not_counted_as_errors() -> None:
    import litellm

    install()
    with pytest.raises(ValueError, match="text and messages cannot both be set"):
        litellm.token_counter(model="gpt-4o", text="a", messages=MESSAGES)
    assert litellm_accel.metrics()["tokens"]["errors"] == 0
    assert litellm_accel.metrics()["tokens"]["delegated"] == 1


def test_uninstall_restores_identical_objects_including_late_bindings() -> None:
    import litellm
    import litellm.utils
    from litellm.litellm_core_utils import token_counter as inner_module

    inner, wrapper = inner_module.token_counter, litellm.utils.token_counter
    assert litellm.token_counter is wrapper
    before = token_counter_bindings()
    install()
    assert all(hasattr(value, "__litellm_accel_guard__") for value in token_counter_bindings().values())
    late = types.ModuleType("litellm._accel_test_late_import")
    late.token_counter = litellm.utils.token_counter  # what `from litellm.utils import token_counter` binds now
    sys.modules[late.__name__] = late
    try:
        litellm_accel.uninstall()
        assert late.token_counter is wrapper
    finally:
        del sys.modules[late.__name__]
    after = token_counter_bindings()
    assert {name: value for name, value in after.items() if name in before} == before
    assert inner_module.token_counter is inner and litellm.utils.token_counter is wrapper
    assert litellm.token_counter is wrapper


def test_attachment_refuses_unexpected_attachment_points(monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm.utils

    def token_counter(
        model="",
        custom_tokenizer=None,
        text=None,
        messages=None,
        count_response_tokens=False,
        tools=None,
        tool_choice=None,
        use_default_image_token_count=False,
        default_token_count=None,
    ):
        return 0  # a wrapper that no longer delegates to the inner function

    monkeypatch.setattr(litellm.utils, "token_counter", token_counter)
    report = litellm_accel.install(AccelSettings(**ONLY_TOKENS))
    assert report.features["tokens"].status == "skipped"
    assert "get_token_counter_new" in report.features["tokens"].reason
    assert litellm.utils.token_counter is token_counter


def test_invalid_options_are_a_config_error_with_the_key_named() -> None:
    from litellm_accel.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        litellm_accel.install(AccelSettings(tokens={"options": {"memo_max_byte": 1}}, **ONLY_TOKENS))
    assert "memo_max_byte" in str(caught.value) and "memo_max_bytes" in str(caught.value)
    assert not litellm_accel.is_installed()
