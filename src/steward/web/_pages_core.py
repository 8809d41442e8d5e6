"""What every web page shares: the login session, CSRF tokens, rendering, and the error pages.

Logging in with an API key opens a server-side session (:meth:`Registry.start_session`); the
HttpOnly, SameSite=Strict cookie holds only the random session id, never the key. Every POST form
carries the CSRF token stored with that session, compared in constant time, so a page from another
site cannot forge one and a token dies with its session. The login form, which has no session yet,
carries HMAC-SHA256 of a random pre-login cookie under a per-app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.errors import AuthenticationError, NotFoundError, PermissionDenied, StewardError
from steward.web._auth import COOKIE, PERMISSIONS, check
from steward.web._auth import registry as registry_of

__all__ = ["LOGIN_COOKIE", "CsrfRejected", "LoginRequired", "PageRoute", "can", "clear_cookie", "csrf_token",
           "form_user", "local_path", "login_token_ok", "render", "set_cookie", "user"]

LOGIN_COOKIE = "steward_login"

log = logging.getLogger("steward.web")

# The browser may load nothing from elsewhere; the pages use inline CSS only and no script.
_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                "frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry CSRF tokens and registry content
}

_LABELS = {
    "in_development": "In development", "in_review": "In review", "approved": "Approved for deployment",
    "registered": "Registered, not approved", "superseded": "Superseded by a newer version",
    "fail": "Fails", "warn": "Warning", "pass": "Passes", "insufficient_data": "Too few people to judge",
    "not_applicable": "Does not apply", "not_evidenced": "Not evidenced", "open": "Open", "contained": "Contained",
    "resolved": "Resolved", "active": "In force", "lapsed": "Lapsed", "reproduced": "Reproduced",
    "differs": "Differs from the stored audit",
    "approve": "Approve", "reject": "Reject", "validator": "Validator", "executive": "Accountable executive",
    "reviewer": "Reviewer", "developer": "Developer", "operator": "Operator", "admin": "Administrator",
    "viewer": "Viewer", "governance": "Central responsible-ML team",
    "falls_short": "Falls short", "due_soon": "Due soon", "met": "Meets the standard",
}


def label(value: Any) -> str:
    """A stored code (``in_review``, ``insufficient_data``...) in plain words."""
    if value is None:
        return "—"
    text = str(value)
    return _LABELS.get(text, text.replace("_", " ").capitalize())


def when(value: Any, seconds: bool = False) -> str:
    """An ISO timestamp as ``23 Nov 2026, 16:06 UTC`` (``16:06:33`` with ``seconds``); anything else as it is."""
    if not value:
        return "—"
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return (t.strftime("%d %b %Y, %H:%M:%S" if seconds else "%d %b %Y, %H:%M")
            + (" UTC" if t.utcoffset() is not None and not t.utcoffset() else ""))


def number(value: Any) -> str:
    """A count with thousands separators (``7,214``); ``—`` when unknown."""
    return "—" if value is None else f"{value:,}"


_env = jinja2.Environment(loader=jinja2.PackageLoader("steward.web", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters.update(label=label, when=when, number=number)


class LoginRequired(Exception):
    """No valid login cookie: the page answers with a redirect to the login form."""


class CsrfRejected(Exception):
    """A POST form without this session's CSRF token."""


# --- the per-app secret and CSRF tokens ------------------------------------------------------

_secret_lock = threading.Lock()


def _secret(request: Request) -> bytes:
    # Created on first use so create_app needs no change; whoever builds the app may set
    # app.state.csrf_secret beforehand (e.g. one secret shared by several worker processes).
    state = request.app.state
    with _secret_lock:
        if getattr(state, "csrf_secret", None) is None:
            state.csrf_secret = secrets.token_bytes(32)
        return state.csrf_secret


def csrf_token(request: Request, basis: str) -> str:
    """The login form's CSRF token for its pre-login cookie: HMAC-SHA256 under the app's secret."""
    return hmac.new(_secret(request), basis.encode("utf-8"), hashlib.sha256).hexdigest()


def _same(sent: Any, expected: str) -> bool:
    """Whether a form's token is the expected one, in constant time (any text may arrive in a form)."""
    return isinstance(sent, str) and hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


def _csrf_ok(request: Request, basis: str | None, sent: Any) -> bool:
    return bool(basis) and _same(sent, csrf_token(request, basis))


