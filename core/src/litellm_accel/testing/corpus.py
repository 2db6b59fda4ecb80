"""The built-in token-counting corpus: calls of stock ``token_counter`` that a conforming
implementation must answer identically (same ``int``, or the same exception type).

Every case runs offline: the models use tokenizers that ship inside litellm (or its default), and images
are counted with ``use_default_image_token_count=True`` so nothing is downloaded.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-3.5-turbo",
    "gpt-4",
    "openai/gpt-4.1",
    "azure/gpt-4o",
    "claude-3-5-sonnet-20240620",
    "anthropic/claude-3-haiku-20240307",
    "deepseek-chat",
    "gemini/gemini-1.5-pro",
    "my-unknown-model",
    "",
)

_LONG_TEXT = " ".join(f"word{i % 97} lorem ipsum, dolor sit amet; {i}." for i in range(400))

_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "minimum": 1, "default": 1},
                },
                "required": ["city"],
            },
        },
    }
]

#: name -> keyword arguments (without ``model``) of one call shape.
SHAPES: dict[str, dict[str, Any]] = {
    "user": {"messages": [{"role": "user", "content": "Hello, how are you today?"}]},
    "conversation": {
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
    },
    "long": {"messages": [{"role": "user", "content": _LONG_TEXT}]},
    "unicode": {"messages": [{"role": "user", "content": "Grüße 👋🏽 — 你好，世界！ Привет, мир. 🚀🚀"}]},  # noqa: RUF001 - full-width punctuation on purpose
    "named": {"messages": [{"role": "user", "name": "alice_01", "content": "Hi from Alice"}]},
    "parts": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Describe this:"}, {"type": "text", "text": "two parts"}],
            }
        ]
    },
    "image": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in the picture?"},
                    {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}},
                ],
            }
        ],
        "use_default_image_token_count": True,
    },
    "tool_call": {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": -3}'},
        ]
    },
    "tools": {
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "tools": _TOOLS,
        "tool_choice": "auto",
    },
    "empty_messages": {"messages": []},
    "missing_content": {"messages": [{"role": "user"}]},
    "text": {"text": "Plain text, counted without chat framing."},
    "empty_text": {"text": ""},
    "response_text": {"text": "A completion to count.", "count_response_tokens": True},
    # Calls on which stock raises: an implementation must raise the same type or UseStock.
    "no_input": {},
    "messages_not_a_list": {"messages": "hi"},
    "unknown_part": {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "weird"}]}]},
}


@dataclass(frozen=True)
class TokenCase:
    """One ``token_counter(**kwargs)`` call."""

    id: str
    kwargs: dict[str, Any] = field(hash=False)

    def arguments(self) -> dict[str, Any]:
        """A deep copy of the arguments (an implementation may not rely on the caller's objects)."""
        return copy.deepcopy(self.kwargs)


def token_corpus() -> list[TokenCase]:
    """Every shape with every model (a few hundred cases)."""
    return [
        TokenCase(f"{shape}[{model or 'default'}]", {"model": model, **copy.deepcopy(kwargs)})
        for shape, kwargs in SHAPES.items()
        for model in MODELS
    ]


_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|\n\t"
    "éüßøñçł  你好世界日本語한국어 Привет مرحبا 👋🏽🚀✨🤖 \u200b"
)


def random_token_cases(count: int, seed: int = 20260101) -> list[TokenCase]:
    """Seeded random chat calls (roles, names, text and multi-part content, unicode, whitespace runs)."""
    rng = random.Random(seed)
    models = [m for m in MODELS if m not in ("deepseek-chat",)]  # every tokenizer family but one slow load

    def text() -> str:
        length = rng.choice((0, 1, 3, 10, 40, 200))
        return "".join(rng.choice(_ALPHABET) for _ in range(length))

    cases = []
    for index in range(count):
        messages = []
        for _ in range(rng.randint(1, 5)):
            message: dict[str, Any] = {"role": rng.choice(("system", "user", "assistant"))}
            if rng.random() < 0.25:
                message["content"] = [{"type": "text", "text": text()} for _ in range(rng.randint(1, 3))]
            else:
                message["content"] = text()
            if rng.random() < 0.15:
                message["name"] = rng.choice(("bob", "a_b-c", "x" * 12))
            messages.append(message)
        kwargs: dict[str, Any] = {"model": rng.choice(models), "messages": messages}
        if rng.random() < 0.2:
            kwargs = {"model": kwargs["model"], "text": text(), "count_response_tokens": rng.random() < 0.5}
        cases.append(TokenCase(f"random-{index}", kwargs))
    return cases
