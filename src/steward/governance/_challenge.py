"""Exceptions and effective challenge: executives' acceptances of findings, validators' reproductions.

An acceptance lets one version be approved although one check fails or is not evidenced: it names
who accepted it, why and until when, and lapses at its date — approval is then revoked and an
incident opened. A reproduction is a validator's independent re-run of a recorded audit on the same
data (and model), compared by the registry with what was stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.errors import StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import Acceptance, AuditRun, Model, Reproduction, Version, now
from steward.governance._views import acceptance_dict, reproduction_dict

__all__ = ["ChallengeMixin", "MAX_ACCEPTANCE_DAYS"]

# An exception is temporary by nature: at most a year, then it must be looked at again.
MAX_ACCEPTANCE_DAYS = 366


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def parse_until(until: str | datetime) -> datetime:
    """A date (``2027-03-31``, the acceptance ends at the start of that day, UTC) or an ISO datetime."""
    if isinstance(until, datetime):
        return _aware(until).astimezone(timezone.utc).replace(microsecond=0)
    try:
        t = datetime.fromisoformat(str(until).strip())
        return _aware(t).astimezone(timezone.utc).replace(microsecond=0)
    except (ValueError, OverflowError):
        raise StewardError(f"until {until!r} is not a date; write it as YYYY-MM-DD (for example 2027-03-31)") from None


class ChallengeMixin:
    # --- acceptances --------------------------------------------------------------------

    def accept(self, model: str, version: str, *, check: str, reason: str, until: str | datetime,
               actor: str) -> dict[str, Any]:
        """An executive accepts a failing or not-evidenced check of the version's latest audit until ``until``."""
        with self.tx() as s:
            self._holds(s, actor, "executive", "accept a finding")
        if not (reason or "").strip():
            raise StewardError("an acceptance needs a reason saying why the risk is acceptable (--reason)")
        end = parse_until(until)
        start = now()
        if end <= start:
            raise StewardError(f"until {end.date()} is not in the future; an acceptance must end later than today")
        if end > start + timedelta(days=MAX_ACCEPTANCE_DAYS):
            raise StewardError(f"until {end.date()} is more than {MAX_ACCEPTANCE_DAYS} days away; accept for at most "
                               f"a year and look at the finding again then")
        with self.tx() as s:
            self._holds(s, actor, "executive", "accept a finding")
            m, v = self._version(s, model, version)
            run = self._latest_audit(s, v)
            if run is None:
                raise WorkflowError(f"{model}:{version} has no audit, so there is no finding to accept")
            if actor in (v.registered_by, run.created_by):
                raise WorkflowError(f"separation of duties: {actor} "
                                    f"{'registered the version' if actor == v.registered_by else 'uploaded the audit'}"
                                    f" and cannot also accept its findings")
            blocking = sorted({f["check"] for f in run.findings if f["status"] in ("fail", "not_evidenced")})
            if check not in blocking:
                raise WorkflowError(f"check {check!r} neither fails nor lacks evidence in the latest audit (#{run.id}) of "
                                    f"{model}:{version}; the checks that block approval are: {', '.join(blocking) or 'none'}")
            a = Acceptance(version_id=v.id, audit_run_id=run.id, check_name=check, reason=reason.strip(), until=end, accepted_by=actor,
                           status="active")
            s.add(a)
            m.updated_at = now()
            s.flush()
            _trail.append(s, actor, "finding.accept", f"version:{model}:{version}",
                          {"acceptance": a.id, "check": check, "reason": a.reason, "until": end.isoformat(),
                           "audit_run": run.id})
            return acceptance_dict(a)

    def acceptances(self, model: str, version: str) -> list[dict[str, Any]]:
        self.lapse_acceptances()
        with self.tx() as s:
            _, v = self._version(s, model, version)
            rows = s.execute(select(Acceptance).where(Acceptance.version_id == v.id).order_by(Acceptance.id.desc()))
            return [acceptance_dict(a) for a in rows.scalars()]

    def _accepted_checks(self, s: Session, v: Version, at: datetime | None = None) -> dict[str, Acceptance]:
        """The acceptances in force for the version's latest audit, by check (an acceptance covers the
        findings it was given on: a new audit needs its own)."""
        t = at or now()
        run = self._latest_audit(s, v)
        if run is None:
            return {}
        rows = s.execute(select(Acceptance).where(Acceptance.audit_run_id == run.id, Acceptance.status == "active")
                         .order_by(Acceptance.id)).scalars()
        return {a.check_name: a for a in rows if _aware(a.until) > t}

    def lapse_acceptances(self, at: datetime | None = None) -> list[int]:
        """Mark acceptances past their date lapsed; revoke the approval they carried and open an incident.

        Idempotent; called before the registry answers about approval, so a lapsed acceptance never
        keeps a version approved. Returns the ids of the acceptances that lapsed now."""
        t = at or now()
        # a read first: most calls find nothing due, and a write transaction (BEGIN IMMEDIATE on SQLite)
        # on every registry read would serialise readers behind writers
        with self._sessions() as s:
            until = s.execute(select(Acceptance.until).where(Acceptance.status == "active")).scalars().all()
        if not any(_aware(u) <= t for u in until):
            return []
        with self.tx() as s:
            due = [a for a in s.execute(select(Acceptance).where(Acceptance.status == "active")).scalars()
                   if _aware(a.until) <= t]
            if not due:
                return []
            actor = "steward (acceptance expiry)"
            for a in due:
                v = s.get(Version, a.version_id)
                m = s.get(Model, v.model_id)
                a.status, a.lapsed_at = "lapsed", t
                revoked = False
                if v.status == "approved" and a.check_name not in self._accepted_checks(s, v, at=t):
                    # (another acceptance of the same check on the latest audit may still be in force)
                    run = self._latest_audit(s, v)
                    still = run is not None and any(f["check"] == a.check_name and f["status"] in ("fail", "not_evidenced")
                                                    for f in run.findings)
                    if still:
                        v.status, v.approved_at, v.approved_by, revoked = "registered", None, None, True
                        m.status, m.updated_at = "in_review", t
                inc = None
                if revoked:
                    inc = self._new_incident(
                        s, m, v, actor=actor, severity="high",
                        title=f"Acceptance of {a.check_name} lapsed; approval of {v.version} revoked",
                        description=(f"{a.accepted_by} accepted {a.check_name} until {a.until} ({a.reason}). "
                                     f"The finding still blocks approval, so {m.name}:{v.version} is no longer "
                                     f"approved for deployment."))
                s.flush()
                _trail.append(s, actor, "finding.acceptance_lapsed", f"version:{m.name}:{v.version}",
                              {"acceptance": a.id, "check": a.check_name, "approval_revoked": revoked,
                               "incident": inc.id if inc is not None else None})
                if revoked:
                    self._trip_on_revocation(s, v, actor, f"the acceptance of {a.check_name} lapsed")
            return [a.id for a in due]

    # --- reproductions ------------------------------------------------------------------

    def record_reproduction(self, model: str, version: str, *, report: dict[str, Any], actor: str,
                            audit_run: int | None = None) -> dict[str, Any]:
        """Compare an independent re-run (its ``report.json``) with the stored audit; record the outcome.

        The registry itself decides the outcome: the re-run's data (and model) must be the recorded
        ones, by SHA-256, and its cells and findings must equal the stored ones."""
        import json

        from steward.governance._evidence import compare_reports
        from steward.governance._reports import check_report

        check_report(report)
        with self.tx() as s:
            self._holds(s, actor, "validator", "record a reproduction")
            m, v = self._version(s, model, version)
            run = s.get(AuditRun, audit_run) if audit_run is not None else self._latest_audit(s, v)
            if run is None or run.version_id != v.id:
                raise WorkflowError(f"{model}:{version} has no audit {'#' + str(audit_run) if audit_run else ''} to reproduce")
            if actor in (run.created_by, v.registered_by):
                raise WorkflowError(f"{actor} recorded this audit or registered the version; a reproduction is an "
                                    f"independent challenge, so someone else must run it")
            stored = json.loads(run.report_json)
            run_id, run_created = run.id, _aware(run.created_at)
        try:
            rerun_at = _aware(datetime.fromisoformat(str(report.get("created"))))
        except (ValueError, OverflowError):
            raise StewardError("the re-run's report.created is not a time; send the report.json that steward audit wrote") from None
        if rerun_at < run_created:
            raise StewardError(f"the re-run was made at {report.get('created')}, before audit #{run_id} was recorded; "
                               f"a reproduction is a new run of the audit (steward reproduce)")
        data_sha = (report.get("source") or {}).get("sha256")
        if not data_sha or data_sha != run.data_sha256:
            raise StewardError(f"the re-run's data has SHA-256 {data_sha} but audit #{run_id} was of "
                               f"{run.data_sha256}; reproduce it on the same data file")
        stored_model = (stored.get("model") or {}).get("sha256")
        rerun_model = (report.get("model") or {}).get("sha256")
        if stored_model != rerun_model:
            raise StewardError(f"the re-run's model has SHA-256 {rerun_model} but audit #{run_id} scored with "
                               f"{stored_model}; give the same model file (--model)")
        difference = compare_reports(stored, report)
        with self.tx() as s:
            r = Reproduction(audit_run_id=run_id, outcome="reproduced" if difference is None else "differs",
                             detail=difference or "", data_sha256=data_sha, model_sha256=rerun_model, run_by=actor)
            s.add(r)
            s.flush()
            _trail.append(s, actor, f"audit.{r.outcome}", f"version:{model}:{version}",
                          {"reproduction": r.id, "audit_run": run_id, "detail": r.detail})
            return reproduction_dict(r)

    def _reproductions(self, s: Session, run_id: int) -> list[Reproduction]:
        return list(s.execute(select(Reproduction).where(Reproduction.audit_run_id == run_id)
                              .order_by(Reproduction.id)).scalars())

    def audit_report(self, run_id: int) -> dict[str, Any]:
        """The ``report.json`` of an audit run as it was uploaded."""
        import json

        return json.loads(self.audit_run(run_id)["report_json"])

    def policy_text(self, sha256: str) -> str:
        """The text of a policy the registry has held audits to, by its SHA-256."""
        with self.tx() as s:
            return self._stored_policy(s, sha256).text