# --- who is logged in ---------------------------------------------------------------------------


def user(request: Request) -> dict[str, Any]:
    """Dependency: the principal of the session in the login cookie (with its CSRF token under
    ``csrf``); without a live session, :class:`LoginRequired`."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise LoginRequired()
    try:
        who = check(registry_of(request).session_principal(session_id), "read")
    except AuthenticationError:
        raise LoginRequired() from None
    request.state.principal = who
    return who


async def form_user(request: Request) -> dict[str, Any]:
    """Dependency for POST forms: the logged-in principal, once the form carries its session's CSRF token."""
    who = await run_in_threadpool(user, request)  # a database read: keep it off the event loop
    form = await request.form()  # Starlette caches it, so Form() parameters still see it
    if not _same(form.get("csrf"), who["csrf"]):
        raise CsrfRejected()
    return who


def login_token_ok(request: Request, sent: Any) -> bool:
    """Whether the login form's token matches its pre-login cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    return _csrf_ok(request, f"login:{nonce}" if nonce else None, sent)


def can(who: dict[str, Any] | None, permission: str) -> bool:
    """Whether the principal holds a role that :data:`PERMISSIONS` allows for ``permission``."""
    return bool(who) and bool(set(who["roles"]) & set(PERMISSIONS[permission]))


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (so ``next=`` cannot send people elsewhere)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """Set an HttpOnly, SameSite=Strict cookie (Secure when the site is served over HTTPS)."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Delete a cookie set by :func:`set_cookie` (same attributes, so every browser drops it)."""
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")


# --- rendering ------------------------------------------------------------------------------------


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the logged-in principal, its CSRF token and the permission test."""
    who = getattr(request.state, "principal", None)
    base = {"who": who, "csrf": who["csrf"] if who else "", "can": can, "flash": None,
            "error": None, "path": request.url.path}
    html = _env.get_template(template).render(**(base | context))
    return HTMLResponse(html, status_code=status)


_ERRORS: list[tuple[type[BaseException], int, str]] = [
    (NotFoundError, 404, "We could not find that"),
    (PermissionDenied, 403, "Your role does not allow this"),
    (CsrfRejected, 403, "This form has expired"),
    (RequestValidationError, 400, "That address or form was not understood"),
    (StewardError, 400, "That could not be done"),
]

_CSRF_HELP = ("The form did not carry this session's security token. It may have been sent from another "
              "site, or you logged in again after loading it. Go back, reload the page, and try again.")


def error_page(request: Request, exc: BaseException) -> HTMLResponse:
    """A friendly HTML page for an error a person can cause (never the API's JSON shape)."""
    status, title = next((code, text) for cls, code, text in _ERRORS if isinstance(exc, cls))
    if isinstance(exc, CsrfRejected):
        message = _CSRF_HELP
    elif isinstance(exc, RequestValidationError):
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'form'}: {e['msg']}" for e in exc.errors())
    else:
        message = str(exc)
    return render(request, "error.html", status=status, title=title, message=message, status_code=status)


def to_login(request: Request) -> RedirectResponse:
    """Redirect to the login form, coming back here afterwards (GET pages only; a form goes home)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" if request.method != "GET" or back == "/" else f"/login?next={quote(back, safe='')}"
    response = RedirectResponse(target, status_code=303)
    if request.cookies.get(COOKIE):  # ended, expired or revoked: forget it
        clear_cookie(request, response, COOKIE)
    return response


class PageRoute(APIRoute):
    """A route that answers errors with HTML pages (or a redirect to log in) and sets safety headers.

    The app's exception handlers answer in the API's JSON shape; a page must not, so page routes
    catch the errors a person can cause here, before those handlers see them.
    """

    def get_route_handler(self):  # noqa: ANN201 - Starlette's handler type
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = to_login(request)
            except StarletteHTTPException:  # e.g. 413 from the body limit: the one error shape
                raise
            except (StewardError, CsrfRejected, RequestValidationError) as exc:
                response = error_page(request, exc)
            except Exception:  # a bug: log it, and still answer with a page rather than the API's JSON
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                response = render(request, "error.html", status=500, title="Something went wrong",
                                  message="The server hit an unexpected error; its log has the details.",
                                  status_code=500)
            for name, value in _HEADERS.items():  # a route may set its own (the stored report's sandbox)
                response.headers.setdefault(name, value)
            return response

        return page_handler
