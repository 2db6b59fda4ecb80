"""Generated ``token_counter`` inputs for the parity suites: models x message shapes x arguments.

Every case is a dict of keyword arguments for ``token_counter``. Expected values are never written
here: the suites compare with the real stock litellm function.
"""

from __future__ import annotations

import base64
import json
import random
import struct
from typing import Any

#: Models per tokenizer path. OpenAI models on cl100k/o200k (including names litellm maps to o200k
#: because they are newer than tiktoken's table), the gpt-3.5-turbo-0301 message rules, Azure names,
#: Anthropic and deepseek models on litellm's bundled tokenizers, chat-template tool sections
#: (deepseek, qwen, grok), unknown names and the empty model.
MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0301",
    "gpt-4.1",
    "gpt-5",
    "o1",
    "o3-mini",
    "openai/gpt-4o",
    "openai/gpt-6.2",
    "azure/gpt-4o",
    "gpt-35-turbo",
    "azure/gpt-41",
    "text-embedding-ada-002",
    "claude-3-5-sonnet-20240620",
    "claude-sonnet-4-5",
    "claude-opus-4-6",
    "deepseek-chat",
    "deepseek/deepseek-reasoner",
    "deepseek-v3",
    "deepseek-v4-1",
    "qwen3.5-72b",
    "xai/grok-4.1",
    "grok-4-3",
    "unknown-model",
    "",
]

#: Models whose tokenizer litellm downloads: always delegated to stock (never counted here).
DOWNLOAD_MODELS = ["llama-3-70b", "replicate/llama-2-70b", "command-r"]

WORDS = [
    "the",
    "a",
    "model",
    "router",
    "token",
    "deployment",
    "latency",
    "budget",
    "stream",
    "cache",
    "prompt",
    "answer",
    "system",
    "user",
    "assistant",
    "context",
    "window",
    "function",
    "tool",
    "call",
    "result",
    "error",
    "retry",
    "limit",
    "count",
    "message",
    "turn",
    "reply",
    "Paris",
    "France",
    "café",
    "naïve",
    "東京",
    "大阪",
    "😀",
    "🚀",
    "—",
    "“quotes”",
    "\u2018single\u2019",
    "\\",
    "/",
    "\t",
    "\n",
    "",
    "spaces",
    "",
    "",
    "<|endoftext|>",
    "<|im_start|>",
    "<|fim_prefix|>",
    "12345",
    "3.14159",
    "0x1F",
    "def",
    "class",
    "return",
    "{}",
    "[]",
    "()",
    "###",
    "**bold**",
]


def sentence(rng: random.Random, low: int = 0, high: int = 40) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def png(width: int, height: int) -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height)
    return header + b"\x08\x06\x00\x00\x00" + b"\x00" * 16


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 16


def jpeg(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">H", 17) + b"\x08" + struct.pack(">HH", height, width) + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + sof + b"\x00" * 16


