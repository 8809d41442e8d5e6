"""Running a monitor: read what is new from its source, reduce it into the windows, judge the complete ones,
and act on the alerts (store them with their evidence, open or add to the monitor's incident, pull the
deployment's kill switch when the rule says so); late labels make their windows be read again and their
label-dependent signals judged again. See :mod:`steward.governance._monitors` for the monitors themselves."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy import select

from steward.errors import ConflictError, StewardError
from steward.governance import _trail
from steward.governance._tables import Deployment, Incident, IncidentEntry, Model, MonitorAlert, MonitorRow, MonitorWindow, Version, now

__all__ = ["MonitorRunMixin"]

_SEVERITY_ORDER = ("low", "medium", "high", "critical")
LABELLED = ("performance", "fairness", "oversight")  # judged again when late labels or people's decisions arrive


class MonitorRunMixin:
    def run_monitor(self, name: str, *, actor: str, at: datetime | None = None, close_all: bool = False,
                    on_progress: Any = None) -> dict[str, Any]:
        """Read what is new, reduce it into the windows, judge the complete ones, act on the alerts.
        ``close_all`` judges every window (a file read once); otherwise the latest time window stays open
        until its end has passed ``at`` (now)."""
        from steward.monitoring import Monitor, Reference, WindowStats, load_monitor_settings, window_span
        from steward.monitoring._signals import evaluate

        at = at or datetime.now(timezone.utc)
        with self._sessions() as s:
            row = self._monitor_row(s, name)
            s.expunge(row)
            stored = {w.key: w for w in s.execute(select(MonitorWindow).where(MonitorWindow.monitor_id == row.id))
                      .scalars()}
            for w in stored.values():
                s.expunge(w)
        if row.source["kind"] == "deployment":
            with self._sessions() as s:
                d = s.execute(select(Deployment).where(Deployment.name == row.deployment,
                                                       Deployment.status == "active")).scalar_one_or_none()
                if d is not None and d.version_id != row.version_id:
                    v = s.get(Version, d.version_id)
                    raise StewardError(
                        f"deployment {row.deployment!r} now serves {v.model.name}:{v.version}, not the version monitor "
                        f"{row.name!r} compares with; create a monitor for it (its reference is that version's)")
        tier = self.policy.tier(row.tier) if row.tier else None
        settings = load_monitor_settings(tier.monitor if tier else {}, row.settings)
        confidence = tier.confidence if tier else 0.95
        min_group = tier.min_group_size if tier else 30
        ref = Reference.from_dict(row.reference)
        mon = Monitor(ref, settings, confidence=confidence, min_group_size=min_group,
                      windows={k: WindowStats.from_dict(w.stats) for k, w in stored.items() if not w.closed},
                      state=copy.deepcopy(row.state))  # the stored one stays as read (see _store_run)
        watermark = copy.deepcopy(row.watermark or {})
        read = 0
        if row.source["kind"] == "deployment":
            with self._sessions() as s:
                after = tuple(watermark["log"]) if watermark.get("log") else None
                seen = dict(watermark.get("seen") or {})  # ids read within the overlap behind the watermark
                for frame, after in self._log_batches(s, row, after, seen=seen):
                    mon.add(frame)
                    read += len(frame)
                    watermark["log"] = list(after)
                    if on_progress:
                        on_progress("reading", read)
                if watermark.get("log"):
                    from steward.governance._monitors import LOG_OVERLAP

                    floor = (datetime.fromisoformat(watermark["log"][0]) - LOG_OVERLAP).isoformat()
                    watermark["seen"] = {k: t for k, t in seen.items() if t > floor}
        elif row.source["kind"] == "records":
            with self._sessions() as s:
                for frame, after in self._record_batches(s, row, watermark.get("records")):
                    mon.add(frame)
                    read += len(frame)
                    watermark["records"] = after
                    if on_progress:
                        on_progress("reading", read)
        else:
            done = dict(watermark.get("files") or {})
            for frame, path, tag in self._file_batches(row, done):
                mon.add(frame)
                read += len(frame)
                done[path] = tag
                if on_progress:
                    on_progress("reading", read)
            watermark["files"] = done
        by = settings.window.by

        def rows_of(key: str) -> pd.DataFrame:
            frames = self._window_frames(row, key, settings.window, watermark)
            return pd.concat(frames) if frames else pd.DataFrame()

        keys = sorted(k for k in mon.windows if k not in mon.state["closed"]) if close_all else \
            mon.complete(pd.Timestamp(at))
        closed = mon.close(keys, rows_of=rows_of)
        alerts = [a for _, al in closed for a in al]
        # late labels: the closed windows they fall in are reduced again and their label-dependent signals judged
        relabelled: dict[str, Any] = {}
        only: set[str] | None = None  # the closed windows to read again (None: all of them)
        labels = watermark.pop("labels_pending", False)
        if row.source["kind"] == "deployment":
            from steward.governance._monitors import _people_since
            from steward.monitoring import window_keys

            with self._sessions() as s:
                watermark["people"], touched = _people_since(s, row.deployment, watermark.get("people"))
            if touched and not labels:
                only = set(window_keys(pd.Series(touched), by)) if by != "count" else None
                labels = True
        if labels:
            relabelled = self._relabel(row, {k: w for k, w in stored.items() if only is None or k in only}, mon,
                                       settings, confidence, min_group, evaluate, by)
            for key, (stats, res, new) in relabelled.items():
                alerts.extend(new)
        return self._store_run(row, mon, closed, relabelled, alerts, watermark, actor, read)

    def _source_frames(self, row: MonitorRow, watermark: dict[str, Any]) -> list:
        """The whole source, in the order it was read."""
        kind = row.source["kind"]
        if kind in ("deployment", "records"):
            batches = self._log_batches if kind == "deployment" else self._record_batches
            with self._sessions() as s:
                return [f for f, _ in batches(s, row, None)]
        return [f for f, _, _ in self._file_batches(row, {}, only=list(watermark.get("files") or {}))]

    def _window_frames(self, row: MonitorRow, key: str, window: Any, watermark: dict[str, Any],
                       source: list | None = None) -> list:
        """Every row of the source in window ``key``, read again (for its slices, or its late labels): the
        rows in its time span, or for a count window the rows at its positions in the source's order (from
        ``source``, the whole source read once, when given)."""
        from steward.monitoring import window_span

        if window.by != "count":
            return self._span_frames(row, window_span(key, window.by), watermark)
        start = int(key.lstrip("#")) * window.size
        end, seen, out = start + window.size, 0, []
        frames = source if source is not None else self._source_frames(row, watermark)
        for f in frames:
            lo, hi = max(start - seen, 0), min(end - seen, len(f))
            if lo < hi:
                out.append(f.iloc[lo:hi])
            seen += len(f)
            if seen >= end:
                break
        return out

    def _span_frames(self, row: MonitorRow, span: tuple[datetime, datetime], watermark: dict[str, Any]) -> list:
        """Every row of the source within ``span``."""
        kind = row.source["kind"]
        if kind in ("deployment", "records"):
            batches = self._log_batches if kind == "deployment" else self._record_batches
            with self._sessions() as s:
                return [f for f, _ in batches(s, row, None, span)]
        frames = []
        for f, _, _ in self._file_batches(row, {}, only=list(watermark.get("files") or {})):
            t = pd.to_datetime(f["time"], utc=True)
            frames.append(f[(t >= span[0]) & (t < span[1])])
        return frames

    def _relabel(self, row, stored, mon, settings, confidence, min_group, evaluate, by) -> dict[str, Any]:
        from steward.monitoring import WindowStats, reduce_batch, window_span

        out: dict[str, Any] = {}
        # count windows are positions in the source: read it once for all of them (not once per window)
        source = self._source_frames(row, row.watermark or {}) if settings.window.by == "count" and stored else None
        for key, w in sorted(stored.items()):
            if not w.closed:
                continue
            frames = self._window_frames(row, key, settings.window, row.watermark or {}, source)
            if not frames:
                continue
            stats = WindowStats.combine(reduce_batch(f, mon.ref) for f in frames if len(f))
            old = WindowStats.from_dict(w.stats)
            if (stats.score_pos, stats.score_neg, stats.oversight) == (old.score_pos, old.score_neg, old.oversight):
                continue  # no new label, and nobody reviewed or decided an appeal in this window since
            res = evaluate(mon.ref, stats, settings, confidence=confidence, min_group_size=min_group)
            before = {(x["signal"], x["subject"]) for x in (w.result or {}).get("signals", []) if x["breach"]}
            new = []
            for x in res["signals"]:
                if x["signal"] in LABELLED and x["breach"] and (x["signal"], x["subject"]) not in before:
                    rule = getattr(settings, x["signal"])
                    new.append({"window": key, "signal": x["signal"], "subject": x["subject"], "value": x["value"],
                                "threshold": x["threshold"], "severity": rule.severity, "windows": 1,
                                "incident": rule.incident, "trip": rule.trip, "measures": x["measures"],
                                "late_labels": True})
            out[key] = (stats, res, new)
        return out

    def _store_run(self, row, mon, closed, relabelled, alerts, watermark, actor, read) -> dict[str, Any]:
        tripped: list[str] = []
        incident_id = None
        with self.tx() as s:
            live = s.execute(select(MonitorRow).where(MonitorRow.name == row.name).with_for_update()).scalar_one()
            if live.watermark != row.watermark or live.state != row.state or live.last_run_at != row.last_run_at:
                # another run of this monitor stored its result while this one read: storing this one too would
                # count its rows twice and raise its alerts again
                raise ConflictError(f"another run of monitor {row.name!r} finished while this one ran; nothing of "
                                    "this run was stored; run it again (it reads from where that one stopped)")
            windows = {w.key: w for w in s.execute(select(MonitorWindow).where(MonitorWindow.monitor_id == live.id))
                       .scalars()}
            results = getattr(mon, "results", {})
            for key in sorted(mon.touched | set(results) | set(relabelled)):
                if key in relabelled:
                    stats, res = relabelled[key][0].to_dict(), relabelled[key][1]
                else:
                    stats = mon.windows[key].to_dict()
                    res = results.get(key) or mon.view(key)
                is_closed = key in mon.state["closed"]
                w = windows.get(key)
                if w is None:
                    w = MonitorWindow(monitor_id=live.id, key=key)
                    s.add(w)
                w.rows, w.stats, w.result, w.closed, w.updated_at = int(stats["rows"]), stats, res, is_closed, now()
            for a in alerts:
                if a["trip"] and live.deployment:
                    tripped.extend(self._trip_for_alert(s, live, a, actor))
            incident = self._incident_for_alerts(s, live, alerts, actor, tripped) if alerts else None
            incident_id = incident.id if incident else None
            for a in alerts:
                rec = MonitorAlert(monitor_id=live.id, window=a["window"], signal=a["signal"], subject=a["subject"],
                                   severity=a["severity"], value=a["value"], threshold=a["threshold"],
                                   evidence={k: a[k] for k in ("measures", "windows", "slices", "late_labels") if k in a},
                                   incident_id=incident_id if a["incident"] else None,
                                   tripped=live.deployment if a["trip"] and live.deployment in tripped else None)
                s.add(rec)
                s.flush()
                _trail.append(s, actor, "monitor.alert", f"monitor:{live.name}",
                              {"alert": rec.id, "window": rec.window, "signal": rec.signal, "subject": rec.subject,
                               "severity": rec.severity, "value": rec.value, "incident": rec.incident_id,
                               "tripped": rec.tripped})
            state = json.loads(json.dumps(mon.state))
            live.state, live.watermark, live.last_run_at = state, watermark, now()
            s.flush()
            _trail.append(s, actor, "monitor.run", f"monitor:{live.name}",
                          {"rows": read, "closed": [k for k, _ in closed], "alerts": len(alerts)})
        return {"monitor": row.name, "rows_read": read, "windows_closed": [k for k, _ in closed],
                "windows_open": sorted(k for k in mon.windows if k not in mon.state["closed"]),
                "relabelled": sorted(relabelled), "late_rows": int(mon.state.get("late_rows", 0)),
                "alerts": [{k: a[k] for k in ("window", "signal", "subject", "severity", "value", "threshold")}
                           for a in alerts], "incident_id": incident_id, "tripped": sorted(set(tripped))}

    def _trip_for_alert(self, s, live: MonitorRow, alert: dict[str, Any], actor: str) -> list[str]:
        d = s.execute(select(Deployment).where(Deployment.name == live.deployment, Deployment.status == "active")
                      ).scalar_one_or_none()
        if d is None or d.killed:
            return [d.name] if d is not None else []
        d.killed, d.killed_by, d.killed_at = True, actor, now()
        d.kill_reason = f"monitor {live.name}: {alert['signal']} alert on {alert['subject']} in window {alert['window']}"
        s.flush()
        _trail.append(s, actor, "deployment.kill", f"deployment:{d.name}",
                      {"reason": d.kill_reason, "monitor": live.name, "automatic": True})
        return [d.name]

    def _incident_for_alerts(self, s, live: MonitorRow, alerts: list[dict[str, Any]], actor: str,
                             tripped: list[str]) -> Incident | None:
        wanted = [a for a in alerts if a["incident"]]
        if not wanted or live.model_id is None:
            return None
        severity = max((a["severity"] for a in wanted), key=_SEVERITY_ORDER.index)
        lines = "; ".join(f"{a['signal']} on {a['subject']} in window {a['window']} (value {_fmt(a['value'])}, "
                          f"threshold {_fmt(a['threshold'])})" for a in wanted)
        inc = s.get(Incident, live.incident_id) if live.incident_id else None
        if inc is not None and inc.status != "resolved":
            text = f"Monitor {live.name} raised {len(wanted)} more alert(s): {lines}"
            if tripped:
                text += f". Kill switch pulled on {', '.join(sorted(set(tripped)))}"
            s.add(IncidentEntry(incident_id=inc.id, author=actor, text=text))
            if _SEVERITY_ORDER.index(severity) > _SEVERITY_ORDER.index(inc.severity):
                inc.severity = severity
            inc.updated_at = now()
            s.flush()
            _trail.append(s, actor, "incident.note", f"incident:{inc.id}", {"monitor": live.name, "automatic": True})
            return inc
        m = s.get(Model, live.model_id)
        v = s.get(Version, live.version_id) if live.version_id else None
        first = wanted[0]
        title = f"Monitor {live.name}: {first['signal'].replace('_', ' ')} on {first['subject']}"
        if len(wanted) > 1:
            title += f" and {len(wanted) - 1} more"
        desc = f"Alerts: {lines}."
        if tripped:
            desc += f" The kill switch was pulled on {', '.join(sorted(set(tripped)))} by the tier's monitoring rules."
        inc = self._new_incident(s, m, v, actor=actor, severity=severity, title=title[:300], description=desc)
        live.incident_id = inc.id
        _trail.append(s, actor, "incident.open", f"incident:{inc.id}",
                      {"title": inc.title, "severity": severity, "monitor": live.name, "automatic": True})
        return inc


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.4g}" if isinstance(x, float) else str(x)
