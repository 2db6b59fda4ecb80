"""Another litellm-accel instance for the shared-state tests: a separate process with its own Router.

Reads one command per line on stdin and answers one line (``ok ...``) on stdout when it is done:

- ``usage N ID``: N ``completion(model="g", mock_response=...)`` calls served by deployment ID, answered
  once litellm has recorded their tokens in the router's cache;
- ``hold N ID SECONDS``: start N ``acompletion`` calls on ID that take SECONDS (in flight meanwhile);
- ``slow N ID SECONDS``: N sequential ``acompletion`` calls on ID that each take SECONDS (latency);

``hold`` and ``slow`` call a local fake OpenAI server (127.0.0.1) answering after SECONDS, so litellm
counts the requests in flight and measures their latency as it does for a real provider.

Calls "served by ID" go through a router whose group ``g`` has only that deployment, so they are recorded
under the group and deployment the test process routes (``g``, ``d1``/``d2``) whatever the strategy.
- ``wait``: wait for the held calls to finish; ``quit``: uninstall and exit.

Configuration comes from the environment (LITELLM_ACCEL_*, PEER_STRATEGY), as for any instance.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm import Router

import litellm_accel
from litellm_accel.fakeserver import FakeOpenAIServer
from tests.routing.shared_state_models import model_list

MESSAGES = [{"role": "user", "content": "hello"}]


def recorded_usage(router: Router, deployment_id: str, timeout: float = 30.0) -> None:
    """Wait until litellm's logging worker has recorded the deployment's tokens in the router's own cache
    (it does so after the call returns), so the test times only the sharing, not litellm's logging."""
    memory = router._core._cache.in_memory_cache
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(k.startswith(f"{deployment_id}:") and ":tpm:" in k and v for k, v in list(memory.cache_dict.items())):
            return
        time.sleep(0.02)
    raise SystemExit(f"usage of {deployment_id} was not recorded within {timeout} s")


def main() -> None:
    litellm_accel.install()
    routers: dict[tuple[str, float], Router] = {}
    servers: list[FakeOpenAIServer] = []

    def router_of(deployment_id: str, seconds: float | None = None) -> Router:
        """A router whose group ``g`` is only this deployment (served by a fake server taking ``seconds``)."""
        key = (deployment_id, -1.0 if seconds is None else seconds)
        if key not in routers:
            only = [d for d in model_list() if d["model_info"]["id"] == deployment_id]
            if seconds is not None:
                server = FakeOpenAIServer(latency=seconds)
                only[0]["litellm_params"]["api_base"] = server.start_in_thread()
                servers.append(server)
            routers[key] = Router(model_list=only, routing_strategy=os.environ["PEER_STRATEGY"])
        return routers[key]
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    held: list[asyncio.Future[object]] = []

    def call(deployment_id: str, seconds: float) -> object:
        return router_of(deployment_id, seconds).acompletion(model="g", messages=MESSAGES)

    async def sequential(count: int, deployment_id: str, seconds: float) -> None:
        for _ in range(count):
            await call(deployment_id, seconds)

    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "usage":
            for _ in range(int(args[0])):
                router_of(args[1]).completion(model="g", messages=MESSAGES, mock_response="ok")
            recorded_usage(router_of(args[1]), args[1])
        elif command == "hold":
            held += [asyncio.run_coroutine_threadsafe(call(args[1], float(args[2])), loop) for _ in range(int(args[0]))]
        elif command == "slow":
            asyncio.run_coroutine_threadsafe(sequential(int(args[0]), args[1], float(args[2])), loop).result()
        elif command == "wait":
            for future in held:
                future.result()
            held.clear()
        elif command == "quit":
            for router in routers.values():
                router.retire()
            for server in servers:
                server.stop()
            litellm_accel.uninstall()
            print("ok", flush=True)
            return
        print("ok", flush=True)


if __name__ == "__main__":
    main()
