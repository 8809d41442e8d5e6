"""Monitors in the registry: their windows, alerts, incidents and kill-switch trips.

A monitor reads a deployment's prediction log, or predictions logged by another system in a Parquet/CSV
file or folder (scanned by DuckDB, each file once). Each run reduces only what is new into its windows
(statistics that merge by addition, stored), judges the windows that are complete, and acts on the alerts
the tier's rules raise: an alert is stored with its evidence, opens an incident (or adds to the monitor's
open one), and when the rule says so pulls the deployment's kill switch. Alerts, incidents and trips are
in the trail. Labels that arrive later are joined by prediction id; the windows they fall in are reduced
again from the source at the next run, and their label-dependent signals judged again.

The reference of a deployment's monitor is re-derived by the registry, never taken from the caller: the
version's training profile (recorded at registration) and its latest audit's group statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from steward.errors import ConflictError, DataValidationError, NotFoundError, PolicyError, StewardError
from steward.governance import _trail
from steward.governance._outcomes import model_decision
from steward.governance._tables import (
    Deployment,
    Model,
    MonitorAlert,
    MonitorLabel,
    MonitorRecord,
    MonitorRow,
    MonitorWindow,
    Prediction,
    Version,
    iso,
    now,
)

__all__ = ["MonitorsMixin", "SOURCE_COLUMNS"]

SOURCE_COLUMNS = ("time", "score", "decision", "label", "key_id", "prediction_id")
BATCH = 200_000
MAX_RECORDS = 10_000  # per request
LOG_OVERLAP = timedelta(seconds=10)  # read again behind a deployment's log watermark (see _log_batches)
RECORDS_PAST, RECORDS_SKEW = timedelta(days=400), timedelta(minutes=5)  # how old or how far ahead a record's time may be


def _audit_reference(report_json: str | None) -> tuple[dict, dict, float | None, float | None]:
    """From an audit report: ``{attribute: {group: [rows, favourable]}}``, the reference groups, the
    favourable rate overall and the accuracy (both from the first attribute's groups)."""
    if not report_json:
        return {}, {}, None, None
    doc = json.loads(report_json)
    groups: dict[str, dict[str, list[float]]] = {}
    refs: dict[str, str] = {}
    for g in doc.get("groups") or []:
        a = g.get("attribute")
        if not a or g.get("favourable_rate") is None:
            continue
        groups.setdefault(a, {})[str(g["group"])] = [float(g["rows"]), float(g["rows"]) * float(g["favourable_rate"])]
        if "*" not in a:  # an intersection ("sex*race", as the monitor names it) keeps its groups' rates
            refs[a] = str(g.get("reference"))
    rate = acc = None
    if groups:
        first = next(a for a in groups if "*" not in a) if refs else next(iter(groups))
        rows = sum(v[0] for v in groups[first].values())
        rate = sum(v[1] for v in groups[first].values()) / rows if rows else None
        accs = [(g["rows"], g.get("accuracy")) for g in doc.get("groups") or [] if g.get("attribute") == first]
        if accs and all(a is not None for _, a in accs):
            acc = sum(n * a for n, a in accs) / sum(n for n, _ in accs)
    return groups, refs, rate, acc


def _oversight(s, ids: list[str]) -> dict[str, tuple[bool, int | None, list[str]]]:
    """What people did with each decision so far: whether a reviewer settled it (and how), its appeals' statuses."""
    from steward.governance._tables import Appeal, ReviewDecision, ReviewItem

    out: dict[str, tuple[bool, int | None, list[str]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for r in s.execute(select(ReviewDecision).join(ReviewItem, ReviewItem.id == ReviewDecision.review_item_id)
                           .where(ReviewDecision.prediction_id.in_(chunk), ReviewDecision.status == "final",
                                  ReviewItem.kind != "appeal").order_by(ReviewDecision.id)).scalars():
            out[r.prediction_id] = (True, r.decision, out.get(r.prediction_id, (False, None, []))[2])
        for a in s.execute(select(Appeal).where(Appeal.prediction_id.in_(chunk)).order_by(Appeal.id)).scalars():
            prev = out.get(a.prediction_id, (False, None, []))
            out[a.prediction_id] = (prev[0], prev[1], [*prev[2], a.status])
    return out


def _people_since(s, deployment: str, since: dict[str, Any] | None) -> tuple[dict[str, Any], list[datetime]]:
    """How far people's decisions on the deployment's log have been read (the newest review decision's id, the
    newest appeal decision's time), and the times of the decisions settled after ``since`` (their windows are
    read again). Appeals decided in the same second as the last one read are read again: harmless, a window
    whose statistics did not change is left as it was."""
    from steward.governance._tables import Appeal, ReviewDecision

    since = since or {}
    ids = select(Prediction.id).join(Deployment, Deployment.id == Prediction.deployment_id).where(
        Deployment.name == deployment)
    last_review = s.execute(select(func.max(ReviewDecision.id)).where(
        ReviewDecision.prediction_id.in_(ids))).scalar_one_or_none()
    last_appeal = s.execute(select(func.max(Appeal.decided_at)).where(Appeal.prediction_id.in_(ids))).scalar_one_or_none()
    now_at = {"review_id": last_review, "appeal_at": iso(last_appeal)}
    touched = []
    if last_review is not None and last_review != since.get("review_id"):
        touched.append(select(ReviewDecision.prediction_id).where(ReviewDecision.id > (since.get("review_id") or 0)))
    if last_appeal is not None:
        after = since.get("appeal_at")
        q = select(Appeal.prediction_id).where(Appeal.decided_at.is_not(None))
        touched.append(q if after is None else q.where(Appeal.decided_at >= datetime.fromisoformat(after)))
    if not touched:
        return now_at, []
    union = touched[0] if len(touched) == 1 else touched[0].union(*touched[1:])
    when = list(s.execute(select(Prediction.created_at).where(Prediction.id.in_(ids), Prediction.id.in_(union)))
                .scalars())
    return now_at, [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in when]


def _in_order(groups: dict[str, dict[str, list[float]]], protected: list[str]) -> dict[str, dict[str, list[float]]]:
    """The audit's groups of the protected attributes, an intersection named in the monitor's order (the audit
    may have joined "sex*race" where the guard lists race before sex: the monitor's is "race*sex")."""
    out = {}
    for a, gs in groups.items():
        parts = a.split("*")
        if not set(parts) <= set(protected):
            continue
        order = sorted(range(len(parts)), key=lambda i: protected.index(parts[i]))
        out["*".join(parts[i] for i in order)] = {"*".join(g.split("*")[i] for i in order) if len(parts) > 1 else g: v
                                                  for g, v in gs.items()}
    return out


class MonitorsMixin:
    # --- creating ---------------------------------------------------------------------------------

    def create_monitor(self, name: str, *, actor: str, deployment: str | None = None, data: str | None = None,
                       records: bool = False, reference: dict[str, Any] | None = None,
                       columns: dict[str, str] | None = None, model: str | None = None,
                       protected: list[str] | None = None, tier: str | None = None,
                       settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """A monitor of one source: a deployment's log (``deployment``), a file or folder (``data``, with the
        file's ``columns`` for time, score, decision, label, key_id, prediction_id), or records sent to the
        API (``records``). The reference is given (``reference``, from
        :func:`steward.monitoring.build_reference`) or re-derived by the registry from a version's training
        profile and latest audit: the deployment's version (protected attributes: the guard's), or ``model``
        as ``MODEL:VERSION`` (protected attributes: ``protected``). ``model`` also links a file or records
        monitor to the model, so its alerts open incidents."""
        from steward.monitoring import Reference, load_monitor_settings
        from steward.monitoring._settings import loosened

        if sum([deployment is not None, data is not None, bool(records)]) != 1:
            raise StewardError("a monitor watches one source: give a deployment (--deployment), a file (--data), "
                               "or records sent to the API (records)")
        _check_monitor_name(name)
        with self.tx() as s:
            if s.execute(select(MonitorRow.id).where(MonitorRow.name == name)).first() is not None:
                raise ConflictError(f"a monitor named {name!r} exists; choose another name or run it")
            m = v = None
            if deployment is not None:
                d = self._active(s, deployment)
                v = s.get(Version, d.version_id)
                m = s.get(Model, v.model_id)
                if reference is not None:
                    raise DataValidationError("reference: a deployment's monitor compares with what the registry holds "
                                              "for the deployed version (its training profile and audit); leave the "
                                              "reference out")
                if ((d.guard or {}).get("log") or {}).get("inputs", "store") != "store":
                    raise StewardError(f"deployment {deployment!r} logs only a hash of each row's inputs (guard log.inputs),"
                                       " so a monitor would see no feature; log the inputs (log: {inputs: store}) to "
                                       "monitor it")
                reference = self._version_reference(s, m, v, list((d.guard or {}).get("protected") or []),
                                                    favourable=int((d.guard or {}).get("favourable", 1)))
                source = {"kind": "deployment", "deployment_id": d.id}
            else:
                if model:
                    mname, _, ver = model.partition(":")
                    m, v = self._version(s, mname, ver) if ver else (self._model(s, mname), None)
                if reference is None and v is not None:
                    reference = self._version_reference(s, m, v, list(protected or []))
                if reference is None:
                    raise DataValidationError("--reference: give a reference file (the training or validation data, "
                                              "with scores and decisions if it has them), or --model MODEL:VERSION "
                                              "whose training profile the registry holds")
                if records:
                    source = {"kind": "records"}
                else:
                    from steward.monitoring._sources import log_files

                    log_files(data)  # a path with no log in it is refused now, not at the first run
                    path = Path(data)
                    unknown = sorted(set(columns or {}) - set(SOURCE_COLUMNS))
                    if unknown:
                        raise DataValidationError(f"columns: unknown role(s) {', '.join(unknown)}; the roles are "
                                                  f"{', '.join(SOURCE_COLUMNS)}")
                    source = {"kind": "file", "path": str(path.resolve()), "columns": dict(columns or {})}
            given = deployment is None and (v is None or reference is not None)
            ref = Reference.from_dict(reference)  # refuse a malformed one now, not at the first run
            if given:  # say on the server's side who gave it, whatever its "source" claims
                ref.source = f"given by {actor}" + (f" ({ref.source})" if ref.source else "")
                reference = ref.to_dict()
            ra = self._latest_risk(s, m) if m is not None else None
            if tier is None and ra is not None:
                tier = ra.tier
            if tier is not None and tier not in self.policy.tiers:
                raise StewardError(f"--tier: the policy has no tier {tier!r}; its tiers are: {', '.join(self.policy.tiers)}")
            if ra is not None and tier != ra.tier:
                raise StewardError(f"--tier: {m.name} is assessed {ra.tier!r}; its monitor follows that tier's rules "
                                   f"(leave --tier out)")
            base = self.policy.tier(tier).monitor if tier else {}
            resolved = load_monitor_settings(base, settings or {})
            loose = loosened(load_monitor_settings(base), resolved)
            if loose:
                raise PolicyError("settings: a monitor may be stricter than its tier, not looser: " + "; ".join(loose))
            if source["kind"] == "file" and resolved.window.by != "count" and "time" not in source["columns"]:
                raise DataValidationError(f"--time: windows by {resolved.window.by} need each prediction's time; "
                                          "name its column (--time COLUMN), or window by count (--window count)")
            row = MonitorRow(name=name, deployment=deployment, model_id=m.id if m else None,
                             version_id=v.id if v else None, tier=tier, source=source, reference=reference,
                             settings=settings or {}, state={}, watermark={}, created_by=actor)
            s.add(row)
            s.flush()
            _trail.append(s, actor, "monitor.create", f"monitor:{name}",
                          {"source": source, "deployment": deployment, "tier": tier, "settings": settings or {},
                           "reference": {"source": reference.get("source"), "sha256": _sha256(reference)}})
            return self._monitor_dict(s, row)

    def _version_reference(self, s, m: Model, v: Version, protected: list[str], favourable: int = 1) -> dict[str, Any]:
        from steward.governance._tables import TrainingProfileRow
        from steward.monitoring import Reference

        prof = s.get(TrainingProfileRow, v.id)
        if prof is None:
            raise StewardError(f"{m.name}:{v.version} has no training profile to compare with; record it with "
                               "`steward models version ... --training-data FILE`")
        audit = self._latest_audit(s, v)
        groups, refs, rate, acc = _audit_reference(audit.report_json if audit else None)
        ref = Reference.from_profile(prof.profile, protected=protected, favourable=favourable,
                                     reference_groups={a: refs[a] for a in protected if a in refs},
                                     audit_groups=_in_order(groups, protected),
                                     decision_rate=rate, source=f"{m.name}:{v.version} training profile"
                                     + (f" and audit {audit.id}" if audit else ""))
        missing = [a for a in protected if a not in ref.reference_groups]
        if missing:
            raise StewardError(f"the audit of {m.name}:{v.version} has no groups for {', '.join(missing)} (the protected "
                               "attributes); audit the version with those attributes so the monitor has a reference")
        ref.accuracy = acc
        return ref.to_dict()

    # --- reading ----------------------------------------------------------------------------------

    def _monitor_row(self, s, name: str) -> MonitorRow:
        row = s.execute(select(MonitorRow).where(MonitorRow.name == name)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"no monitor named {name!r}; `steward monitor list` shows them")
        return row

    def _monitor_dict(self, s, row: MonitorRow) -> dict[str, Any]:
        return {"name": row.name, "deployment": row.deployment, "tier": row.tier, "source": row.source,
                "settings": row.settings, "created_by": row.created_by, "created_at": iso(row.created_at),
                "last_run_at": iso(row.last_run_at), "incident_id": row.incident_id,
                "reference_source": (row.reference or {}).get("source", "")}

    def monitors(self) -> list[dict[str, Any]]:
        with self._sessions() as s:
            return [self._monitor_dict(s, r) for r in s.execute(select(MonitorRow).order_by(MonitorRow.name)).scalars()]

    def monitor(self, name: str) -> dict[str, Any]:
        """A monitor with its windows (oldest first, each with its signals) and alerts."""
        with self._sessions() as s:
            row = self._monitor_row(s, name)
            out = self._monitor_dict(s, row)
            out["reference"] = row.reference
            out["windows"] = [{"key": w.key, "rows": w.rows, "closed": w.closed, "result": w.result,
                               "updated_at": iso(w.updated_at)}
                              for w in s.execute(select(MonitorWindow).where(MonitorWindow.monitor_id == row.id)
                                                 .order_by(MonitorWindow.key)).scalars()]
            out["alerts"] = [self._alert_dict(a) for a in s.execute(
                select(MonitorAlert).where(MonitorAlert.monitor_id == row.id).order_by(MonitorAlert.id)).scalars()]
            return out

    def monitors_latest(self) -> list[dict[str, Any]]:
        """Every monitor with only its latest window and its alerts (what ``/metrics`` shows)."""
        with self._sessions() as s:
            out = []
            for row in s.execute(select(MonitorRow).order_by(MonitorRow.name)).scalars():
                d = self._monitor_dict(s, row)
                w = s.execute(select(MonitorWindow).where(MonitorWindow.monitor_id == row.id)
                              .order_by(MonitorWindow.key.desc()).limit(1)).scalar_one_or_none()
                d["windows"] = [] if w is None else [{"key": w.key, "rows": w.rows, "closed": w.closed,
                                                      "result": w.result}]
                d["alerts"] = [{"signal": a, "severity": b} for a, b in s.execute(
                    select(MonitorAlert.signal, MonitorAlert.severity).where(MonitorAlert.monitor_id == row.id))]
                out.append(d)
            return out

    def monitor_summaries(self, *, deployment: str | None = None, model: str | None = None,
                          alerts: int = 10) -> list[dict[str, Any]]:
        """For the pages: each monitor of a deployment (or of a model, through its deployments or its link),
        its latest window with the signals that breach there, and its newest alerts."""
        with self._sessions() as s:
            q = select(MonitorRow).order_by(MonitorRow.name)
            if deployment is not None:
                q = q.where(MonitorRow.deployment == deployment)
            if model is not None:
                m = s.execute(select(Model).where(Model.name == model)).scalar_one_or_none()
                if m is None:
                    return []
                deps = select(Deployment.name).join(Version, Version.id == Deployment.version_id).where(
                    Version.model_id == m.id)
                q = q.where((MonitorRow.model_id == m.id) | MonitorRow.deployment.in_(deps))
            out = []
            for row in s.execute(q).scalars():
                d = self._monitor_dict(s, row)
                w = s.execute(select(MonitorWindow).where(MonitorWindow.monitor_id == row.id)
                              .order_by(MonitorWindow.key.desc()).limit(1)).scalar_one_or_none()
                d["latest"] = None if w is None else {
                    "key": w.key, "rows": w.rows, "closed": w.closed,
                    "breaches": [f"{x['signal']}: {x['subject']}" for x in (w.result or {}).get("signals", [])
                                 if x.get("breach")]}
                d["windows"] = s.execute(select(func.count()).select_from(MonitorWindow)
                                         .where(MonitorWindow.monitor_id == row.id)).scalar_one()
                d["alerts"] = [self._alert_dict(a) for a in s.execute(
                    select(MonitorAlert).where(MonitorAlert.monitor_id == row.id)
                    .order_by(MonitorAlert.id.desc()).limit(alerts)).scalars()]
                out.append(d)
            return out

    def monitors_for_deployment(self, deployment: str) -> list[str]:
        with self._sessions() as s:
            return list(s.execute(select(MonitorRow.name).where(MonitorRow.deployment == deployment)).scalars())

    @staticmethod
    def _alert_dict(a: MonitorAlert) -> dict[str, Any]:
        return {"id": a.id, "window": a.window, "signal": a.signal, "subject": a.subject, "severity": a.severity,
                "value": a.value, "threshold": a.threshold, "evidence": a.evidence, "incident_id": a.incident_id,
                "tripped": a.tripped, "created_at": iso(a.created_at), "acknowledged_by": a.acknowledged_by,
                "acknowledged_at": iso(a.acknowledged_at), "acknowledged_note": a.acknowledged_note}

    # --- labels -----------------------------------------------------------------------------------

    def add_labels(self, name: str, labels: dict[str, int], *, actor: str) -> dict[str, int]:
        """Outcomes by prediction id (0/1, coded as the model's decisions: the monitor's favourable value is the
        good outcome). A label already given is replaced;
        the windows it falls in are reduced again at the next run."""
        bad = [k for k, v in labels.items() if v not in (0, 1)]
        if bad:
            raise DataValidationError(f"label: must be 0 or 1, got {labels[bad[0]]!r} for prediction {bad[0]!r}")
        with self.tx() as s:
            row = self._monitor_row(s, name)
            if row.source.get("kind") == "deployment":  # the registry knows every decision of its deployments
                ids = select(Deployment.id).where(Deployment.name == row.deployment)
                known: set[str] = set()
                wanted = list(labels)
                for i in range(0, len(wanted), 500):
                    known.update(s.execute(select(Prediction.id).where(Prediction.deployment_id.in_(ids),
                                                                       Prediction.id.in_(wanted[i:i + 500]))).scalars())
                unknown = [k for k in wanted if k not in known]
                if unknown:
                    raise DataValidationError(f"prediction_id: {len(unknown):,} of the labels name no decision of "
                                              f"{row.deployment!r} (e.g. {unknown[0]!r}); send labels of its decisions")
            existing = {l.prediction_id: l for l in s.execute(select(MonitorLabel).where(
                MonitorLabel.monitor_id == row.id, MonitorLabel.prediction_id.in_(list(labels)))).scalars()} \
                if len(labels) <= 5000 else {l.prediction_id: l for l in s.execute(
                    select(MonitorLabel).where(MonitorLabel.monitor_id == row.id)).scalars()}
            added = 0
            changed: list[list[Any]] = []  # what a replacement changed, in the trail: [prediction, was, now, by]
            for pid, lab in labels.items():
                if pid in existing:
                    old = existing[pid]
                    if old.label != lab:
                        changed.append([pid, old.label, int(lab), old.given_by])
                        old.label, old.given_by = int(lab), actor
                else:
                    s.add(MonitorLabel(monitor_id=row.id, prediction_id=str(pid), label=int(lab), given_by=actor))
                    added += 1
            wm = dict(row.watermark or {})
            wm["labels_pending"] = True
            row.watermark = wm
            s.flush()
            _trail.append(s, actor, "monitor.labels", f"monitor:{name}",
                          {"added": added, "replaced": len(changed), "changes": changed[:1000],
                           "changes_left_out": max(len(changed) - 1000, 0)})
            return {"added": added, "replaced": len(changed)}

    def _labels(self, s, monitor_id: int) -> dict[str, int]:
        return dict(s.execute(select(MonitorLabel.prediction_id, MonitorLabel.label)
                              .where(MonitorLabel.monitor_id == monitor_id)).all())

    # --- records sent by other systems ------------------------------------------------------------

    def add_records(self, name: str, records: list[dict[str, Any]], *, actor: str) -> dict[str, Any]:
        """Store predictions another system logged (one object per prediction: the reference's features and
        protected attributes by name, and time, score, decision, label, key_id, prediction_id); the next run
        reads them. Every record is checked before any is stored."""
        if not isinstance(records, list) or not records:
            raise DataValidationError("records: send a non-empty JSON array of prediction objects")
        if len(records) > MAX_RECORDS:
            raise DataValidationError(f"records: {len(records):,} in one request; send at most {MAX_RECORDS:,}")
        with self.tx() as s:
            row = self._monitor_row(s, name)
            if row.source.get("kind") != "records":
                raise StewardError(f"monitor {name!r} reads {row.source.get('kind')} data, not records sent to the API; "
                                   "create a monitor with records as its source")
            ref = row.reference
            allowed = {f["name"] for f in ref["features"]} | set(ref.get("protected") or []) | set(SOURCE_COLUMNS)
            when = now()
            clean = [(_clean_record(r, i, allowed, when)) for i, r in enumerate(records)]
            s.add_all(MonitorRecord(monitor_id=row.id, record=r, time=t, sent_by=actor) for r, t in clean)
            s.flush()
            _trail.append(s, actor, "monitor.records", f"monitor:{name}", {"records": len(clean)})
            return {"accepted": len(clean)}

    def _record_batches(self, s, row: MonitorRow, after: int | None,
                        span: tuple[datetime, datetime] | None = None) -> Iterator[tuple[pd.DataFrame, int]]:
        labels = self._labels(s, row.id)
        q = select(MonitorRecord).where(MonitorRecord.monitor_id == row.id).order_by(MonitorRecord.id)
        if span is not None:
            q = q.where(MonitorRecord.time >= span[0], MonitorRecord.time < span[1])
        while True:
            page = q if after is None else q.where(MonitorRecord.id > after)
            recs = list(s.execute(page.limit(BATCH)).scalars())
            if not recs:
                return
            frame = pd.DataFrame([r.record for r in recs])
            frame["time"] = [r.time if r.time.tzinfo else r.time.replace(tzinfo=timezone.utc) for r in recs]
            if labels and "prediction_id" in frame.columns:
                joined = frame["prediction_id"].astype(str).map(labels)
                frame["label"] = joined.where(joined.notna(), frame.get("label"))
            after = recs[-1].id
            yield frame, after

    # --- sources ----------------------------------------------------------------------------------

    def _log_batches(self, s, row: MonitorRow, after: tuple[str, str] | None,
                     span: tuple[datetime, datetime] | None = None,
                     seen: dict[str, str] | None = None) -> Iterator[pd.DataFrame]:
        """The deployment's logged predictions after the watermark (or within ``span``), in the monitor's
        column layout, oldest first. A prediction is stamped when its request arrives and committed with its
        answer, so one stamped just before the watermark may land after it: from the watermark, the last
        :data:`LOG_OVERLAP` are read again, leaving out the ids ``seen`` there before."""
        ref = row.reference
        features = [f["name"] for f in ref["features"]]
        protected = ref.get("protected") or []
        ids = select(Deployment.id).where(Deployment.name == row.deployment)
        q = select(Prediction).where(Prediction.deployment_id.in_(ids)).order_by(Prediction.created_at, Prediction.id)
        if span is not None:
            q = q.where(Prediction.created_at >= span[0], Prediction.created_at < span[1])
        labels = self._labels(s, row.id)
        first = after is not None and seen is not None
        while True:
            page = q
            if first:  # the overlap: from LOG_OVERLAP before the watermark
                page = q.where(Prediction.created_at > datetime.fromisoformat(after[0]) - LOG_OVERLAP)
            elif after is not None:
                t, pid = datetime.fromisoformat(after[0]), after[1]
                page = q.where((Prediction.created_at > t) | ((Prediction.created_at == t) & (Prediction.id > pid)))
            recs = list(s.execute(page.limit(BATCH)).scalars())
            first = False
            if not recs:
                return
            last = recs[-1]
            after = (iso(last.created_at), last.id)
            recs = [p for p in recs if seen is None or p.id not in seen]
            if not recs:
                continue
            out = []
            acts = _oversight(s, [p.id for p in recs])
            for p in recs:
                if p.route == "refused":
                    continue
                x = dict(p.inputs or {})
                rec = {f: x.get(f) for f in features}
                prot = (p.detail or {}).get("protected") or {}
                rec.update({a: prot.get(a) for a in protected})
                rec.update(time=p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=timezone.utc),
                           score=p.score, decision=model_decision(p.route, p.decision, p.detail),
                           label=labels.get(p.id), key_id=p.key_id, route=p.route, flags="|".join(map(str, p.flags or [])),
                           prediction_id=p.id)
                model = rec["decision"]
                reviewed, decided_by_review, appeals = acts.get(p.id, (False, None, []))
                rec.update(reviewed=int(reviewed), overturned=int(reviewed and decided_by_review is not None
                                                                    and model is not None and decided_by_review != model),
                           appeals_decided=sum(1 for a in appeals if a in ("upheld", "overturned")),
                           appeals_overturned=sum(1 for a in appeals if a == "overturned"))
                out.append(rec)
            if seen is not None:
                seen.update((p.id, iso(p.created_at)) for p in recs)
            yield pd.DataFrame(out), after

    def _file_batches(self, row: MonitorRow, done: dict[str, str],
                      only: list[str] | None = None) -> Iterator[tuple[pd.DataFrame, str, str]]:
        """Each new file of the source (or the files in ``only``) in batches, in the monitor's layout, with the
        late labels joined by prediction id."""
        from steward.monitoring._sources import file_tag, log_files, read_log

        ref = row.reference
        want = [f["name"] for f in ref["features"]] + list(ref.get("protected") or [])
        labels = self._labels_by_key(row)
        for f in log_files(row.source["path"]):
            tag = file_tag(f)
            if (only is None and done.get(str(f)) == tag) or (only is not None and str(f) not in only):
                continue
            for frame in read_log(f, want, row.source.get("columns") or {}):
                if labels and "prediction_id" in frame.columns:
                    joined = frame["prediction_id"].astype(str).map(labels)
                    frame["label"] = joined.where(joined.notna(), frame.get("label"))
                yield frame, str(f), tag

    def _labels_by_key(self, row: MonitorRow) -> dict[str, int]:
        with self._sessions() as s:
            return self._labels(s, row.id)


def _clean_record(r: Any, i: int, allowed: set[str], when: datetime) -> tuple[dict[str, Any], datetime]:
    where = f"records[{i}]"
    if not isinstance(r, dict):
        raise DataValidationError(f"{where}: must be a JSON object of column -> value")
    for k, v in r.items():
        if k not in allowed:
            raise DataValidationError(f"{where}.{k}: not a feature, protected attribute or role of this monitor; the "
                                      f"fields are: {', '.join(sorted(allowed))}")
        if isinstance(v, (dict, list)):
            raise DataValidationError(f"{where}.{k}: must be a number, text, true/false or null, not a JSON "
                                      f"{'object' if isinstance(v, dict) else 'array'}")
        if isinstance(v, str) and len(v) > 200:
            raise DataValidationError(f"{where}.{k}: {len(v):,} characters; a value is at most 200 (a category, a "
                                      "group, an id)")
    for k in ("score",):
        v = r.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0):
            raise DataValidationError(f"{where}.score: must be a probability in [0, 1] or null, got {v!r}")
    for k in ("decision", "label"):
        v = r.get(k)
        if v is not None and v not in (0, 1) or isinstance(v, bool):
            raise DataValidationError(f"{where}.{k}: must be 0, 1 or null (coded as the model's decisions), got {v!r}")
    for k in ("key_id", "prediction_id"):
        v = r.get(k)
        if v is not None and (not isinstance(v, str) or not 0 < len(v) <= 200):
            raise DataValidationError(f"{where}.{k}: must be text of 1-200 characters, got {v!r}")
    t = r.get("time")
    if t is None:
        at = when
    else:
        try:
            at = datetime.fromisoformat(str(t).replace("Z", "+00:00"))
        except ValueError:
            raise DataValidationError(f"{where}.time: {t!r} is not an ISO 8601 time (e.g. 2026-11-30T15:04:05Z)") from None
        if at.tzinfo is None:
            raise DataValidationError(f"{where}.time: {t!r} has no time zone; add Z for UTC or an offset like +01:00")
        at = at.astimezone(timezone.utc)
        if not when - RECORDS_PAST <= at <= when + RECORDS_SKEW:  # else a window that never closes, or one long gone
            raise DataValidationError(f"{where}.time: {t!r} is not within the last {RECORDS_PAST.days} days or the "
                                      f"next {int(RECORDS_SKEW.total_seconds() // 60)} minutes; send when the "
                                      "prediction was made")
    rec = {k: v for k, v in r.items() if k != "time"}
    return rec, at


def _sha256(doc: Any) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _check_monitor_name(name: str) -> None:
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise DataValidationError(f"monitor name: {name!r} is not allowed; use 1-100 letters, digits, '.', '_' or '-', "
                                  "starting with a letter or digit")


