"""Findings: what a policy check concluded, with its evidence, in words and in JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finding", "STATUSES", "BLOCKING", "worst_first"]

# From worst to best; the order of the report and of ``worst_first``.
STATUSES = ("fail", "not_evidenced", "warn", "insufficient_data", "not_applicable", "pass")

# Statuses that block the gate and approval: a breach, and a required check that produced no evidence.
BLOCKING = ("fail", "not_evidenced")


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Finding:
    """The outcome of one check on one group (or on the whole audit).

    ``status`` is ``pass``, ``warn``, ``fail``, ``not_applicable`` (the check does not apply or its
    value is undefined, ``message`` says why), ``insufficient_data`` (the group is too small to
    judge) or ``not_evidenced`` (the policy requires the check but it did not run, or produced no
    judgeable value: ``needs`` says which inputs would let it run; it blocks the gate like a
    failure). ``severity`` is what the policy set for a breach (``fail`` or ``warn``); a breach that
    the policy requires to be statistically significant but is not becomes a ``warn``.
    ``exempt_by`` names the policy setting that puts a case out of the check's scope (such a
    ``not_applicable`` is the policy's own decision, not missing evidence).
    """

    check: str
    status: str
    severity: str
    message: str
    attribute: str | None = None
    group: str | None = None
    reference: str | None = None
    metric: str | None = None
    value: float | None = None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    significant: bool | None = None
    threshold: dict[str, Any] = field(default_factory=dict)
    rows: int | None = None
    source: str | None = None
    needs: str | None = None
    exempt_by: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")

    @property
    def subject(self) -> str:
        """What the finding is about: ``race=African-American vs Caucasian``, a field, or the audit."""
        if self.attribute is None:
            return self.metric or "audit"
        text = f"{self.attribute}={self.group}"
        return f"{text} vs {self.reference}" if self.reference is not None else text

    @property
    def id(self) -> str:
        return f"{self.check}[{self.subject}]"

    def to_dict(self) -> dict[str, Any]:
        ci = None
        if self.ci is not None and _num(self.ci[0]) is not None and _num(self.ci[1]) is not None:
            ci = [_num(self.ci[0]), _num(self.ci[1])]
        return {
            "id": self.id, "check": self.check, "status": self.status, "severity": self.severity,
            "attribute": self.attribute, "group": self.group, "reference": self.reference,
            "metric": self.metric, "value": _num(self.value), "ci": ci, "p_value": _num(self.p_value),
            "significant": self.significant, "threshold": dict(self.threshold), "rows": self.rows,
            "message": self.message, "source": self.source, "needs": self.needs, "exempt_by": self.exempt_by,
        }


def worst_first(findings: list[Finding]) -> list[Finding]:
    """Failures first, then warnings, ...; within a status, in check order as given (stable)."""
    rank = {s: i for i, s in enumerate(STATUSES)}
    return sorted(findings, key=lambda f: rank[f.status])
