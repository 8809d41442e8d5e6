"""Harm reports from outside, taken as security teams take vulnerability reports.

Anyone (a person a decision was about, a journalist, a researcher) may report a suspected harm without
a key: what happened, a prediction id if they have one, and how to reach them. A report lands in the
triage queue of operators and administrators (permission ``harm_triage``: reports hold reporters'
contacts), who link it to an incident or open one, and write the outcome the reporter is told.

Choices, and why:

- **The reporter's token is derived, not stored.** Filing answers the report's number and a token
  (HMAC-SHA-256 of the number and filing time under a sub-key of the trail key, which is kept outside
  the database). With both, the reporter reads the status and the outcome, nothing else. The database
  holds nothing from which the token can be computed, as with API keys; a wrong token and an unknown
  number get the same answer, so numbers cannot be probed.
- **A prediction id is never confirmed to a stranger.** An id the registry knows sets the report's
  deployment; an unknown one is stored as given and shown to triagers as unknown. The reporter gets
  the same answer either way, so the form cannot be used to learn which decisions exist.
- **The sender's address is kept only as a keyed digest** (HMAC-SHA-256 under a sub-key of the trail
  key): a plain or salted hash of an IPv4 address is undone by trying all 2^32 of them. It serves to
  spot the same report sent twice from one address within a day: that answers the earlier report
  (number and token) rather than filing it again, as a form sent twice or a retried request should.
  Throttling per address is the web layer's (``steward.web.routers.harm``).
- **The trail records that a report was filed and triaged, not its text or contact**, which only
  triagers may read; the row digest in each entry still covers every column.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from steward.errors import NotFoundError, StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._incidents import SEVERITIES
from steward.governance._principals import credential_digest
from steward.governance._refused import text_problem
from steward.governance._tables import Deployment, HarmReport, Incident, IncidentEntry, Prediction, Version, iso, now

__all__ = ["HarmReportsMixin", "clean_report", "HARM_STATUSES", "MAX_WHAT", "MAX_CONTACT", "MAX_OUTCOME",
           "PUBLIC_ACTOR"]

HARM_STATUSES = ("new", "triaged", "closed")
MAX_WHAT, MAX_CONTACT, MAX_OUTCOME = 5000, 500, 5000
PUBLIC_ACTOR = "public (harm report)"
DUPLICATE_WINDOW = timedelta(days=1)
_PREDICTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC back


def _text(field: str, value: Any, limit: int, *, required: bool = False, meaning: str = "") -> str:
    """``value`` stripped, or :class:`StewardError` naming the field."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise StewardError(f"{field}: give text{meaning}")
    value = value.strip()
    if required and not value:
        raise StewardError(f"{field}: is empty; say{meaning}")
    if len(value) > limit:
        raise StewardError(f"{field}: is {len(value):,} characters long; give at most {limit:,}")
    problem = text_problem(value)
    if problem:
        raise StewardError(f"{field}: {problem}")
    return value


def clean_report(what: Any, contact: Any = "", prediction_id: Any = None) -> tuple[str, str, str | None]:
    """A report's fields stripped and checked, or :class:`StewardError` naming the field at fault."""
    what = _text("what", what, MAX_WHAT, required=True, meaning=" what happened")
    contact = _text("contact", contact, MAX_CONTACT, meaning=" how to reach you (or leave it empty)")
    pid = _text("prediction_id", prediction_id, 40) or None
    if pid is not None and not _PREDICTION_ID.match(pid):
        raise StewardError(f"prediction_id: {pid!r} is not a prediction id: those are letters, digits, '-' or "
                           f"'_' (at most 40), as on the decision's notice; leave it empty if you have none")
    return what, contact, pid


