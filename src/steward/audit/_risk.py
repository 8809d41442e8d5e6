"""Answers to a policy's risk questions (domain, people affected, ...), from which a tier follows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RiskAnswers"]


class RiskAnswers(BaseModel):
    """Answers to the policy's risk questions; :meth:`Policy.assign_tier` turns them into a tier."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    people_affected: int = Field(ge=0)
    decisions_per_day: int = Field(ge=0)
    human_review: bool
    wrong_decision_cost: Literal["low", "medium", "high"]
