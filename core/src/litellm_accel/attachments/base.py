"""How a feature's selected implementation is bound into litellm.

One :class:`Attachment` per feature knows litellm's attachment points for that feature: it checks that
they exist in the installed litellm (``problems``), binds the implementation through the guard with
reversible patches (``attach``) and cleans up anything the patcher does not cover (``detach``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from litellm_accel.guard import Guard
from litellm_accel.patching import Patcher


class Attachment(ABC):
    """Binds one feature's implementation into litellm."""

    feature: ClassVar[str]

    @abstractmethod
    def problems(self) -> list[str]:
        """Why this feature cannot be attached to the installed litellm (empty when it can).

        Imports litellm. A non-empty answer makes the installer skip the feature with a warning,
        never half-patch it.
        """

    @abstractmethod
    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        """Bind ``implementation`` into litellm. Every change goes through ``patcher``."""

    def detach(self, implementation: Any) -> None:  # noqa: B027 - optional hook
        """Undo what ``patcher.restore()`` does not (runs before it). Default: nothing."""


class NotYetAvailable(Attachment):
    """Placeholder for a feature whose attachment is not part of this host release."""

    feature = "unknown"

    def __init__(self, feature: str) -> None:
        self.feature = feature  # type: ignore[misc]

    def problems(self) -> list[str]:
        return [f"this litellm-accel release has no attachment for the {self.feature} feature yet"]

    def attach(self, implementation: Any, guard: Guard, patcher: Patcher) -> None:
        raise NotImplementedError(self.problems()[0])
