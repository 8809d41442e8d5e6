"""Audits: the orchestrator, results and reports; policy, checks, findings and model cards."""

from steward.audit._findings import STATUSES, Finding
from steward.audit._gate import evaluate
from steward.audit._inputs import ModelInputs, ProbeInputs
from steward.audit._remediation import METHODS as REMEDIATION_METHODS
from steward.audit._remediation import RemediationReport, constraint_from_policy, remediate
from steward.audit._result import SCHEMA, AuditResult
from steward.audit._run import ENGINES, audit, resolve_references, result_from_cells
from steward.audit._summary import Statement
from steward.audit.card import CardInfo, load_card_info
from steward.audit.checks import CHECKS, CheckParams, register
from steward.audit.policy import Policy, RiskAnswers, Tier, load_policy

__all__ = [
    "AuditResult", "CHECKS", "CardInfo", "CheckParams", "ENGINES", "Finding", "ModelInputs", "Policy", "ProbeInputs",
    "REMEDIATION_METHODS", "RemediationReport", "RiskAnswers", "SCHEMA", "STATUSES", "Statement", "Tier", "audit",
    "constraint_from_policy", "evaluate", "load_card_info", "load_policy", "register", "remediate",
    "resolve_references", "result_from_cells",
]
