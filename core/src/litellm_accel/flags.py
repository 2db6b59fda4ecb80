"""Feature flags: per feature, a state (off / shadow / canary / on) and a rollout percentage.

Canary routing is deterministic when the call has a request key (the same key always lands on the
same side, so one user's requests behave consistently) and random otherwise. Flags can be changed
while running through :func:`litellm_accel.set_flag`; the guard reads them on every call.
"""

from __future__ import annotations

import random
import threading
import zlib
from collections.abc import Callable

from litellm_accel.errors import ConfigError
from litellm_accel.settings import FlagState

ACCEL, STOCK, SHADOW = 0, 1, 2


def bucket_of(key: str) -> float:
    """Stable position of ``key`` in [0, 100): the same key always gets the same bucket."""
    return (zlib.crc32(key.encode("utf-8", "surrogatepass")) % 10_000) / 100.0


class FeatureFlag:
    """The flag of one feature. ``route(key)`` says who serves a call: ACCEL, STOCK or SHADOW."""

    def __init__(self, feature: str, state: FlagState | str = FlagState.ON, rollout_percent: float = 100.0) -> None:
        self.feature = feature
        self.state = FlagState.ON
        self.rollout_percent = 100.0
        self._listeners: list[Callable[[FeatureFlag], None]] = []
        self._lock = threading.Lock()
        self.set(state, rollout_percent)

    def set(self, state: FlagState | str, rollout_percent: float | None = None) -> None:
        """Change the state (and optionally the canary percentage); takes effect on the next call."""
        try:
            new_state = FlagState(state)
        except ValueError:
            allowed = ", ".join(s.value for s in FlagState)
            raise ConfigError(f"invalid flag state {state!r} for {self.feature}; allowed: {allowed}") from None
        if rollout_percent is not None and (
            not isinstance(rollout_percent, (int, float)) or not 0 <= rollout_percent <= 100
        ):
            raise ConfigError(f"invalid rollout_percent {rollout_percent!r} for {self.feature}; allowed: 0 to 100")
        with self._lock:
            self.state = new_state
            if rollout_percent is not None:
                self.rollout_percent = float(rollout_percent)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(self)

    def subscribe(self, listener: Callable[[FeatureFlag], None]) -> None:
        """Call ``listener(flag)`` after every change (the guard uses it to refresh its fast path)."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[FeatureFlag], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def route(self, key: str | None = None) -> int:
        """ACCEL, STOCK or SHADOW for one call, given its request key when there is one."""
        state = self.state
        if state is FlagState.ON:
            return ACCEL
        if state is FlagState.OFF:
            return STOCK
        if state is FlagState.SHADOW:
            return SHADOW
        position = bucket_of(key) if key is not None else random.random() * 100.0
        return ACCEL if position < self.rollout_percent else STOCK

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state.value, "rollout_percent": self.rollout_percent}


class FlagRegistry:
    """The process-wide flags, one per feature, created on first use."""

    def __init__(self) -> None:
        self._flags: dict[str, FeatureFlag] = {}
        self._lock = threading.Lock()

    def get(self, feature: str) -> FeatureFlag:
        with self._lock:
            flag = self._flags.get(feature)
            if flag is None:
                flag = self._flags[feature] = FeatureFlag(feature)
            return flag

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {name: flag.as_dict() for name, flag in sorted(self._flags.items())}


FLAGS = FlagRegistry()
