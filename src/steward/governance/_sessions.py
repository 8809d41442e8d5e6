"""Web sessions: logging in on the pages trades an API key for a random session id.

The browser's cookie holds only the session id; the table keeps its HMAC-SHA-256 under a sub-key of
the trail key, which is kept outside the database (so a copy of the database logs nobody in, and
whoever can only write the database cannot insert a session for an id of their choosing), the
principal and key it was opened with, the CSRF token bound to it, and when it expires or was ended.
A session works only while it is unexpired and not ended, and while its key is not revoked and its
principal not disabled. Sessions are not governed rows; logging in and out are recorded on the
trail as ``session.start`` and ``session.end``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from steward.errors import AuthenticationError, StewardError
from steward.governance import _trail
from steward.governance._principals import credential_digest
from steward.governance._tables import ApiKey, Principal, WebSession, now

__all__ = ["SessionsMixin", "SESSION_HOURS"]

SESSION_HOURS = 8.0
# secrets.token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
_MAX_ID = 128


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC back


class SessionsMixin:
    def _session_digest(self, session_id: str) -> str:
        """What the table stores for a session id (its ``id_sha256`` column): a keyed hash, never the id."""
        return credential_digest(self.trail_key, "web-session", session_id)

    def start_session(self, key: str, *, hours: float = SESSION_HOURS) -> tuple[str, str, dict[str, Any]]:
        """Log in with an API key: a new session that lasts ``hours``.

        Returns
        -------
        tuple
            ``(session_id, csrf_token, principal)``: the id goes in the cookie and is not stored;
            the principal is ``{"name", "roles", "key_id"}``.
        """
        if not 0 < hours <= 24 * 366:
            raise StewardError(f"a session lasts more than 0 and at most 8784 hours (a year), got {hours}")
        principal = self.authenticate(key)
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
        with self.tx() as s:
            p = s.get(ApiKey, principal["key_id"]).principal
            start = now()
            s.add(WebSession(id_sha256=self._session_digest(session_id), principal_id=p.id, key_id=principal["key_id"],
                             csrf_token=csrf, created_at=start, expires_at=start + timedelta(hours=hours)))
            _trail.append(s, p.name, "session.start", f"principal:{p.name}",
                          {"key_id": principal["key_id"], "hours": hours})
        return session_id, csrf, principal

    def _live_session(self, s: Session, session_id: str | None) -> tuple[WebSession, Principal]:
        if not session_id or len(session_id) > _MAX_ID:
            raise AuthenticationError("not logged in: no session")
        ws = s.get(WebSession, self._session_digest(session_id))
        if ws is None:
            raise AuthenticationError("unknown session; log in again")
        if ws.ended_at is not None:
            raise AuthenticationError("this session was logged out; log in again")
        if _utc(ws.expires_at) <= now():
            raise AuthenticationError("this session has expired; log in again")
        key = s.get(ApiKey, ws.key_id)
        if key is None or key.revoked_at is not None:
            raise AuthenticationError("the API key this session was opened with has been revoked; log in again")
        if key.principal.disabled:
            raise AuthenticationError(f"{key.principal.name} has been disabled; ask an administrator")
        return ws, key.principal

    def session_principal(self, session_id: str | None) -> dict[str, Any]:
        """The principal of a live session, with the session's CSRF token and expiry.

        Returns ``{"name", "roles", "key_id", "csrf", "expires_at"}``; raises
        :class:`~steward.errors.AuthenticationError` for an unknown, ended or expired session, or one
        whose key was revoked or whose principal was disabled.
        """
        with self.tx() as s:
            ws, p = self._live_session(s, session_id)
            return {"name": p.name, "roles": list(p.roles), "key_id": ws.key_id, "csrf": ws.csrf_token,
                    "expires_at": _utc(ws.expires_at).isoformat()}

    def end_session(self, session_id: str | None) -> bool:
        """Log out: end the session on the server, so its cookie no longer works anywhere.

        Returns whether a live session was ended (False for an unknown, ended or expired one).
        """
        with self.tx() as s:
            try:
                ws, p = self._live_session(s, session_id)
            except AuthenticationError:
                return False
            ws.ended_at = now()
            _trail.append(s, p.name, "session.end", f"principal:{p.name}", {"key_id": ws.key_id})
        return True
