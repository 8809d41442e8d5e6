"""Principals (people and services) with roles, and their API keys (only hashes are stored).

A key reads ``stw_<id>_<secret>``: the id finds the row, the secret's SHA-256 is compared in
constant time. The secret has 256 bits of entropy, so a fast hash is enough (no password stretching).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from steward.errors import AuthenticationError, ConflictError, NotFoundError, StewardError
from steward.governance import _trail
from steward.governance._tables import ApiKey, Principal, iso, now

__all__ = ["PrincipalsMixin", "ROLES"]

ROLES = ("viewer", "developer", "validator", "executive", "reviewer", "operator", "admin")


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class PrincipalsMixin:
    def create_key(self, name: str, roles: list[str], *, actor: str) -> dict[str, Any]:
        """Create the principal if new (with these roles) and a new API key for it; the key is shown once."""
        bad = [r for r in roles if r not in ROLES]
        if not roles or bad:
            raise StewardError(f"unknown role(s) {', '.join(map(repr, bad)) or '(none given)'}; the roles are: {', '.join(ROLES)}")
        if isinstance(name, str) and name != name.strip():
            raise StewardError(f"the name {name!r} starts or ends with spaces; give it without them, so one person "
                               f"has one name in every sign-off and trail entry")
        if not name or not name.strip():
            raise StewardError("a key needs the name of the person or service it belongs to")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        try:
            with self.tx() as s:
                p = s.execute(select(Principal).where(Principal.name == name)).scalar_one_or_none()
                if p is None:
                    p = Principal(name=name, roles=sorted(set(roles), key=ROLES.index))
                    s.add(p)
                    s.flush()
                elif sorted(set(roles)) != sorted(p.roles):
                    raise ConflictError(f"{name!r} already exists with roles {', '.join(p.roles)}; "
                                        f"a new key keeps them (give the same roles) ")
                s.add(ApiKey(id=key_id, principal_id=p.id, secret_sha256=_sha(secret)))
                _trail.append(s, actor, "key.create", f"principal:{name}", {"roles": p.roles, "key_id": key_id})
                roles_out = list(p.roles)
        except IntegrityError:
            raise ConflictError(f"could not create a key for {name!r}; try again") from None
        return {"name": name, "roles": roles_out, "key_id": key_id, "key": f"stw_{key_id}_{secret}"}

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        with self.tx() as s:
            k = s.get(ApiKey, key_id)
            if k is None:
                raise NotFoundError(f"no API key with id {key_id!r}")
            if k.revoked_at is None:  # revoking again keeps the time it stopped working
                k.revoked_at = now()
                _trail.append(s, actor, "key.revoke", f"principal:{k.principal.name}", {"key_id": key_id})

    def authenticate(self, key: str | None) -> dict[str, Any]:
        """The principal (name, roles) an API key belongs to."""
        if not key:
            raise AuthenticationError("an API key is required: send it as 'Authorization: Bearer <key>'")
        parts = key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != "stw":
            raise AuthenticationError("that is not a Steward API key (they start with 'stw_')")
        with self.tx() as s:
            k = s.get(ApiKey, parts[1])
            if k is None or not hmac.compare_digest(k.secret_sha256, _sha(parts[2])):
                raise AuthenticationError("unknown API key")
            if k.revoked_at is not None or k.principal.disabled:
                raise AuthenticationError("this API key has been revoked")
            return {"name": k.principal.name, "roles": list(k.principal.roles), "key_id": k.id}

    def principals(self) -> list[dict[str, Any]]:
        with self.tx() as s:
            return [p.to_dict() for p in s.execute(select(Principal).order_by(Principal.name)).scalars()]

    def keys(self) -> list[dict[str, Any]]:
        """Every principal with its roles and API keys: each key's id, when it was created and revoked.

        Never a secret nor its hash: a key is shown once, when it is created.
        """
        with self.tx() as s:
            by_principal: dict[int, list[dict[str, Any]]] = {}
            for k in s.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars():
                by_principal.setdefault(k.principal_id, []).append(
                    {"key_id": k.id, "created_at": iso(k.created_at), "revoked": k.revoked_at is not None,
                     "revoked_at": iso(k.revoked_at)})
            return [{**p.to_dict(), "keys": by_principal.get(p.id, [])}
                    for p in s.execute(select(Principal).order_by(Principal.name)).scalars()]

    def has_admin(self) -> bool:
        """Whether any enabled principal holds the admin role (the first ``steward serve`` makes one if not)."""
        with self.tx() as s:
            return any("admin" in p.roles for p in s.execute(select(Principal).where(Principal.disabled.is_(False))).scalars())
