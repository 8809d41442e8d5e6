"""A monitor: rows in, windows of mergeable statistics, signals per window, alerts by policy.

:class:`Monitor` is storage-free: the registry (or a notebook) hands it the windows it stored before and
its detector state, feeds it the new rows, closes the windows that are complete, and stores what comes
back. A window is judged once, when it closes; the open one is shown as it grows.

Alerts follow the policy's rules: a judged breach extends a streak of its (signal, subject); the streak
reaching the rule's ``consecutive`` windows raises one alert, and a window without the breach ends it.

>>> import pandas as pd
>>> from steward.monitoring import MonitorSettings, build_reference
>>> ref = build_reference(pd.DataFrame({"x": range(1000)}), features=["x"])
>>> m = Monitor(ref, MonitorSettings.model_validate({"window": {"by": "count", "size": 500}}))
>>> m.add(pd.DataFrame({"x": [5000] * 1000}))
>>> [(w, [a["signal"] for a in al]) for w, al in m.close_complete()]  # the second window continues the streak
[('#000000', ['feature_drift', 'data_quality']), ('#000001', [])]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError
from steward.metrics._inference import z_value
from steward.monitoring._detectors import ExtractionDetector, cusum_update
from steward.monitoring._reference import Reference
from steward.monitoring._settings import MonitorSettings
from steward.monitoring._signals import evaluate
from steward.monitoring._window import WindowStats, reduce_batch

__all__ = ["Monitor", "window_keys", "window_span"]

RowsOf = Callable[[str], pd.DataFrame]


def window_keys(times: pd.Series, by: str) -> np.ndarray:
    """The window of each time: ``2026-11-30T15`` (hour), ``2026-11-30`` (day), ``2026-W48`` (ISO week)."""
    t = pd.to_datetime(times, utc=True)
    if by in ("hour", "day") and len(t) and t.notna().all():
        # each distinct hour or day written once (not once per row): a log's batch holds a few of them
        unit = "datetime64[h]" if by == "hour" else "datetime64[D]"
        stamps = t.dt.tz_convert(None).to_numpy().astype(unit)
        codes, uniq = pd.factorize(stamps.view(np.int64))
        names = np.datetime_as_string(np.asarray(uniq, dtype=np.int64).astype(unit))
        if all(len(n) == (13 if by == "hour" else 10) for n in names):  # years 1000-9999, as strftime writes them
            return np.asarray(names.tolist(), dtype=object)[codes]
    if by == "hour":
        return t.dt.strftime("%Y-%m-%dT%H").to_numpy(dtype=object)
    if by == "day":
        return t.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    iso = t.dt.isocalendar()
    return (iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)).to_numpy(dtype=object)


def window_span(key: str, by: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The [start, end) of a time window's key (None for a count window)."""
    if by == "count":
        return None
    if by == "hour":
        start = pd.Timestamp(key + ":00", tz="UTC")
        return start, start + pd.Timedelta(hours=1)
    if by == "day":
        start = pd.Timestamp(key, tz="UTC")
        return start, start + pd.Timedelta(days=1)
    year, week = key.split("-W")
    start = pd.Timestamp.fromisocalendar(int(year), int(week), 1).tz_localize("UTC")
    return start, start + pd.Timedelta(weeks=1)


