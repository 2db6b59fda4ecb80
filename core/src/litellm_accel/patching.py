"""Reversible attribute patches: every change is recorded and ``restore()`` puts back the
identical original objects (or deletes attributes that did not exist), in reverse order."""

from __future__ import annotations

import threading
from typing import Any

_ABSENT = object()


class Patcher:
    """Records ``setattr`` patches so they can be undone exactly."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()

    def set(self, target: Any, attribute: str, value: Any) -> Any:
        """Set ``target.attribute = value`` and return the previous value (``None`` if absent)."""
        with self._lock:
            if hasattr(target, "__dict__"):
                # The object's own dict: restoring puts back the raw descriptor (for classes) and
                # deleting an attribute that was only inherited lets inheritance show through again.
                previous = target.__dict__.get(attribute, _ABSENT)
            else:
                previous = getattr(target, attribute, _ABSENT)
            self._undo.append((target, attribute, previous))
            setattr(target, attribute, value)
            return None if previous is _ABSENT else previous

    def restore(self) -> None:
        """Undo every recorded patch, newest first."""
        with self._lock:
            undo, self._undo = self._undo, []
        for target, attribute, previous in reversed(undo):
            if previous is _ABSENT:
                try:
                    delattr(target, attribute)
                except AttributeError:
                    pass
            else:
                setattr(target, attribute, previous)

    def __len__(self) -> int:
        return len(self._undo)

    @property
    def patched(self) -> list[tuple[Any, str]]:
        """(target, attribute) pairs currently patched."""
        return [(t, a) for t, a, _ in self._undo]
