"""The one place checks are registered. A check turns an audit (and what else it needs) into findings.

Later capabilities (slices, explanations, privacy, monitoring) add their checks here the same way:

>>> from steward.audit.checks import CheckParams, register
>>> class MyParams(CheckParams):
...     max_error: float
>>> @register("my_check", params=MyParams, summary="What it checks, in one line.")  # doctest: +SKIP
... def my_check(ctx, params):
...     return [Finding(...)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from steward.audit._findings import Finding

if TYPE_CHECKING:
    from steward.audit._result import AuditResult
    from steward.audit.card import CardInfo
    from steward.audit.policy import Tier

__all__ = ["Check", "CheckContext", "CheckParams", "GroupCheckParams", "CHECKS", "register", "get_check"]


class CheckParams(BaseModel):
    """Settings every check takes in the policy file."""

    model_config = ConfigDict(extra="forbid")

    severity: Literal["fail", "warn"] = "fail"
    source: str | None = None  # where the threshold comes from, shown beside the finding
    # A check the tier lists is required: when it cannot run its finding is `not_evidenced`, which
    # blocks the gate like a failure. `optional: true` (with a `source:` saying why) lets it be absent.
    optional: bool = False


class GroupCheckParams(CheckParams):
    """Settings of checks that compare each group with its reference group."""

    require_significance: bool | None = None  # None: the tier's setting
    attributes: list[str] | None = None  # only these attributes (``race``, ``race*sex``); None: all
    intersections: bool = True  # include the intersection of the protected attributes


@dataclass
class CheckContext:
    """What a check may look at: the audit, the tier, the card info, and the analyses the audit ran
    with the model (``slices``, ``benchmark``, ``residuals``, ``churn``; absent when not run)."""

    result: "AuditResult"
    tier: "Tier"
    card: "CardInfo | None" = None
    analyses: dict[str, Any] = field(default_factory=dict)


RunFn = Callable[[CheckContext, CheckParams], list[Finding]]


@dataclass(frozen=True)
class Check:
    name: str
    summary: str
    params: type[CheckParams]
    run: RunFn


CHECKS: dict[str, Check] = {}


def register(name: str, *, params: type[CheckParams], summary: str) -> Callable[[RunFn], RunFn]:
    """Register ``fn(ctx, params) -> list[Finding]`` as the check ``name`` of the policy file."""

    def wrap(fn: RunFn) -> RunFn:
        if name in CHECKS:
            raise ValueError(f"a check named {name!r} is already registered")
        CHECKS[name] = Check(name=name, summary=summary, params=params, run=fn)
        return fn

    return wrap


def get_check(name: str) -> Check:
    return CHECKS[name]
