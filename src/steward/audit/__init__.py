"""Audits: the orchestrator, results and reports."""

from steward.audit._result import SCHEMA, AuditResult
from steward.audit._run import ENGINES, audit, resolve_references, result_from_cells
from steward.audit._summary import Statement

__all__ = ["AuditResult", "ENGINES", "SCHEMA", "Statement", "audit", "resolve_references", "result_from_cells"]
