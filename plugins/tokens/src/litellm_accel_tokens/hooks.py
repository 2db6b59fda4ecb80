"""Entry point of litellm-accel-tokens (group ``litellm_accel``): registers its implementation classes.

Kept thin on purpose: the implementation lives in its own module and is imported only when the host
asks for the registration.
"""

from __future__ import annotations

from typing import Any

from litellm_accel import hookimpl

LITELLM_ACCEL_API_VERSION = "1.0"


@hookimpl
def litellm_accel_token_counters() -> list[type[Any]]:
    """The built-in exact token counter (``tokens.implementation = "builtin"``)."""
    from litellm_accel_tokens.counter import BuiltinTokenCounter

    return [BuiltinTokenCounter]


@hookimpl
def litellm_accel_health() -> list[Any]:
    """``litellm-accel doctor``: is the installed litellm the release the parity suite proved?"""
    from importlib import metadata

    from litellm_accel.contracts import HealthReport
    from litellm_accel_tokens.options import TESTED_LITELLM_VERSION

    try:
        version = metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return [HealthReport("tokens: litellm", False, "litellm is not installed")]
    ok = version == TESTED_LITELLM_VERSION
    detail = (
        f"litellm {version} (parity proven on this release)"
        if ok
        else f"litellm {version}: parity proven on {TESTED_LITELLM_VERSION} only; the builtin counter does not "
        "start unless tokens.options.allow_untested_litellm = true"
    )
    return [HealthReport("tokens: litellm", ok, detail)]