class Monitor:
    """See the module's docs. ``windows`` are the stored open windows (closed ones need not be given);
    ``state`` the detector state of the last run."""

    def __init__(self, reference: Reference, settings: MonitorSettings, *, confidence: float = 0.95,
                 min_group_size: int = 30, windows: Mapping[str, WindowStats] | None = None,
                 state: Mapping[str, Any] | None = None):
        self.ref, self.settings = reference, settings
        self.confidence, self.min_group_size = confidence, min_group_size
        self.windows: dict[str, WindowStats] = dict(windows or {})
        st = dict(state or {})
        self.state: dict[str, Any] = {"cusum": st.get("cusum", {}), "extraction": st.get("extraction", {}),
                                      "streaks": st.get("streaks", {}), "count": int(st.get("count", 0)),
                                      "closed": list(st.get("closed", [])),
                                      # per open window, each key's extraction verdict as of its last query there
                                      "extraction_at": dict(st.get("extraction_at", {}))}
        self.extraction = ExtractionDetector(reference, settings.extraction, self.state["extraction"])
        self.touched: set[str] = set()

    # --- rows in ------------------------------------------------------------------------------------

    def _keys(self, batch: pd.DataFrame) -> np.ndarray:
        by = self.settings.window.by
        if by == "count":
            start = self.state["count"]
            idx = start + np.arange(len(batch))
            self.state["count"] = start + len(batch)
            return np.array([f"#{i:06d}" for i in idx // self.settings.window.size], dtype=object)
        if "time" not in batch.columns:
            raise DataValidationError(f"--time: windows by {by} need each prediction's time; name its column "
                                      "(--time COLUMN), or window by count (--window count --size N)")
        keys = window_keys(batch["time"], by)
        if pd.isna(batch["time"]).any():
            raise DataValidationError("--time: some rows have no time; every row needs one to fall in a window")
        return keys

    def add(self, batch: pd.DataFrame) -> None:
        """Reduce new rows into their windows (in the order given, window by window: the extraction detector
        reads queries in that order, and each window keeps each key's verdict as of its last query there, so a
        window's verdict does not depend on how many later rows the same run reads)."""
        if not len(batch):
            return
        keys = self._keys(batch)
        closed = set(self.state["closed"])
        late = np.isin(keys, list(closed)) if closed else np.zeros(len(keys), dtype=bool)
        if late.any():  # rows for a window already judged: counted, left out (the judgement stands)
            self.state["late_rows"] = int(self.state.get("late_rows", 0)) + int(late.sum())
            batch, keys = batch[~late], keys[~late]
        codes, uniq = pd.factorize(keys)
        runs = None
        if len(codes) and bool((np.diff(codes) >= 0).all()):  # a log in time order: each window is one run of rows
            runs = np.searchsorted(codes, np.arange(len(uniq) + 1))
        for i, key in enumerate(uniq):
            part = batch.iloc[runs[i]:runs[i + 1]] if runs is not None else batch[codes == i]
            stats = reduce_batch(part, self.ref)
            self.windows[key] = self.windows[key].merge(stats) if key in self.windows else stats
            self.touched.add(key)
            if self.settings.extraction.enabled and "key_id" in part.columns:
                self.extraction.update(part)
                at = self.state["extraction_at"].setdefault(key, {})
                at.update({x["subject"]: x for x in self.extraction.signals(
                    part["key_id"].astype(str).unique().tolist())})

    # --- judging --------------------------------------------------------------------------------------

    def complete(self, now: pd.Timestamp | None = None, grace: pd.Timedelta = pd.Timedelta(minutes=1)) -> list[str]:
        """The open windows that are complete: a count window holding its size; a time window whose end has
        passed ``now`` by ``grace`` (a prediction stamped just before the end may be committed just after),
        or any but the latest when no time is given."""
        open_ = sorted(k for k in self.windows if k not in self.state["closed"])
        if self.settings.window.by == "count":
            return [k for k in open_ if self.windows[k].rows >= self.settings.window.size]
        if now is None:
            return open_[:-1]
        return [k for k in open_ if window_span(k, self.settings.window.by)[1] + grace <= now]

    def view(self, key: str) -> dict[str, Any]:
        """The signals of a window as they stand (without touching any streak or detector)."""
        return evaluate(self.ref, self.windows[key], self.settings, confidence=self.confidence,
                        min_group_size=self.min_group_size)

    def close(self, keys: Iterable[str], rows_of: RowsOf | None = None) -> list[tuple[str, list[dict[str, Any]]]]:
        """Judge each window in ``keys`` (in order): its signals, the sequential detectors, and the alerts that
        follow. Returns ``[(window, alerts)]``; each window's result is in :attr:`results`."""
        out = []
        self.results = getattr(self, "results", {})
        for key in sorted(keys):
            res = self.view(key)
            sig = res["signals"]
            if self.settings.fairness_drift.enabled and res["judged"]:
                sig.extend(cusum_update(self.state["cusum"], res["fairness"], self.settings.fairness_drift,
                                        z_value(self.confidence), key))
            at = self.state["extraction_at"].pop(key, None)
            if self.settings.extraction.enabled:
                sig.extend([at[k] for k in sorted(at)] if at is not None
                           else self.extraction.signals(sorted(self.windows[key].keys)))
            alerts = self._alerts(key, sig)
            if rows_of is not None and self.settings.fairness.find_slices:
                for a in alerts:
                    if a["signal"] in ("fairness", "fairness_drift"):
                        a["slices"] = self._slices(rows_of(key))
                        break
            self.state["closed"].append(key)
            self.results[key] = res
            out.append((key, alerts))
        return out

    def close_complete(self, now: pd.Timestamp | None = None, rows_of: RowsOf | None = None):
        return self.close(self.complete(now), rows_of)

    def _alerts(self, key: str, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
        streaks = self.state["streaks"]
        alerts = []
        seen = set()
        for s in signals:
            if not s["judged"]:
                continue
            sid = f"{s['signal']}|{s['subject']}"
            seen.add(sid)
            if not s["breach"]:
                streaks.pop(sid, None)
                continue
            n = streaks[sid] = streaks.get(sid, 0) + 1
            rule = getattr(self.settings, s["signal"])
            if n == rule.consecutive:
                alerts.append({"window": key, "signal": s["signal"], "subject": s["subject"], "value": s["value"],
                               "threshold": s["threshold"], "severity": rule.severity, "windows": n,
                               "incident": rule.incident, "trip": rule.trip, "measures": s["measures"]})
        return alerts

    def _slices(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        """Which segment of the window drives a fairness alert: the slices where adverse decisions gather."""
        from steward.slices import find_slices

        feats = [c for c in dict.fromkeys([*self.ref.features, *self.ref.protected]) if c in rows.columns]
        if "decision" not in rows.columns or not feats or len(rows) < 64:
            return []
        d = pd.to_numeric(rows["decision"], errors="coerce")
        ok = d.notna().to_numpy()
        adverse = (d[ok] != self.ref.favourable).to_numpy(dtype=float)
        rep = find_slices(rows.loc[ok, feats].reset_index(drop=True), adverse, k=3, max_level=2,
                          min_support=max(32, int(0.01 * ok.sum())))
        cols = [c for c in ("slice", "size", "error", "score") if c in rep.table.columns]
        return rep.table[cols].head(3).to_dict(orient="records")
