"""Steward: responsible machine learning checks, governed like security.

>>> import steward
>>> result = steward.audit(df, label="y", prediction="approved", protected={"race": "White"})  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from steward import datasets
from steward.audit import (
    AuditResult,
    CardInfo,
    Finding,
    ModelInputs,
    Policy,
    ProbeInputs,
    audit,
    evaluate,
    load_card_info,
    load_policy,
)
from steward.errors import (
    DataValidationError,
    DefaultReferenceWarning,
    PolicyError,
    RoleError,
    SmallGroupWarning,
    StewardError,
    StewardWarning,
)

try:
    __version__ = version("steward")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = [
    "AuditResult",
    "CardInfo",
    "Finding",
    "ModelInputs",
    "Policy",
    "ProbeInputs",
    "PolicyError",
    "evaluate",
    "load_card_info",
    "load_policy",
    "DataValidationError",
    "DefaultReferenceWarning",
    "RoleError",
    "SmallGroupWarning",
    "StewardError",
    "StewardWarning",
    "__version__",
    "audit",
    "datasets",
]

# `steward.audit` is the function; the audit's subpackages stay reachable through it as the README
# writes them (`steward.audit.checks.register(...)`, `steward.audit.policy.load_policy(...)`).
for _name in ("checks", "policy", "card"):
    setattr(audit, _name, __import__(f"steward.audit.{_name}", fromlist=["_"]))
del _name

# Capabilities that need extras or pull in heavy libraries are imported on first use, so that
# `import steward` stays light and `steward.models.load_model(...)` works without importing steward.models.
_SUBPACKAGES = ("data", "debug", "engine", "explain", "governance", "metrics", "models", "monitoring", "privacy",
                "remediate", "slices", "web")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"steward.{name}")
    raise AttributeError(f"module 'steward' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES])
