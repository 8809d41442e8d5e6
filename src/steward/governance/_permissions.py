"""Who may do what: one table of permissions by role, for the HTTP API and the local CLI alike.

Least privilege: every role reads (``governance``, the central team, only reads); writing is split by job. ``admin`` administers (keys, and what
developers do) but signs off nothing: a sign-off is made in a role the signer holds.
"""

from __future__ import annotations

from typing import Any

from steward.errors import PermissionDenied
from steward.governance._principals import ROLES

__all__ = ["PERMISSIONS", "allowed"]

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "read": tuple(r for r in ROLES if r != "caller"),  # an application's key calls its deployments, nothing else
    "register": ("developer", "admin"),  # models, versions, audit runs
    # risk assessments; lowering a model's tier further needs a validator or executive who did not build it
    "assess": ("developer", "validator", "executive", "admin"),
    "approve": ("developer", "validator", "executive", "admin"),  # the workflow rules decide whether it may
    "sign_off": ("validator", "executive", "reviewer"),  # and only in a role the caller holds
    "incident_open": ("developer", "validator", "reviewer", "operator", "admin"),
    "incident_update": ("operator", "admin"),
    "trail_verify": ("validator", "admin", "governance"),  # reads and checks; the central team audits the record
    "accept": ("executive",),  # accept a failing or not-evidenced finding for one version, until a date
    "reproduce": ("validator",),  # record an independent re-run of an audit
    "keys": ("admin",),
    "deploy": ("developer", "operator", "admin"),  # deploy an approved version behind a guarded endpoint
    "kill": ("operator", "admin"),  # pull a deployment's kill switch, and revive it
    "monitor": ("developer", "operator", "validator", "admin"),  # create and run monitors, give them late labels
    "log_export": ("operator", "validator", "admin"),  # export a deployment's prediction log (it may hold inputs)
    "predict": ("caller",),  # call a guarded endpoint the key is scoped to
    "appeal": ("caller",),  # file a person's appeal of a decision of a deployment the key is scoped to
    # a logged decision and its history: every reader, and a caller key for the deployments it is scoped to
    "read_prediction": ROLES,
    "review": ("reviewer",),  # decide review items: confirm, override, uphold or overturn appeals
    "harm_triage": ("operator", "admin"),  # read and triage harm reports (they hold reporters' contacts)
    # teams, their members, and which team owns a model (a builder moving a model to another team could make a
    # teammate's sign-off look independent)
    "teams": ("admin",),
    "acknowledge": ("developer", "operator", "validator", "admin"),  # acknowledge a monitor's alert, saying what is done
    # post the standards digest to a webhook the server's operator allows (STEWARD_DIGEST_WEBHOOKS)
    "digest": ("admin", "governance"),
}


def allowed(principal: dict[str, Any], permission: str) -> dict[str, Any]:
    """``principal`` if one of its roles grants ``permission``, else :class:`PermissionDenied` saying who may."""
    roles = PERMISSIONS[permission]
    if not set(principal["roles"]) & set(roles):
        raise PermissionDenied(f"{principal['name']} ({', '.join(principal['roles'])}) may not do this; "
                               f"it needs one of the roles: {', '.join(roles)}")
    return principal
