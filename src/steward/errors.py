"""Errors and warnings raised by Steward.

Every error a user can cause derives from :class:`StewardError`; its message names the
argument, column or field, what was found, and how to fix it. The CLI turns these into one
line and exit code 2; anything else is a bug: one line naming the step that failed and exit
code 3 (``steward --debug`` shows its traceback).
"""

from __future__ import annotations

__all__ = [
    "StewardError",
    "DataValidationError",
    "RoleError",
    "MissingExtraError",
    "PolicyError",
    "NotFoundError",
    "ConflictError",
    "WorkflowError",
    "AuthenticationError",
    "PermissionDenied",
    "UnsafeModelError",
    "TamperedModelError",
    "Throttled",
    "StewardWarning",
    "SmallGroupWarning",
    "DefaultReferenceWarning",
]


class StewardError(Exception):
    """Base class of every error a user of Steward can cause."""


class DataValidationError(StewardError, ValueError):
    """The audit data is not usable as given (missing column, wrong values, empty file...)."""


class RoleError(StewardError, ValueError):
    """The roles (label, prediction, score, protected attributes...) are specified wrongly."""


class PolicyError(StewardError, ValueError):
    """A policy or card-info file is invalid, or a tier or check it names does not exist."""


class NotFoundError(StewardError, LookupError):
    """A model, version, incident, key... that was asked for does not exist."""


class ConflictError(StewardError):
    """The request clashes with what is stored (a name already taken, a stale state)."""


class WorkflowError(StewardError):
    """A governance rule refuses the action (approval without sign-offs, a rejection without comment...)."""


class AuthenticationError(StewardError):
    """No API key, or one that is unknown or revoked."""


class PermissionDenied(StewardError):
    """The caller's roles do not allow the action."""


class UnsafeModelError(StewardError):
    """A model file could run code when loaded (pickle, joblib, unknown skops types) and was not trusted."""


class TamperedModelError(StewardError):
    """A model file's SHA-256 differs from the one it was expected to have."""


class MissingExtraError(StewardError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that adds it."""


class StewardWarning(UserWarning):
    """Base class of Steward's warnings about statistically weak or assumed results."""


class SmallGroupWarning(StewardWarning):
    """A group has fewer rows than the minimum group size: its metrics are too uncertain to judge."""


class DefaultReferenceWarning(StewardWarning):
    """No reference group was given for a protected attribute, so the largest group was used."""


class Throttled(StewardError):
    """A caller sent more than its rate allows; ``retry_after`` is how many seconds until it may again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
