"""Exceptions raised by litellm-accel for user mistakes (bad config, bad plugin selection).

Every error here carries a message meant to be read by a person as-is: the CLI prints ``str(err)``
on one line and exits non-zero, it never shows a traceback for these.
"""

from __future__ import annotations


class AccelError(Exception):
    """Base class for litellm-accel errors that a user can fix."""


class ConfigError(AccelError, ValueError):
    """A setting has an invalid value. The message names the key, the value and what is allowed."""


class PluginError(AccelError):
    """A plugin could not be used (import failure, incompatible API, malformed registration)."""


class PluginConflictError(PluginError):
    """Two plugins registered an implementation with the same name for the same feature."""


class UnknownImplementationError(ConfigError):
    """The configured implementation name is not offered by any loaded plugin."""
