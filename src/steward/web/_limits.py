"""The server's limits as settings, and the request body limit.

The body limit is a plain ASGI wrapper (not a Starlette HTTP middleware class, which costs every request a
task and a copy): a declared ``Content-Length`` over the limit is answered with 413 before a byte
of the body is read; a body without one (chunked) is counted as it streams in, and the read that
crosses the limit fails with 413. Either way the answer is the API's one error shape.
"""

from __future__ import annotations

import json
import os

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steward.errors import StewardError
from steward.governance._sessions import SESSION_HOURS

__all__ = ["BodyLimit", "MAX_BODY_BYTES", "SESSION_HOURS", "max_body_bytes", "session_hours"]

MAX_BODY_BYTES = 20 * 1024 * 1024


def max_body_bytes(value: int | None = None) -> int:
    """The body limit: ``value``, else ``STEWARD_MAX_BODY_BYTES``, else 20 MiB."""
    if value is None:
        raw = os.environ.get("STEWARD_MAX_BODY_BYTES", "").strip()
        if not raw:
            return MAX_BODY_BYTES
        try:
            value = int(raw)
        except ValueError:
            raise StewardError(f"STEWARD_MAX_BODY_BYTES must be a whole number of bytes, got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StewardError(f"the request body limit must be a whole number of bytes of at least 1, got {value!r}")
    return value


def session_hours(value: float | None = None) -> float:
    """How long a web login lasts: ``value``, else ``STEWARD_SESSION_HOURS``, else 8 hours."""
    if value is None:
        raw = os.environ.get("STEWARD_SESSION_HOURS", "").strip()
        if not raw:
            return SESSION_HOURS
        try:
            value = float(raw)
        except ValueError:
            raise StewardError(f"STEWARD_SESSION_HOURS must be a number of hours, got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 24 * 366:
        raise StewardError(f"a web session lasts more than 0 and at most 8784 hours (a year), got {value!r}")
    return float(value)


def _too_large(limit: int) -> str:
    return (f"the request body is larger than this server accepts ({limit:,} bytes); send less, or raise "
            "STEWARD_MAX_BODY_BYTES on the server")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body crosses the limit; the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=_too_large(limit))


class BodyLimit:
    """ASGI wrapper refusing request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _answer(send, 413, _too_large(self.max_bytes))
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # read outside a route (no handler saw it): answer here if we still can
            if started:
                raise
            await _answer(send, 413, exc.detail)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"ok": False, "error": message, "status": status}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
