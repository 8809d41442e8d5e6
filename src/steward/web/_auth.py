"""Who is calling (API key → principal) and what they may do (one table of permissions).

Least privilege: every role reads; writing is split by job. ``admin`` administers (keys, and
what developers do) but signs off nothing: a sign-off is made in a role the signer holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from steward.errors import AuthenticationError, PermissionDenied
from steward.governance import Registry
from steward.governance._permissions import PERMISSIONS

__all__ = ["PERMISSIONS", "current", "registry", "require", "key_from"]

# The one table of permissions lives in the registry, shared with the local CLI.

# The web pages' login cookie: a server-side session id (see Registry.start_session), never an API key.
COOKIE = "steward_session"

# Declared so the OpenAPI document (and /docs) shows how to authenticate; key_from does the reading.
_BEARER = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer stw_...`")
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key in the X-API-Key header")


def registry(request: Request) -> Registry:
    return request.app.state.registry


def key_from(request: Request) -> str | None:
    """The API key of an API call: ``Authorization: Bearer <key>`` or ``X-API-Key``. A cookie is for pages only."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def current(request: Request, reg: Registry = Depends(registry), _bearer: Any = Security(_BEARER),
            _header: Any = Security(_HEADER)) -> dict[str, Any]:
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
