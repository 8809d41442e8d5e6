"""The registry's tables (SQLAlchemy 2). Migrations in ``migrations/versions`` create them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Principal", "ApiKey", "Model", "Version", "RiskAssessment", "AuditRun", "SignOff",
           "Incident", "IncidentEntry", "TrailEntry", "TrailHead", "StoredPolicy", "Acceptance", "Reproduction",
           "WebSession", "KeyScope", "TrainingProfileRow", "Deployment", "Prediction", "ReviewItem",
           "ReviewDecision", "Appeal", "Callback", "HarmReport", "MonitorRow", "MonitorWindow", "MonitorAlert",
           "MonitorLabel", "MonitorRecord", "Team", "TeamMember", "now"]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:  # SQLite gives naive datetimes back; they were stored in UTC
        t = t.replace(tzinfo=timezone.utc)
    return t.isoformat()


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Principal(Base):
    __tablename__ = "principals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    roles: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    keys: Mapped[list["ApiKey"]] = relationship(back_populates="principal")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roles": list(self.roles), "created_at": iso(self.created_at), "disabled": self.disabled}


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the public part of the key
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    principal: Mapped[Principal] = relationship(back_populates="keys")


class Model(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(100), default="other")
    owner: Mapped[str] = mapped_column(String(200), default="")
    accountable_executive: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(30), default="in_development")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # The team that owns the model (teams.id; NULL: none recorded yet). No database foreign key: the column
    # was added to a table SQLite cannot alter constraints on; the registry checks the team exists.
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    versions: Mapped[list["Version"]] = relationship(back_populates="model", order_by="Version.id")


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version: Mapped[str] = mapped_column(String(100))
    artifact_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    artifact_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training_data_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seeds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code_revision: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # How the version was trained with differential privacy (see governance/_privacy.py); NULL: not recorded.
    privacy: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="registered")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    registered_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    model: Mapped[Model] = relationship(back_populates="versions")


class RiskAssessment(Base):
    __tablename__ = "risk_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    tier: Mapped[str] = mapped_column(String(100))
    tier_reason: Mapped[str] = mapped_column(Text)
    policy_name: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[str] = mapped_column(String(100))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    assessed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class AuditRun(Base):
    __tablename__ = "audit_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    policy_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    policy_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    policy_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    n_fail: Mapped[int] = mapped_column(Integer, default=0)
    n_warn: Mapped[int] = mapped_column(Integer, default=0)
    n_not_evidenced: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    report_json: Mapped[str] = mapped_column(Text)
    report_html: Mapped[str] = mapped_column(Text)
    model_card: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # Where the audit ran, as the recording client said (see governance/_context.py): the CI service and run,
    # and whether the command gated on the verdict. NULL: not said. A claim, attributed to created_by.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class SignOff(Base):
    __tablename__ = "sign_offs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    audit_run_id: Mapped[int | None] = mapped_column(ForeignKey("audit_runs.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(30))
    person: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    description: Mapped[str] = mapped_column(Text, default="")
    checklist: Mapped[list[Any]] = mapped_column(JSON, default=list)
    opened_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    entries: Mapped[list["IncidentEntry"]] = relationship(order_by="IncidentEntry.id")


class IncidentEntry(Base):
    __tablename__ = "incident_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status_change: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class TrailEntry(Base):
    __tablename__ = "trail"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON: the exact text that is hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Canonical JSON {"table:id": sha256 of the row's canonical content after the change}, covered by the hash.
    rows: Mapped[str] = mapped_column(Text, default="{}")
    # "hmac-sha256" (keyed with the trail key, kept outside the database) or "sha256" (entries written
    # before the trail was keyed).
    alg: Mapped[str] = mapped_column(String(20), default="hmac-sha256")


class TrailHead(Base):
    """One row: the newest entry's number and hash. Appends lock it, so the chain stays a chain
    under concurrent writers, and verification notices a deleted last entry."""

    __tablename__ = "trail_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class StoredPolicy(Base):
    """Every policy the registry has held audits to, by content hash, so a verdict can be re-derived
    under the policy it claims and not under the client's copy."""

    __tablename__ = "policies"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Acceptance(Base):
    """An executive's acceptance of a failing or not-evidenced check for one version, until a date."""

    __tablename__ = "acceptances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    # The audit whose finding was accepted: a new audit needs its own acceptance.
    audit_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id"))
    check_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | lapsed
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Reproduction(Base):
    """A validator's independent re-run of a recorded audit: reproduced, or the first difference."""

    __tablename__ = "reproductions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_run_id: Mapped[int] = mapped_column(ForeignKey("audit_runs.id"))
    outcome: Mapped[str] = mapped_column(String(20))  # reproduced | differs
    detail: Mapped[str] = mapped_column(Text, default="")
    data_sha256: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class WebSession(Base):
    """A logged-in browser: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "web_sessions"
    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class KeyScope(Base):
    """A ``caller`` key may call only the deployments named here (one row per key and name)."""

    __tablename__ = "key_scopes"
    __table_args__ = (UniqueConstraint("key_id", "deployment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    deployment: Mapped[str] = mapped_column(String(200))


class TrainingProfileRow(Base):
    """A version's training profile (see :mod:`steward.serving._profile`): schema, ranges, categories,
    missing rates and a hash set of the training rows. The guard validates and screens against it;
    monitoring compares windows with it."""

    __tablename__ = "training_profiles"
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), primary_key=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Deployment(Base):
    """A named endpoint serving one approved version. A new deployment of the same name replaces the
    active one (status ``replaced``); the replaced row stays, so its logged decisions keep their version."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_name_status", "name", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    backup_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    benchmark_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    guard: Mapped[dict[str, Any]] = mapped_column(JSON)  # the settings in force, defaults filled in
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | replaced
    killed: Mapped[bool] = mapped_column(Boolean, default=False)
    kill_reason: Mapped[str] = mapped_column(Text, default="")
    killed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    killed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Prediction(Base):
    """One answered row of a guarded endpoint, committed before the answer is released."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_deployment_time", "deployment_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # time-ordered, random tail
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)  # the one that answered
    key_id: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # None when only the hash is kept
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    route: Mapped[str] = mapped_column(String(20))
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # backup/benchmark/latency facts
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewItem(Base):
    """A decision routed to a person: why, the interim decision given meanwhile, the model's view."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_status", "status", "deployment_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    why: Mapped[list[Any]] = mapped_column(JSON)
    interim_decision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | awaiting_second | decided
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20), default="decision")  # decision | appeal
    appeal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReviewDecision(Base):
    """A reviewer's decision on a review item: confirm the interim/model decision, or override it (with a
    reason). It never rewrites the logged prediction; the final decision is the latest final one here."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"))
    reviewer: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # confirm | override | second (a second reviewer's agreement)
    decision: Mapped[int] = mapped_column(Integer)  # the decision this makes final
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))  # final | pending_second | declined
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Appeal(Base):
    """A person's appeal of a logged decision, filed by the calling application on their behalf."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"))
    statement: Mapped[str] = mapped_column(Text)
    corrected_inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rescored_prediction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | upheld | overturned
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    filed_by: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Callback(Base):
    """A settled decision to POST to the deployment's callback URL, retried with backoff."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HarmReport(Base):
    """A suspected harm reported from outside (no key): triaged by the owning and central teams."""

    __tablename__ = "harm_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    deployment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    what: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | triaged | closed
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")  # what the reporter is told
    address_sha256: Mapped[str] = mapped_column(String(64))  # of the sender's address, for throttling only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class MonitorRow(Base):
    """A monitor: its source (a deployment's log, a file or folder, or records sent to the API), its
    reference, its own settings over its tier's, the detectors' state and how far it has read."""

    __tablename__ = "monitors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    deployment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), nullable=True)  # incidents go here
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    watermark: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the incident its alerts add to
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MonitorWindow(Base):
    __tablename__ = "monitor_windows"
    __table_args__ = (UniqueConstraint("monitor_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    key: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class MonitorAlert(Base):
    __tablename__ = "monitor_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    window: Mapped[str] = mapped_column(String(40))
    signal: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)  # a feature, group or key: names that come from the data
    severity: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tripped: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the deployment whose switch it pulled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # A person saw the alert and said what is being done (until then it counts against the standards).
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class MonitorLabel(Base):
    """An outcome that arrived after the decision, joined to it by prediction id (or the source's key)."""

    __tablename__ = "monitor_labels"
    __table_args__ = (UniqueConstraint("monitor_id", "prediction_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    prediction_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[int] = mapped_column(Integer)
    given_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class MonitorRecord(Base):
    """A prediction another system logged and sent to ``POST /api/monitors/{name}/records``."""

    __tablename__ = "monitor_records"
    __table_args__ = (Index("ix_monitor_records_monitor", "monitor_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Team(Base):
    """A team that owns models (and whose members' independence the standards judge)."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "principal_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
