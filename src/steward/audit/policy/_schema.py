"""The policy file's structure (pydantic): risk tiers, what puts a model in each, and its checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from steward.audit._risk import RiskAnswers

__all__ = ["Condition", "PolicyModel", "PolicyInfo", "TierModel", "SIGN_OFF_ROLES", "COSTS"]

SIGN_OFF_ROLES = ("developer", "validator", "executive", "reviewer", "operator", "admin")
COSTS = ("low", "medium", "high")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyInfo(_Strict):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    owner: str | None = None
    description: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        # ``version: 2026.11`` or ``version: 3`` reads as a number in YAML; it is a label.
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class Condition(_Strict):
    """All the given parts must hold (AND); a tier applies when any of its conditions holds (OR)."""

    domain: list[str] | None = Field(default=None, min_length=1)
    people_affected_at_least: int | None = Field(default=None, ge=0)
    decisions_per_day_at_least: int | None = Field(default=None, ge=0)
    human_review: bool | None = None
    wrong_decision_cost: list[Literal["low", "medium", "high"]] | None = Field(default=None, min_length=1)

    def matches(self, answers: RiskAnswers) -> bool:
        return (
            (self.domain is None or answers.domain in self.domain)
            and (self.people_affected_at_least is None or answers.people_affected >= self.people_affected_at_least)
            and (self.decisions_per_day_at_least is None or answers.decisions_per_day >= self.decisions_per_day_at_least)
            and (self.human_review is None or answers.human_review == self.human_review)
            and (self.wrong_decision_cost is None or answers.wrong_decision_cost in self.wrong_decision_cost)
        )

    def describe(self, answers: RiskAnswers | None = None) -> str:
        """The condition in words; with ``answers``, why it holds for them, with their values."""
        a = answers
        parts = []
        if self.domain is not None:
            parts.append(f"the domain, {a.domain}, is one this tier covers" if a else "domain is " + " or ".join(self.domain))
        for bound, value, words in ((self.people_affected_at_least, a and a.people_affected, "people affected"),
                                    (self.decisions_per_day_at_least, a and a.decisions_per_day, "decisions a day")):
            if bound is not None:
                parts.append(f"{value:,} {words} (at least {bound:,})" if a else f"at least {bound:,} {words}")
        if self.human_review is not None:
            parts.append("a person reviews decisions" if self.human_review else "no person reviews decisions")
        if self.wrong_decision_cost is not None:
            parts.append("the cost of a wrong decision is " + (a.wrong_decision_cost if a else " or ".join(self.wrong_decision_cost)))
        return " and ".join(parts) or "always"


class TierModel(_Strict):
    description: str = Field(min_length=1)
    extends: str | None = None
    assign_when: list[Condition] = Field(default_factory=list)
    min_group_size: int | None = Field(default=None, ge=1)
    confidence: float | None = Field(default=None, gt=0, lt=1)
    alpha: float | None = Field(default=None, gt=0, lt=1)
    require_significance: bool | None = None
    # Reports meant for publication (steward audit --publish) suppress the groups with fewer rows than this.
    min_cell: int | None = Field(default=None, ge=2)
    checks: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    sign_off: list[Literal["developer", "validator", "executive", "reviewer", "operator", "admin"]] | None = None
    # Sign-offs must come from different principals, none of whom registered the version or uploaded its audit.
    distinct_signers: bool | None = None
    # Approval needs a validator's independent reproduction of the latest audit (steward reproduce).
    require_reproduction: bool | None = None
    # Defaults for the guarded endpoints of models in this tier (see steward.serving.GuardSettings; a
    # deployment's guard.yaml overrides them). Checked by `steward policy check` against that schema.
    guard: dict[str, Any] | None = None
    # Monitoring rules for models in this tier (see steward.monitoring.MonitorSettings): windows, and per signal
    # thresholds, consecutive windows, severity, incident and kill switch. Checked by `steward policy check`.
    monitor: dict[str, Any] | None = None
    # The standards console: a model is audited again at least this often (days), and an incident of each
    # severity must be contained within this many hours of being opened.
    reaudit_days: int | None = Field(default=None, ge=1)
    incident_response_hours: dict[Literal["low", "medium", "high", "critical"], Annotated[float, Field(gt=0)]] | None = None


class PolicyModel(_Strict):
    policy: PolicyInfo
    domains: list[str] = Field(min_length=1)
    tiers: dict[str, TierModel | None]
    incident_checklist: list[str] = Field(default_factory=list)
