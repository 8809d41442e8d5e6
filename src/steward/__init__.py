"""Steward: responsible machine learning checks, governed like security.

>>> import steward
>>> result = steward.audit(df, label="y", prediction="approved", protected={"race": "White"})  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from steward import datasets
from steward.audit import AuditResult, CardInfo, Finding, Policy, audit, evaluate, load_card_info, load_policy
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
    "Policy",
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
