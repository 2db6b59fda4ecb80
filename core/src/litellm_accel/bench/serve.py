"""Child-process entry point of the benchmark's fake OpenAI server.

``python -m litellm_accel.bench.serve --latency-ms 0 --reply TEXT`` starts
:class:`litellm_accel.fakeserver.FakeOpenAIServer` on 127.0.0.1, writes one JSON line
``{"base_url": ...}`` to stdout, then answers each ``stats`` line read from stdin with a JSON line of the
server's counters. It stops when stdin closes. Running the server in its own process keeps its CPU
work out of the measured process, so the end-to-end figures are the client's (litellm's) cost.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="litellm_accel.bench.serve")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--reply", default="Hello from the fake OpenAI server.")
    args = parser.parse_args(argv)

    from litellm_accel.fakeserver import FakeOpenAIServer

    server = FakeOpenAIServer(latency=args.latency_ms / 1000.0, reply=args.reply)
    base_url = server.start_in_thread()
    print(json.dumps({"base_url": base_url}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(dataclasses.asdict(server.counters)), flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
