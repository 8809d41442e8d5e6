"""Monitors over HTTP: create (of a deployment's log, or of records other systems send), run, send records
and late labels, read windows and alerts; and ``GET /metrics``, the current value of every signal in
Prometheus' text format, so existing dashboards and alert managers can use them.

File monitors are created with the CLI only: a path on the server is not something a client should name.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from steward.governance import Registry
from steward.web._auth import registry, require
from steward.web._inputs import In, JsonObject, NamePath, Text
from steward.web._openapi import errors

__all__ = ["router", "prometheus_text"]

router = APIRouter(tags=["monitors"])

MonitorRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}(:[A-Za-z0-9][A-Za-z0-9._-]{0,99})?$",
                                  description="MODEL or MODEL:VERSION")]


class MonitorIn(In):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="the monitor's name")]
    deployment: Text(200, min_length=1) | None = None
    records: bool = Field(default=False, description="watch records sent to POST /api/monitors/{name}/records")
    model: MonitorRef | None = None
    protected: list[Text(200, min_length=1)] = Field(default=[], max_length=20)
    reference: JsonObject | None = Field(default=None, description="a Reference.to_dict(); default: re-derived by "
                                                                    "the registry from the version")
    tier: Text(100, min_length=1) | None = None
    settings: JsonObject | None = None


class RunIn(In):
    close_all: bool = False


class LabelIn(In):
    prediction_id: Text(200, min_length=1)
    label: Annotated[int, Field(ge=0, le=1)]


class LabelsIn(In):
    labels: list[LabelIn] = Field(min_length=1, max_length=100_000)


class RecordsIn(In):
    records: list[JsonObject] = Field(min_length=1, max_length=10_000)


@router.get("/api/monitors")
def list_monitors(reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    return reg.monitors()


@router.post("/api/monitors", status_code=201, responses=errors(404, 409))
def create_monitor(body: MonitorIn, reg: Registry = Depends(registry), who=Depends(require("monitor"))) -> dict:
    return reg.create_monitor(body.name, actor=who["name"], deployment=body.deployment, records=body.records,
                              reference=body.reference, model=body.model, protected=body.protected, tier=body.tier,
                              settings=body.settings)


@router.get("/api/monitors/{name}", responses=errors(404))
def get_monitor(name: NamePath, reg: Registry = Depends(registry), _=Depends(require("read"))) -> dict:
    return reg.monitor(name)


@router.post("/api/monitors/{name}/run", responses=errors(404))
def run_monitor(name: NamePath, body: RunIn | None = None, reg: Registry = Depends(registry),
                who=Depends(require("monitor"))) -> dict:
    return reg.run_monitor(name, actor=who["name"], close_all=bool(body and body.close_all))


@router.post("/api/monitors/{name}/records", status_code=202, responses=errors(404))
def send_records(name: NamePath, body: RecordsIn, reg: Registry = Depends(registry),
                 who=Depends(require("monitor"))) -> dict:
    return reg.add_records(name, body.records, actor=who["name"])


@router.post("/api/monitors/{name}/labels", responses=errors(404))
def send_labels(name: NamePath, body: LabelsIn, reg: Registry = Depends(registry),
                who=Depends(require("monitor"))) -> dict:
    return reg.add_labels(name, {x.prediction_id: x.label for x in body.labels}, actor=who["name"])


# --- Prometheus ---------------------------------------------------------------------------------------

_METRIC = re.compile(r"[^a-zA-Z0-9_]")


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(monitors: list[dict[str, Any]]) -> str:
    """Each monitor's latest window (the open one if any, else the last closed): one gauge per signal family,
    labelled by monitor, window and subject, plus whether it breaches and the alerts raised so far."""
    fams: dict[str, list[str]] = {}
    helps = {"steward_monitor_signal": "the value of a monitor's signal in its latest window",
             "steward_monitor_breach": "1 when the signal breaches its threshold in the latest window",
             "steward_monitor_threshold": "the threshold the signal is judged against",
             "steward_monitor_window_rows": "rows in the monitor's latest window",
             "steward_monitor_alerts_total": "alerts the monitor has raised"}
    for m in monitors:
        wins = m.get("windows") or []
        if wins:
            w = wins[-1]
            base = {"monitor": m["name"], "window": w["key"]}
            fams.setdefault("steward_monitor_window_rows", []).append(_line("steward_monitor_window_rows", base, w["rows"]))
            for sgl in (w.get("result") or {}).get("signals", []):
                labels = {**base, "signal": sgl["signal"], "subject": sgl["subject"]}
                if sgl.get("value") is not None and math.isfinite(sgl["value"]):
                    fams.setdefault("steward_monitor_signal", []).append(_line("steward_monitor_signal", labels,
                                                                               sgl["value"]))
                    fams.setdefault("steward_monitor_breach", []).append(_line("steward_monitor_breach", labels,
                                                                               int(bool(sgl["breach"]))))
                if isinstance(sgl.get("threshold"), (int, float)):
                    fams.setdefault("steward_monitor_threshold", []).append(
                        _line("steward_monitor_threshold", labels, sgl["threshold"]))
        counts: dict[tuple[str, str], int] = {}
        for a in m.get("alerts") or []:
            counts[(a["signal"], a["severity"])] = counts.get((a["signal"], a["severity"]), 0) + 1
        for (sig, sev), n in sorted(counts.items()):
            fams.setdefault("steward_monitor_alerts_total", []).append(
                _line("steward_monitor_alerts_total", {"monitor": m["name"], "signal": sig, "severity": sev}, n))
    out = []
    for name, lines in fams.items():
        kind = "counter" if name.endswith("_total") else "gauge"
        out += [f"# HELP {name} {helps[name]}", f"# TYPE {name} {kind}", *lines]
    return "\n".join(out) + "\n"


def _line(name: str, labels: dict[str, Any], value: float) -> str:
    inner = ",".join(f'{_METRIC.sub("_", k)}="{_label(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {float(value):.10g}"


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(reg: Registry = Depends(registry), _=Depends(require("read"))) -> Response:
    """The current value of every monitor's signals, in Prometheus' text exposition format (0.0.4). Scrape it
    with a key: ``authorization: {credentials: KEY}`` in the scrape config."""
    text = prometheus_text(reg.monitors_latest())
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
