"""Policy as code: a YAML file of risk tiers, what puts a model in each, and the checks each requires."""

from steward.audit._risk import RiskAnswers
from steward.audit.policy._policy import (
    TIER_DEFAULTS,
    Policy,
    Tier,
    default_policy_path,
    load_policy,
    write_starter_files,
)

__all__ = ["Policy", "RiskAnswers", "TIER_DEFAULTS", "Tier", "default_policy_path", "load_policy", "write_starter_files"]
