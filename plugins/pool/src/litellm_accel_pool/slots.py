"""A FIFO queue of connection slots for one endpoint pool (one event loop).

Cheaper than ``asyncio.wait_for(semaphore.acquire(), t)`` under contention: a waiter costs one future
and one timer handle, no extra task, and a released slot is handed straight to the oldest waiter.
"""

from __future__ import annotations

import asyncio
from collections import deque


class SlotQueue:
    """``limit`` slots; :meth:`take` when one is free, else :meth:`wait`; :meth:`give_back` after use."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiters: deque[asyncio.Future[bool]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def take(self) -> bool:
        """Take a free slot without waiting; ``False`` when none is free (or others already queue)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def wait(self, timeout: float | None) -> None:
        """Wait in line for a slot; raises ``TimeoutError`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, self._expire, waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give_back()  # the slot was handed over just as we were cancelled
            else:
                self._discard(waiter)
            raise
        except TimeoutError:
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            self._discard(waiter)
            waiter.set_exception(TimeoutError())

    def _discard(self, waiter: asyncio.Future[bool]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def give_back(self) -> None:
        """Return a slot: to the oldest waiter if any, else to the free count."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._free += 1
