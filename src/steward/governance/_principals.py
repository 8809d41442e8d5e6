"""Principals (people and services) with roles, and their API keys (only keyed hashes are stored).

A key reads ``stw_<id>_<secret>``: the id finds the row, and the secret's HMAC-SHA-256 under a key
derived from the trail key (kept outside the database, see ``_trailkey``) is compared in constant
time. So whoever can only write the database cannot mint a key: a row they insert holds a hash no
secret of theirs matches. The secret has 256 bits of entropy, so no password stretching is needed.

Keys created before keyed hashes hold the secret's plain SHA-256. Such a key still works only if
the ``trail.rekey`` entry, written (and HMAC-signed) when that database was upgraded, lists its id
and covers its row as it is; ``steward keys list`` marks it "legacy hash: rotate".

Names: one person has one name. A new principal's name may hold no control or format characters
(zero-width, direction overrides), no whitespace but single spaces, and no letters of Latin mixed
with Cyrillic or Greek; and it may not look like an existing one (:func:`name_key`: NFKC, case,
spaces, common look-alike letters), since separation of duties compares names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steward.errors import AuthenticationError, ConflictError, NotFoundError, StewardError
from steward.governance import _rowhash, _trail
from steward.governance._tables import ApiKey, KeyScope, Principal, TrailEntry, TrailHead, iso, now

__all__ = ["PrincipalsMixin", "ROLES", "credential_digest", "name_key", "check_name"]

# governance: the central responsible-ML team, read-only over everything (the standards console)
ROLES = ("viewer", "developer", "validator", "executive", "reviewer", "operator", "admin", "governance", "caller")

# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned characters, and
# line/paragraph separators: invisible or misleading in a name.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# Common Cyrillic and Greek letters that look like Latin ones (for comparing names, not for storing them).
_LOOK_ALIKES = str.maketrans("АВЕКМНОРСТХУЅІЈԚԜ" "аеорсухѕіјһԛԝӏ" "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" "οινκραυ",
                             "ABEKMHOPCTXYSIJQW" "aeopcyxsijhqwl" "ABEZHIKMNOPTYX" "oivkpau")


def credential_digest(trail_key: bytes | str, kind: str, secret: str) -> str:
    """HMAC-SHA-256 of a credential (an API key's secret, a session id) under a sub-key of the trail key.

    The trail key is kept outside the database, so a database writer cannot compute a stored value
    for a secret of their own choosing.
    """
    key = trail_key.encode("utf-8") if isinstance(trail_key, str) else trail_key
    sub = hmac.new(key, b"steward-credentials", hashlib.sha256).digest()
    text = f"{kind}\x00{secret}".encode("utf-8", "surrogatepass")
    return hmac.new(sub, text, hashlib.sha256).hexdigest()


def _sha(secret: str) -> str:
    """The unkeyed hash keys had before keyed hashes (still accepted for keys listed at the upgrade)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def name_key(name: str) -> str:
    """What two names are compared by: NFKC, common look-alike letters, case folded, invisible
    characters dropped, any whitespace run one space. Names with the same key look the same."""
    text = unicodedata.normalize("NFKC", name).translate(_LOOK_ALIKES)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = "".join(" " if ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp")
                   else "" if unicodedata.category(ch) in _REFUSED_CATEGORIES else ch for ch in text)
    return " ".join(text.split())


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"


def check_name(name: Any) -> str:
    """A new principal's name, or :class:`StewardError` saying what is wrong with it."""
    if not isinstance(name, str) or not name or not name.strip():
        raise StewardError("a key needs the name of the person or service it belongs to")
    if name != name.strip():
        raise StewardError(f"the name {name!r} starts or ends with spaces; give it without them, so one person "
                           f"has one name in every sign-off and trail entry")
    for ch in name:
        cat = unicodedata.category(ch)
        if ch != " " and (ch.isspace() or cat in ("Zs", "Zl", "Zp")):  # tab, newline, no-break space, ...
            raise StewardError(f"the name {name!r} holds whitespace other than a plain space (U+{ord(ch):04X}); "
                               f"separate words with one space")
        if cat in _REFUSED_CATEGORIES:
            raise StewardError(f"the name {name!r} holds an invisible or control character (U+{ord(ch):04X}"
                               f"{', ' + unicodedata.name(ch) if unicodedata.name(ch, '') else ''}); names are "
                               f"plain text, so that no two look alike")
    scripts = {_script(ch) for ch in name if ch.isalpha()} & set(_CONFUSABLE_SCRIPTS)
    if len(scripts) > 1:
        raise StewardError(f"the name {name!r} mixes {' and '.join(s.title() for s in sorted(scripts))} letters, "
                           f"which can look alike; write it in one script")
    return name


def _legacy_listed(s: Session, trail_key: bytes) -> dict[str, str]:
    """The API keys a signed ``trail.rekey`` entry lists as made before keyed hashes: id → the digest
    of its row as that entry covers it. An entry whose HMAC fails lists nothing."""
    out: dict[str, str] = {}
    for e in s.execute(select(TrailEntry).where(TrailEntry.action == "trail.rekey", TrailEntry.actor == "steward",
                                                TrailEntry.alg == _trail.ALG)).scalars():
        expected = _trail.entry_hmac(trail_key, e.seq, e.created_at, e.actor, e.action, e.subject, e.payload, e.rows,
                                     e.prev_hash)
        if not hmac.compare_digest(expected.encode(), str(e.hash).encode()):
            continue
        try:
            payload, rows = json.loads(e.payload), json.loads(e.rows)
            ids = payload.get("legacy_api_keys") or []
        except (ValueError, AttributeError):
            continue
        for key_id in ids if isinstance(ids, list) else []:
            digest = rows.get(f"api_keys:{key_id}") if isinstance(rows, dict) else None
            if isinstance(key_id, str) and isinstance(digest, str):
                out[key_id] = digest
    return out


class PrincipalsMixin:
    def _trail_key_bytes(self) -> bytes:
        key = self.trail_key
        return key.encode("utf-8") if isinstance(key, str) else key

    def _key_digest(self, secret: str) -> str:
        return credential_digest(self._trail_key_bytes(), "api-key", secret)

    def create_key(self, name: str, roles: list[str], *, actor: str,
                   deployments: list[str] | None = None) -> dict[str, Any]:
        """Create the principal if new (with these roles) and a new API key for it; the key is shown once.

        A ``caller`` (an application calling guarded endpoints) holds no other role, and its key is
        scoped to the named ``deployments``: it may call those and nothing else.

        A new principal's name must pass :func:`check_name` and must not look like an existing
        principal's (:func:`name_key`): a :class:`ConflictError` names that principal.
        """
        bad = [r for r in roles if r not in ROLES]
        if not roles or bad:
            raise StewardError(f"unknown role(s) {', '.join(map(repr, bad)) or '(none given)'}; the roles are: {', '.join(ROLES)}")
        if isinstance(name, str) and name != name.strip():
            raise StewardError(f"the name {name!r} starts or ends with spaces; give it without them, so one person "
                               f"has one name in every sign-off and trail entry")
        if not isinstance(name, str) or not name or not name.strip():
            raise StewardError("a key needs the name of the person or service it belongs to")
        scopes = sorted(set(deployments or []))
        if "caller" in roles and (len(set(roles)) > 1 or not scopes):
            raise StewardError("a caller key holds only the caller role and names the deployments it may call: "
                               "--role caller --deployment NAME (repeat for more)")
        if scopes and "caller" not in roles:
            raise StewardError("--deployment scopes a caller key; give --role caller, or leave --deployment out")
        for d in scopes:
            check_name(d)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        try:
            with self.tx() as s:
                p = s.execute(select(Principal).where(Principal.name == name)).scalar_one_or_none()
                if p is None:
                    # The trail head's lock (every append takes it) orders principal creations, so two
                    # look-alike names cannot both pass the check at the same time.
                    s.execute(select(TrailHead).where(TrailHead.id == 1).with_for_update()).scalar_one_or_none()
                    wanted = name_key(name)
                    for other in s.execute(select(Principal).order_by(Principal.id)).scalars():
                        if name_key(other.name) == wanted:
                            raise ConflictError(f"{name!r} looks the same as the existing principal {other.name!r} "
                                                f"(names are compared ignoring case, spacing, invisible characters "
                                                f"and look-alike letters); give a new key to {other.name!r}, or "
                                                f"choose a name that differs")
                    check_name(name)
                    p = Principal(name=name, roles=sorted(set(roles), key=ROLES.index))
                    s.add(p)
                    s.flush()
                elif sorted(set(roles)) != sorted(p.roles):
                    raise ConflictError(f"{name!r} already exists with roles {', '.join(p.roles)}; "
                                        f"a new key keeps them (give the same roles) ")
                s.add(ApiKey(id=key_id, principal_id=p.id, secret_sha256=self._key_digest(secret)))
                s.flush()
                for d in scopes:
                    s.add(KeyScope(key_id=key_id, deployment=d))
                s.flush()
                _trail.append(s, actor, "key.create", f"principal:{name}",
                              {"roles": p.roles, "key_id": key_id, **({"deployments": scopes} if scopes else {})})
                roles_out = list(p.roles)
        except IntegrityError:
            raise ConflictError(f"could not create a key for {name!r}; try again") from None
        out = {"name": name, "roles": roles_out, "key_id": key_id, "key": f"stw_{key_id}_{secret}"}
        return {**out, "deployments": scopes} if scopes else out

    def revoke_key(self, key_id: str, *, actor: str) -> None:
        with self.tx() as s:
            k = s.get(ApiKey, key_id)
            if k is None:
                raise NotFoundError(f"no API key with id {key_id!r}")
            if k.revoked_at is None:  # revoking again keeps the time it stopped working
                k.revoked_at = now()
                _trail.append(s, actor, "key.revoke", f"principal:{k.principal.name}", {"key_id": key_id})

    def _legacy_key_ok(self, s: Session, k: ApiKey) -> bool:
        """Whether a key with a plain SHA-256 hash was there when the database was upgraded: the signed
        ``trail.rekey`` entry lists its id and covers its row as it is now (but for a revocation since)."""
        listed = _legacy_listed(s, self._trail_key_bytes()).get(k.id)
        if listed is None:
            return False
        table = ApiKey.__table__
        row = s.execute(select(table).where(table.c.id == k.id)).mappings().one_or_none()
        if row is None:
            return False
        as_listed = [dict(row), {**row, "revoked_at": None}]  # revoked since: say so, not "unknown"
        return any(hmac.compare_digest(listed.encode(), _rowhash.row_digest("api_keys", r).encode()) for r in as_listed)

    def authenticate(self, key: str | None) -> dict[str, Any]:
        """The principal (name, roles) an API key belongs to."""
        if not key:
            raise AuthenticationError("an API key is required: send it as 'Authorization: Bearer <key>'")
        parts = key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != "stw":
            raise AuthenticationError("that is not a Steward API key (they start with 'stw_')")
        with self.tx() as s:
            k = s.get(ApiKey, parts[1])
            if k is None:
                raise AuthenticationError("unknown API key")
            stored = str(k.secret_sha256).encode()
            if not hmac.compare_digest(stored, self._key_digest(parts[2]).encode()):
                legacy = hmac.compare_digest(stored, _sha(parts[2]).encode())
                if not legacy or not self._legacy_key_ok(s, k):
                    raise AuthenticationError("unknown API key")
            if k.revoked_at is not None or k.principal.disabled:
                raise AuthenticationError("this API key has been revoked")
            out = {"name": k.principal.name, "roles": list(k.principal.roles), "key_id": k.id}
            if "caller" in out["roles"]:
                out["deployments"] = sorted(s.execute(select(KeyScope.deployment).where(KeyScope.key_id == k.id)).scalars())
            return out

    def principals(self) -> list[dict[str, Any]]:
        with self.tx() as s:
            return [p.to_dict() for p in s.execute(select(Principal).order_by(Principal.name)).scalars()]

    def keys(self) -> list[dict[str, Any]]:
        """Every principal with its roles and API keys: each key's id, when it was created and revoked,
        and whether it still has a hash from before keyed hashes (``legacy_hash``: rotate it).

        Never a secret nor its hash: a key is shown once, when it is created.
        """
        with self.tx() as s:
            legacy = _legacy_listed(s, self._trail_key_bytes())
            by_principal: dict[int, list[dict[str, Any]]] = {}
            for k in s.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars():
                by_principal.setdefault(k.principal_id, []).append(
                    {"key_id": k.id, "created_at": iso(k.created_at), "revoked": k.revoked_at is not None,
                     "revoked_at": iso(k.revoked_at), "legacy_hash": k.id in legacy})
            return [{**p.to_dict(), "keys": by_principal.get(p.id, [])}
                    for p in s.execute(select(Principal).order_by(Principal.name)).scalars()]

    def has_admin(self) -> bool:
        """Whether any enabled principal holds the admin role (the first ``steward serve`` makes one if not)."""
        with self.tx() as s:
            return any("admin" in p.roles for p in s.execute(select(Principal).where(Principal.disabled.is_(False))).scalars())
