"""Governance: the registry of models, risk, audits, sign-offs, incidents and the trail.

Needs the ``server`` extra (SQLAlchemy, Alembic): ``pip install 'steward[server]'``.
"""

try:
    import sqlalchemy  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    from steward.errors import MissingExtraError

    raise MissingExtraError("the registry needs the server extra: pip install 'steward[server]'") from exc

from steward.governance._db import database_url, make_engine, upgrade
from steward.governance._incidents import SEVERITIES
from steward.governance._principals import ROLES
from steward.governance._client import RemoteRegistry
from steward.governance._register import record_audit_run
from steward.governance._registry import Registry, parse_ref
from steward.governance._trail import TrailReport

__all__ = ["ROLES", "Registry", "RemoteRegistry", "record_audit_run", "SEVERITIES", "TrailReport", "database_url", "make_engine", "parse_ref", "upgrade"]
