"""A monitor's page: its report (a time series per signal with thresholds and alert markers, the alerts, the
incidents and kill-switch trips), the same file `steward monitor report` writes, for anyone who may read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from steward.web._auth import registry as registry_of
from steward.web._pages_core import PageRoute, user

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/monitors/{name}")
def monitor_page(request: Request, name: str, who: dict = Depends(user)) -> Response:
    from steward.monitoring._report import monitor_report_html

    return HTMLResponse(monitor_report_html(registry_of(request).monitor(name)))
