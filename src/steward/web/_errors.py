"""One JSON error shape for every HTTP error: ``{"ok": false, "error": "...", "status": N}``."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    StewardError,
    Throttled,
    WorkflowError,
)

__all__ = ["install_error_handlers", "error_body", "status_of"]

log = logging.getLogger("steward.web")

_STATUS = [(Throttled, 429), (AuthenticationError, 401), (PermissionDenied, 403), (NotFoundError, 404), (ConflictError, 409),
           (WorkflowError, 409), (StewardError, 400)]


# Validation messages that do not say how to fix the input, in words that do.
_PLAIN = {
    "string_unicode": "is not valid Unicode text (it holds an unpaired surrogate such as \\ud800); remove it",
}


def _plain(error: dict) -> str:
    from steward.web._inputs import PATTERN_HELP

    if error["type"] == "string_pattern_mismatch":
        return PATTERN_HELP.get(error.get("ctx", {}).get("pattern"), error["msg"])
    return _PLAIN.get(error["type"], error["msg"])


def error_body(status: int, message: str) -> dict:
    return {"ok": False, "error": message, "status": status}


def status_of(exc: StewardError) -> int:
    return next(code for cls, code in _STATUS if isinstance(exc, cls))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StewardError)
    async def _steward(request: Request, exc: StewardError):
        code = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return JSONResponse(error_body(code, str(exc)), status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path"))
            parts.append(f"{where or 'request body'}: {_plain(e)}")
        return JSONResponse(error_body(400, "; ".join(parts)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.method} {request.url.path}"
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body(500, "internal error; the server log has the details"), status_code=500)
