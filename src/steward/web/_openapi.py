"""The OpenAPI document states what the server really answers, and ``/docs`` works offline.

Errors are documented with the one error shape (``{"ok": false, "error": ..., "status": N}``) under
the statuses a route can give: every operation 400 and 413, one that needs a key 401 and 403, one
with path parameters 404, and what a route declares itself with :func:`errors` (409, or a 404
without a path parameter). FastAPI's default 422 is removed: a request that fails validation is
answered with 400. Swagger UI's script and styles come from the ``swagger_ui_bundle``
package and are served from ``/docs/assets``: the page loads nothing from another host.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles

from steward.errors import MissingExtraError

__all__ = ["ErrorBody", "errors", "install_docs", "install_openapi"]

DOCS_ASSETS = "/docs/assets"


class ErrorBody(BaseModel):
    """The body of every error response."""

    ok: Literal[False] = False
    error: str = Field(description="what went wrong and how to fix it, in one message")
    status: int = Field(description="the HTTP status, repeated")


_MEANING = {
    400: "The request is malformed or a value is not allowed (the message names the field and the fix).",
    401: "No API key, or one that is unknown or revoked.",
    403: "The caller's roles do not allow this.",
    404: "A model, version, audit run, incident or key that was named does not exist.",
    409: "The request clashes with what is stored, or a governance rule refuses it.",
    413: "The request body is larger than the server accepts (STEWARD_MAX_BODY_BYTES).",
    422: "The guard refused the row (a screening flag whose action is refuse); the body holds its logged result.",
    429: "The key sent more rows per second than the deployment allows; Retry-After says when to send again.",
    503: "The prediction log could not be written, so no decision was given; send the request again.",
}


_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _response(code: int) -> dict[str, Any]:
    out: dict[str, Any] = {"description": _MEANING[code], "content": {"application/json": {"schema": _REF}}}
    if code == 401:
        out["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
    return out


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` a route declares beyond those every route of its kind gets."""
    return {code: _response(code) for code in codes}


def _finish(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            codes = {400, 413} | ({401, 403} if operation.get("security") else set()) | ({404} if "{" in path else set())
            for code in codes:
                responses.setdefault(str(code), _response(code))
            for code, response in responses.items():
                if code.startswith("4"):  # an HTML or text route still answers errors in JSON
                    response["content"] = {"application/json": {"schema": _REF}}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, then state the error responses and take out FastAPI's 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _finish(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the installed package, at a local path (no CDN)."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        raise MissingExtraError("the API docs page needs Swagger UI's files: pip install 'steward[server]'") from None
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})  # the validator badge would call a remote service
