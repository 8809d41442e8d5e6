"""Who is calling (API key → principal) and what they may do (one table of permissions).

Least privilege: every role reads; writing is split by job. ``admin`` administers (keys, and
what developers do) but signs off nothing: a sign-off is made in a role the signer holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from steward.errors import AuthenticationError, PermissionDenied
from steward.governance import ROLES, Registry

__all__ = ["PERMISSIONS", "current", "registry", "require", "key_from"]

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "read": ROLES,
    "register": ("developer", "admin"),  # models, versions, risk assessments, audit runs
    "approve": ("developer", "validator", "executive", "admin"),  # the workflow rules decide whether it may
    "sign_off": ("validator", "executive", "reviewer"),  # and only in a role the caller holds
    "incident_open": ("developer", "validator", "reviewer", "operator", "admin"),
    "incident_update": ("operator", "admin"),
    "trail_verify": ("validator", "admin"),
    "accept": ("executive",),  # accept a failing or not-evidenced finding for one version, until a date
    "reproduce": ("validator",),  # record an independent re-run of an audit
    "keys": ("admin",),
}

COOKIE = "steward_key"


def registry(request: Request) -> Registry:
    return request.app.state.registry


def key_from(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE)


def current(request: Request, reg: Registry = Depends(registry)) -> dict[str, Any]:
    return reg.authenticate(key_from(request))


def require(permission: str) -> Callable[..., dict[str, Any]]:
    allowed = PERMISSIONS[permission]

    def dependency(principal: dict[str, Any] = Depends(current)) -> dict[str, Any]:
        if not set(principal["roles"]) & set(allowed):
            raise PermissionDenied(f"{principal['name']} ({', '.join(principal['roles'])}) may not do this; "
                                   f"it needs one of the roles: {', '.join(allowed)}")
        return principal

    return dependency


def check(principal: dict[str, Any] | None, permission: str) -> dict[str, Any]:
    if principal is None:
        raise AuthenticationError("log in with an API key first")
    allowed = PERMISSIONS[permission]
    if not set(principal["roles"]) & set(allowed):
        raise PermissionDenied(f"{principal['name']} may not do this; it needs one of the roles: {', '.join(allowed)}")
    return principal