def webp(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4
    dims = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
    return b"RIFF" + struct.pack("<I", 30) + b"WEBP" + vp8x + dims + b"\x00" * 8


def data_url(rng: random.Random) -> str:
    kind = rng.choice(["png", "gif", "jpeg", "webp", "broken", "not-base64"])
    width, height = rng.choice([(1, 1), (512, 512), (800, 600), (1024, 4096), (3000, 2000), (7000, 300)])
    if kind == "broken":
        return "data:image/png;base64," + base64.b64encode(b"not an image at all").decode()
    if kind == "not-base64":
        return "data:image/png;base64,@@@@"
    raw = {"png": png, "gif": gif, "jpeg": jpeg, "webp": webp}[kind](width, height)
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode()


def image_block(rng: random.Random, *, allow_fetch: bool = False) -> dict[str, Any]:
    choice = rng.random()
    url = (
        data_url(rng) if rng.random() < 0.7 else rng.choice(["http://127.0.0.1:9/cat.png", "https://127.0.0.1:9/x.jpg"])
    )
    if choice < 0.15:
        return {"type": "image_url", "image_url": url}
    detail = rng.choice(["auto", "low", "high", None, "ultra"]) if rng.random() < 0.9 else "missing"
    image_url: dict[str, Any] = {"url": url}
    if detail != "missing":
        image_url["detail"] = detail
    if not allow_fetch and detail == "high" and url.startswith("http"):
        image_url["detail"] = "low"
    if rng.random() < 0.05:
        image_url["url"] = ""
    return {"type": "image_url", "image_url": image_url}


def content_list(rng: random.Random) -> list[Any]:
    blocks: list[Any] = []
    for _ in range(rng.randint(0, 4)):
        r = rng.random()
        if r < 0.4:
            blocks.append({"type": "text", "text": sentence(rng)})
        elif r < 0.5:
            blocks.append(sentence(rng, 1, 8))
        elif r < 0.75:
            blocks.append(image_block(rng))
        elif r < 0.82:
            blocks.append({"type": "thinking", "thinking": sentence(rng)})
        elif r < 0.86:
            blocks.append({"type": "text", "text": "", "cache_control": {"type": "ephemeral"}})
        elif r < 0.9:
            blocks.append({"type": "tool_result", "tool_use_id": "t1", "content": sentence(rng)})
        elif r < 0.93:
            blocks.append({"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}})
        elif r < 0.96:
            blocks.append(
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": sentence(rng)}}
            )
        elif r < 0.98:
            blocks.append({"type": "mystery"})
        else:
            blocks.append({"text": "no type"})
    return blocks


def tool_calls(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": sentence(rng, 1, 3)})},
        }
        for i in range(rng.randint(1, 3))
    ]


def message(rng: random.Random) -> dict[str, Any]:
    role = rng.choice(["system", "user", "assistant", "tool", "developer", "function"])
    shape = rng.random()
    msg: dict[str, Any] = {"role": role}
    if shape < 0.45:
        msg["content"] = sentence(rng)
    elif shape < 0.55:
        msg["content"] = None
    elif shape < 0.6:
        msg["content"] = ""
    elif shape < 0.8:
        msg["content"] = content_list(rng)
    elif shape < 0.9:
        msg["content"] = None
        msg["tool_calls"] = tool_calls(rng)
    elif shape < 0.95:
        msg["content"] = sentence(rng)
        msg["tool_call_id"] = "call_1"
    else:
        msg["content"] = sentence(rng, 900, 1400)  # long text: several of litellm's 1024-char chunks
    if rng.random() < 0.15:
        msg["name"] = rng.choice(["bob", "alice_1", "a-very-long-participant-name"])
    if rng.random() < 0.03:
        msg["function_call"] = {"name": "f", "arguments": '{"x": 1}'}
    if rng.random() < 0.03:
        msg["weird"] = rng.choice([1, 2.5, True, {"k": "v"}, ["x"]])
    return msg


def tools(rng: random.Random) -> list[dict[str, Any]] | None:
    if rng.random() < 0.6:
        return None
    defined = []
    for i in range(rng.randint(0, 3)):
        props: dict[str, Any] = {
            "city": {"type": "string", "description": "the city"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
            "strictly": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        }
        keep = dict(list(props.items())[: rng.randint(0, 5)])
        defined.append(
            {
                "type": "function",
                "function": {
                    "name": f"tool_{i}",
                    "description": sentence(rng, 0, 8),
                    "parameters": {"type": "object", "properties": keep, "required": list(keep)[:1]},
                    **({"strict": rng.choice([True, False])} if rng.random() < 0.3 else {}),
                },
            }
        )
    return defined


def tool_choice(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            None,
            "auto",
            "none",
            "required",
            {"type": "function", "function": {"name": "tool_0"}},
            {"type": "none"},
            {"name": "tool_1"},
            {"type": "auto"},
        ]
    )


def message_case(rng: random.Random, model: str) -> dict[str, Any]:
    case: dict[str, Any] = {"model": model, "messages": [message(rng) for _ in range(rng.randint(0, 6))]}
    case["tools"] = tools(rng)
    case["tool_choice"] = tool_choice(rng)
    if rng.random() < 0.15:
        case["count_response_tokens"] = rng.choice([True, None, False])
    if rng.random() < 0.2:
        case["use_default_image_token_count"] = rng.choice([True, None])
    if rng.random() < 0.2:
        case["default_token_count"] = rng.choice([0, 7, 100])
    return case


def text_case(rng: random.Random, model: str) -> dict[str, Any]:
    r = rng.random()
    if r < 0.6:
        text: Any = sentence(rng)
    elif r < 0.8:
        text = [sentence(rng, 0, 10) for _ in range(rng.randint(0, 4))] + [5]
    else:
        text = sentence(rng, 600, 2000)
    return {"model": model, "text": text}


def generated_cases(seed: int, per_model: int) -> list[dict[str, Any]]:
    """``per_model`` message cases and a third as many text cases for every model in :data:`MODELS`."""
    rng = random.Random(seed)
    cases = []
    for model in MODELS:
        cases.extend(message_case(rng, model) for _ in range(per_model))
        cases.extend(text_case(rng, model) for _ in range(max(1, per_model // 3)))
    return cases
