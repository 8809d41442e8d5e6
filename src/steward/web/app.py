"""The FastAPI application: API routers, web pages, one error shape."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from steward.governance import Registry
from steward.web._errors import install_error_handlers
from steward.web._inputs import known_query_parameters
from steward.web._limits import BodyLimit
from steward.web._limits import max_body_bytes as _max_body_bytes
from steward.web._limits import session_hours as _session_hours
from steward.web._openapi import install_docs, install_openapi

__all__ = ["create_app", "app_from_environment", "PARTS"]

PARTS = ("all", "predictions", "governance")


def create_app(registry: Registry, *, max_body_bytes: int | None = None, session_hours: float | None = None,
               only: str = "all") -> FastAPI:
    """The Steward server over ``registry``: the REST API under ``/api``, the pages, ``/docs``.

    Parameters
    ----------
    registry : Registry
        The registry the server reads and writes.
    max_body_bytes : int, optional
        Largest request body accepted (else 413); default ``STEWARD_MAX_BODY_BYTES`` or 20 MiB.
    session_hours : float, optional
        How long a login on the web pages lasts; default ``STEWARD_SESSION_HOURS`` or 8.
    only : {"all", "predictions", "governance"}
        Serve everything; only the guarded endpoints (and ``/api/health``), so prediction traffic runs in
        processes of its own; or everything but the guarded endpoints.
    """
    import contextlib

    from steward import __version__
    from steward.errors import StewardError
    from steward.web.routers import admin, deployments, evidence, harm, health, incidents, models, review, signoffs
    from steward.web.routers import monitors, notices, standards

    if only not in PARTS:
        raise StewardError(f"--only must be one of {', '.join(PARTS)}, got {only!r}")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        from steward.web._callbacks import Deliveries

        # callbacks of settled decisions and the review deadlines, in a thread of each server process
        app.state.deliveries = Deliveries(registry).start()
        yield
        app.state.deliveries.stop()
        serving = getattr(app.state, "serving", None)
        if serving is not None:
            serving.close()

    app = FastAPI(title="Steward", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="The system of record for models: inventory, risk, audits, sign-offs, incidents, trail.")
    app.state.registry = registry
    app.state.max_body_bytes = _max_body_bytes(max_body_bytes)
    app.state.session_hours = _session_hours(session_hours)
    app.add_middleware(BodyLimit, max_bytes=app.state.max_body_bytes)
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.state.serving = None
    if only in ("all", "predictions"):
        from steward.web._serving import ServingRuntime

        app.state.serving = ServingRuntime(registry)
        # the guarded endpoint takes no query parameters; its guards are plain calls inside the route
        app.include_router(deployments.predict_router)
        app.include_router(review.appeal_router, dependencies=[Depends(known_query_parameters)])
    routers = (health,) if only == "predictions" else (health, models, signoffs, incidents, evidence, deployments, admin,
                                                       harm, review, notices, monitors, standards)
    for r in routers:
        app.include_router(r.router, dependencies=[Depends(known_query_parameters)])
    if only == "predictions":
        return app
    try:
        from steward.web import pages
    except ImportError:  # pragma: no cover - pages are part of the package
        pages = None
    if pages is not None:
        app.include_router(pages.router)
    return app


def app_from_environment() -> FastAPI:
    """The app of a server worker (``steward serve --workers N``): the registry and part to serve come from
    ``STEWARD_DATABASE_URL``, ``STEWARD_POLICY`` and ``STEWARD_SERVE_ONLY``."""
    import os

    return create_app(Registry(os.environ.get("STEWARD_DATABASE_URL"), policy=os.environ.get("STEWARD_POLICY")),
                      only=os.environ.get("STEWARD_SERVE_ONLY", "all"))
