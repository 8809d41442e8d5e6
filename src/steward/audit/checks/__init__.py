"""Policy checks: each turns an audit into findings. Registered in one place (``CHECKS``)."""

from steward.audit.checks._registry import (
    CHECKS,
    Check,
    CheckContext,
    CheckParams,
    GroupCheckParams,
    get_check,
    register,
)
from steward.audit.checks import _discrimination, _documentation, _explain, _models, _privacy, _probes  # noqa: F401  (registers the built-in checks)

__all__ = ["CHECKS", "Check", "CheckContext", "CheckParams", "GroupCheckParams", "get_check", "register"]