class HarmReportsMixin:
    """Registry methods for harm reports: filing (no key), the reporter's view, the triage queue."""

    # --- digests ---------------------------------------------------------------------------------

    def _harm_token(self, report_id: int, created_at: datetime) -> str:
        stamp = int(_aware(created_at).timestamp())
        return credential_digest(self.trail_key, "harm-report", f"{report_id}:{stamp}")[:40]

    def harm_address_digest(self, address: str) -> str:
        """The keyed digest of a sender's address, as stored with a report."""
        return credential_digest(self.trail_key, "harm-address", address or "unknown")

    # --- filing ----------------------------------------------------------------------------------

    def file_harm_report(self, what: str, contact: str = "", prediction_id: str | None = None, *,
                         address: str) -> dict[str, Any]:
        """File a report from outside; ``address`` is the sender's network address (kept as a keyed digest).

        Returns ``{"id", "token", "status", "duplicate"}``: the token reads the report's status and outcome
        (:meth:`harm_report_status`). The same text from the same address within a day answers the earlier
        report (``duplicate`` true) instead of filing it again.
        """
        what, contact, pid = clean_report(what, contact, prediction_id)
        digest = self.harm_address_digest(address)
        with self.tx() as s:
            since = now() - DUPLICATE_WINDOW
            for earlier in s.execute(select(HarmReport).where(HarmReport.address_sha256 == digest,
                                                              HarmReport.created_at >= since)
                                     .order_by(HarmReport.id)).scalars():
                if earlier.what == what and (earlier.prediction_id or None) == pid:
                    return {"id": earlier.id, "token": self._harm_token(earlier.id, earlier.created_at),
                            "status": earlier.status, "duplicate": True}
            found = self._prediction_context(s, pid)
            t = now()
            r = HarmReport(prediction_id=pid, deployment=found["deployment"] if found else None, what=what,
                           contact=contact, status="new", incident_id=None, outcome="", address_sha256=digest,
                           created_at=t, updated_at=t)
            s.add(r)
            s.flush()
            _trail.append(s, PUBLIC_ACTOR, "harm.report", f"harm_report:{r.id}",
                          {"what_chars": len(what), "contact_given": bool(contact), "prediction_given": pid is not None,
                           "deployment": r.deployment})
            return {"id": r.id, "token": self._harm_token(r.id, t), "status": "new", "duplicate": False}

    # --- the reporter's view ---------------------------------------------------------------------

    def harm_report_status(self, report_id: int, token: str) -> dict[str, Any]:
        """What the reporter may read with the report's token: status, outcome, dates. A wrong token and an
        unknown number give the same :class:`NotFoundError`."""
        with self.tx() as s:
            r = s.get(HarmReport, report_id) if isinstance(report_id, int) and 0 < report_id < 2**31 else None
            expected = self._harm_token(r.id, r.created_at) if r is not None else "x" * 40
            sent = token if isinstance(token, str) else ""
            if r is None or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode()):
                raise NotFoundError(f"no harm report {report_id} with that token; use the link you were given "
                                    f"when you sent the report")
            return {"id": r.id, "status": r.status, "outcome": r.outcome, "created_at": iso(r.created_at),
                    "updated_at": iso(r.updated_at)}

    # --- triage ----------------------------------------------------------------------------------

    def _prediction_context(self, s, prediction_id: str | None) -> dict[str, Any] | None:
        """The deployment, model and version of a logged prediction, or None when there is none."""
        p = s.get(Prediction, prediction_id) if prediction_id else None
        if p is None:
            return None
        d = s.get(Deployment, p.deployment_id)
        v = s.get(Version, p.version_id or d.version_id)
        return {"deployment": d.name, "model": v.model.name, "version": v.version}

    def _harm_dict(self, s, r: HarmReport) -> dict[str, Any]:
        found = self._prediction_context(s, r.prediction_id)
        inc = s.get(Incident, r.incident_id) if r.incident_id else None
        return {
            "id": r.id, "prediction_id": r.prediction_id,
            "prediction_known": None if r.prediction_id is None else found is not None,
            "deployment": r.deployment or (found["deployment"] if found else None),
            "model": found["model"] if found else None, "version": found["version"] if found else None,
            "what": r.what, "contact": r.contact, "status": r.status, "incident_id": r.incident_id,
            "incident": self._incident_dict(s, inc, brief=True) if inc is not None else None,
            "outcome": r.outcome, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
        }

    def harm_reports(self, *, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The triage queue, newest first (all statuses, or one)."""
        if status is not None and status not in HARM_STATUSES:
            raise StewardError(f"status must be one of {', '.join(HARM_STATUSES)}, got {status!r}")
        with self.tx() as s:
            q = select(HarmReport).order_by(HarmReport.id.desc()).limit(limit)
            if status is not None:
                q = q.where(HarmReport.status == status)
            return [self._harm_dict(s, r) for r in s.execute(q).scalars()]

    def harm_report(self, report_id: int) -> dict[str, Any]:
        """One report, for triage (it holds the reporter's contact)."""
        with self.tx() as s:
            r = s.get(HarmReport, report_id)
            if r is None:
                raise NotFoundError(f"no harm report {report_id}")
            return self._harm_dict(s, r)

    def triage_harm_report(self, report_id: int, *, actor: str, status: str | None = None,
                           incident_id: int | None = None, open_incident: dict[str, Any] | None = None,
                           outcome: str | None = None) -> dict[str, Any]:
        """Triage a report: link it to an incident (``incident_id``) or open one (``open_incident``: title,
        severity, optionally model, version, description; the model defaults to the reported prediction's),
        set the ``outcome`` the reporter is told, and move its ``status`` to triaged or closed. Any change
        moves a new report to triaged; closing needs an outcome. Each change is in the trail."""
        if status is None and incident_id is None and open_incident is None and outcome is None:
            raise StewardError("say what changed: a status, an incident to link or open, or the outcome")
        if incident_id is not None and open_incident is not None:
            raise StewardError("link an existing incident or open a new one, not both")
        if status is not None and status not in HARM_STATUSES[1:]:
            raise StewardError(f"status: must be triaged or closed (a report is new only until it is triaged), "
                               f"got {status!r}")
        if outcome is not None:
            outcome = _text("outcome", outcome, MAX_OUTCOME)
        opening = self._incident_request(open_incident) if open_incident is not None else None
        with self.tx() as s:
            r = s.execute(select(HarmReport).where(HarmReport.id == report_id).with_for_update()).scalar_one_or_none()
            if r is None:
                raise NotFoundError(f"no harm report {report_id}")
            before, linked = r.status, None
            if incident_id is not None:
                linked = self._incident(s, incident_id)
            elif opening is not None:
                linked = self._incident_for(s, r, opening, actor)
            if linked is not None:
                r.incident_id = linked.id
                filed = iso(r.created_at)[:10]
                s.add(IncidentEntry(incident_id=linked.id, author=actor, status_change=None,
                                    text=f"Harm report #{r.id} (filed {filed}) linked to this incident"))
            if outcome is not None:
                r.outcome = outcome
            r.status = status or ("triaged" if r.status == "new" else r.status)
            if r.status == "closed" and not r.outcome:
                raise WorkflowError("closing a harm report needs an outcome: what the reporter is told")
            r.updated_at = now()
            s.flush()
            _trail.append(s, actor, "harm.triage", f"harm_report:{r.id}",
                          {"status": r.status, "from": before, "incident_id": linked.id if linked else None,
                           "opened_incident": opening is not None, "outcome_set": outcome is not None})
        return self.harm_report(report_id)

    @staticmethod
    def _incident_request(spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise StewardError("open_incident: give an object with title and severity (and optionally model, "
                               "version, description)")
        unknown = set(spec) - {"model", "version", "title", "severity", "description"}
        if unknown:
            raise StewardError(f"open_incident: unknown field(s) {', '.join(sorted(unknown))}; it takes model, "
                               f"version, title, severity, description")
        if spec.get("severity") not in SEVERITIES:
            raise StewardError(f"open_incident.severity: must be one of {', '.join(SEVERITIES)}, "
                               f"got {spec.get('severity')!r}")
        title = _text("open_incident.title", spec.get("title"), 300, required=True, meaning=" what went wrong")
        description = _text("open_incident.description", spec.get("description"), MAX_WHAT)
        return {"model": spec.get("model") or None, "version": spec.get("version") or None, "title": title,
                "severity": spec["severity"], "description": description}

    def _incident_for(self, s, r: HarmReport, spec: dict[str, Any], actor: str) -> Incident:
        """Open an incident for the report (on the reported prediction's model unless another is named)."""
        model, version = spec["model"], spec["version"]
        if model is None:
            found = self._prediction_context(s, r.prediction_id)
            if found is None:
                raise StewardError("open_incident.model: name the model the incident is about; the report names "
                                   "no prediction this registry knows")
            model, version = found["model"], version or found["version"]
        m, v = self._version(s, model, version) if version else (self._model(s, model), None)
        description = spec["description"] or (f"Opened from harm report #{r.id}; operators and administrators read "
                                              f"the report on the harm reports page.")
        inc = self._new_incident(s, m, v, actor=actor, title=spec["title"], severity=spec["severity"],
                                 description=description)
        _trail.append(s, actor, "incident.open", f"incident:{inc.id}",
                      {"model": m.name, "version": v.version if v else None, "title": inc.title,
                       "severity": inc.severity, "harm_report": r.id})
        return inc
