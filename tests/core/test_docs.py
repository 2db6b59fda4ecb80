"""The docs describe what exists: every hookspec with its exact signature, every setting with its
environment variable, every standard metric."""

from __future__ import annotations

import inspect
from pathlib import Path

from litellm_accel import hookspecs
from litellm_accel.metrics import STANDARD_COUNTERS
from litellm_accel.provenance import flatten
from litellm_accel.settings import AccelSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"
FEATURES = ("tokens", "routing", "pool", "ratelimit")


def test_every_hookspec_is_documented_with_its_signature() -> None:
    text = (DOCS / "hooks.md").read_text()
    hooks = hookspecs.describe_hooks()
    assert len(hooks) >= 7
    for name, func in hooks.items():
        signature = f"def {name}{inspect.signature(func)}".replace("'", "")
        assert signature in text, f"{signature} missing from docs/hooks.md"


def test_every_setting_and_env_var_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for key in flatten(AccelSettings().model_dump(mode="json")):
        head, _, rest = key.partition(".")
        if head in FEATURES:
            doc_key, env = f"<feature>.{rest}", "LITELLM_ACCEL_<FEATURE>__" + rest.upper().replace(".", "__")
        else:
            doc_key, env = key, "LITELLM_ACCEL_" + key.upper().replace(".", "__")
        assert f"`{doc_key}`" in text, f"{doc_key} missing from docs/configuration.md"
        assert f"`{env}" in text, f"{env} missing from docs/configuration.md"
    assert "LITELLM_ACCEL_CONFIG" in text


def test_every_standard_metric_is_documented() -> None:
    text = (DOCS / "monitoring.md").read_text()
    for counter in STANDARD_COUNTERS:
        assert f"`{counter}`" in text and f"litellm_accel_{counter}_total" in text


def test_readme_links_resolve() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for target in [
        "docs/architecture.md",
        "docs/configuration.md",
        "docs/feature-flags.md",
        "docs/monitoring.md",
        "docs/hooks.md",
        "docs/benchmarks.md",
        "docs/writing-a-plugin.md",
    ]:
        assert f"({target})" in readme and (DOCS.parent / target).is_file(), target
