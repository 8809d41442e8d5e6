"""The FastAPI application: API routers, web pages, one error shape."""

from __future__ import annotations

from fastapi import FastAPI

from steward.governance import Registry
from steward.web._errors import install_error_handlers

__all__ = ["create_app"]


def create_app(registry: Registry) -> FastAPI:
    from steward import __version__
    from steward.web.routers import admin, health, incidents, models, signoffs

    app = FastAPI(title="Steward", version=__version__,
                  description="The system of record for models: inventory, risk, audits, sign-offs, incidents, trail.")
    app.state.registry = registry
    install_error_handlers(app)
    for r in (health, models, signoffs, incidents, admin):
        app.include_router(r.router)
    try:
        from steward.web import pages
    except ImportError:  # pragma: no cover - pages are part of the package
        pages = None
    if pages is not None:
        app.include_router(pages.router)
    return app
