"""Registry states for the standards console's tests (tests/governance/test_standards.py, test_adoption.py).

What is expensive is made once per module (:func:`build_kit`): the audit reports (re-recorded with
``record_audit_report``, so no test audits again), a small LightGBM model file with its training profile
(a deployment needs both), and a prediction log whose decisions favour men (a file monitor of it raises
fairness alerts). Each test then builds its own registry state on the ``db_url`` database (SQLite or
PostgreSQL) with the helpers below and reads the record times back, so that ``standards(at=...)`` is
called at fixed times relative to them.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import steward

FEATURES = ["age_days", "words"]

POLICY_V1 = """\
policy: {name: Standards test policy, version: "1"}
domains: [credit, criminal_justice, operations, other]
tiers:
  high:
    description: Decisions about people in protected domains
    assign_when:
      - domain: [credit, criminal_justice]
    checks:
      adverse_impact_ratio: {min: 0.5}
      model_card: {severity: warn, required: [model.name, model.owner]}
      pii_in_features: {min_share: 0.3, severity: warn, optional: true}
    sign_off: [validator, executive]
    distinct_signers: true
    reaudit_days: 90
    incident_response_hours: {critical: 4, high: 24, medium: 72, low: 168}
  low:
    description: The rest
    checks:
      adverse_impact_ratio: {min: 0.5, severity: warn}
    sign_off: []
    reaudit_days: 365
"""

# Version 2: a stricter threshold and one more check in the high tier, and operations models are high risk.
POLICY_V2 = (POLICY_V1.replace('version: "1"', 'version: "2"')
             .replace("adverse_impact_ratio: {min: 0.5}\n",
                      "adverse_impact_ratio: {min: 0.6}\n      false_positive_rate_ratio: {max: 1.5, severity: warn}\n")
             .replace("domain: [credit, criminal_justice]", "domain: [credit, criminal_justice, operations]"))

RISK_HIGH = dict(domain="credit", people_affected=5000, decisions_per_day=50, human_review=True,
                 wrong_decision_cost="high")
RISK_LOW = dict(domain="operations", people_affected=200, decisions_per_day=10, human_review=True,
                wrong_decision_cost="low")

CI = {"ci": {"service": "github-actions", "run": "acme/lending/4711", "url": None}, "gate": True,
      "command": "steward audit data.csv --register"}

# principal -> roles; none of the signers registers a version or uploads an audit
PEOPLE = {"dev": ["developer"], "dev2": ["developer"], "Val": ["validator"], "Vic": ["validator"],
          "Eve": ["executive"], "Olga": ["operator"], "Rita": ["reviewer"]}

LOG_DAY = "2026-03-02"  # the day of the biased prediction log (one window)


@dataclass
class Kit:
    folder: Path
    v1: steward.Policy
    v2_path: Path
    reports: dict[str, dict[str, Any]]  # name -> the keyword arguments of record_audit_report
    artifact: Path
    artifact_sha256: str
    profile: dict[str, Any]
    rows: list[dict[str, Any]]  # rows as a caller sends them (features and sex)
    log: Path  # the biased prediction log
    reference: dict[str, Any]  # the file monitor's reference (fair decisions)


def _audit(policy: steward.Policy, frame: pd.DataFrame, tier: str, card: dict | None = None,
           features: list[str] | None = None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        result = steward.audit(frame, label="y", prediction="d", favourable=1, protected={"sex": "Male"},
                               features=features or [], policy=policy, tier=tier, card_info=card)
    return {"report": result.to_dict(), "report_html": result.to_html(), "model_card": result.model_card()}


def build_kit(folder: Path) -> Kit:
    import lightgbm as lgb

    from steward.models import file_sha256
    from steward.monitoring import build_reference
    from steward.serving import build_profile

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v1.yaml").write_text(POLICY_V1)
    (folder / "v2.yaml").write_text(POLICY_V2)
    v1, v2 = steward.load_policy(folder / "v1.yaml"), steward.load_policy(folder / "v2.yaml")
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"sex": rng.choice(["Male", "Female"], size=n), "y": rng.integers(0, 2, size=n),
                       "d": rng.integers(0, 2, size=n), "age_days": rng.integers(0, 30, size=n),
                       "words": rng.integers(5, 400, size=n)})
    biased = df.assign(d=np.where(df["sex"] == "Male", rng.random(n) < 0.6, rng.random(n) < 0.1).astype(int))
    card = {"model": {"name": "Pre-screen", "owner": "Ana Owner"}}
    reports = {
        # findings: adverse_impact_ratio pass, model_card warn (no card), pii_in_features not_applicable
        "passing": _audit(v1, df, "high"),
        # adverse_impact_ratio pass, model_card pass (name and owner), pii_in_features pass (it ran)
        "carded": _audit(v1, df, "high", card, FEATURES),
        # model_card: name pass, owner warn; pii_in_features pass
        "half_card": _audit(v1, df, "high", {"model": {"name": "Pre-screen"}}, FEATURES),
        # adverse_impact_ratio fails (women are favoured a sixth as often as men)
        "failing": _audit(v1, biased, "high"),
        "low": _audit(v1, df, "low"),
        "passing_v2": _audit(v2, df, "high"),  # held to version 2
    }
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1, random_state=0).fit(df[FEATURES], df["y"])
    artifact = folder / "model.txt"
    model.booster_.save_model(str(artifact))
    profile = build_profile(df, FEATURES).to_dict()
    rows = json.loads(df[[*FEATURES, "sex"]].head(10).to_json(orient="records"))
    ref = df.rename(columns={"d": "decision"})
    reference = build_reference(ref, features=FEATURES, protected=["sex"], reference_groups={"sex": "Male"},
                                decision="decision", source="test reference").to_dict()
    log = biased.rename(columns={"d": "decision"})[[*FEATURES, "sex", "decision"]].copy()
    log["ts"] = pd.Timestamp(LOG_DAY, tz="UTC") + pd.to_timedelta(rng.integers(0, 86_000, n), unit="s")
    log.to_parquet(folder / "log.parquet")
    return Kit(folder, v1, folder / "v2.yaml", reports, artifact, file_sha256(artifact), profile, rows,
               folder / "log.parquet", reference)


# --- times ------------------------------------------------------------------------------------------


def when(value: Any) -> datetime:
    """A time the registry returned (ISO text, or a datetime; naive ones are UTC) as an aware datetime."""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat()


def next_second() -> None:
    """Wait until the clock is in the next whole second: the registry stamps records to the second, so
    records made after this are strictly later than those made before."""
    time.sleep(1.02 - datetime.now(timezone.utc).microsecond / 1e6)


def day(t: datetime) -> str:
    return t.strftime("%Y-%m-%d")


# --- building registry states -----------------------------------------------------------------------


def open_registry(url: str, policy: Any) -> Any:
    from steward.governance import Registry

    reg = Registry(url, policy=policy)
    for name, roles in PEOPLE.items():
        reg.create_key(name, roles, actor="admin")
    return reg


def model(reg: Any, kit: Kit, name: str, *, risk: dict | None = RISK_HIGH, team: str | None = None,
          versions: tuple[str, ...] = ("1",), by: str = "dev") -> dict[str, Any]:
    """Register ``name`` (of ``team``) with ``versions`` (each with the model file) and, given, its risk answers."""
    reg.register_model(name, actor=by, purpose="pre-screens applications", domain=(risk or {}).get("domain", "other"),
                       owner="Ana Owner")
    if team is not None:  # the admin places it (a builder registers only into a team of their own)
        reg.set_model_team(name, team, actor="admin")
    for v in versions:
        reg.register_version(name, v, actor=by, artifact_uri=str(kit.artifact), artifact_sha256=kit.artifact_sha256)
    if risk is not None:
        reg.assess_risk(name, risk, actor=by)
    return reg.model(name)


def audit(reg: Any, kit: Kit, name: str, version: str = "1", report: str = "passing", *,
          context: dict | None = None, by: str = "dev") -> dict[str, Any]:
    return reg.record_audit_report(name, version, actor=by, context=context, **kit.reports[report])


def approve(reg: Any, name: str, version: str = "1", *, validator: str = "Val", executive: str | None = "Eve",
            by: str = "dev") -> dict[str, Any]:
    reg.sign_off(name, version, role="validator", decision="approve", actor=validator)
    if executive is not None:
        reg.sign_off(name, version, role="executive", decision="approve", actor=executive)
    return reg.approve(name, version, actor=by)


def deploy(reg: Any, kit: Kit, deployment: str, ref: str, **guard: Any) -> dict[str, Any]:
    """Deploy ``ref`` (recording its training profile first, once); no throttle; ``guard`` overrides."""
    model_name, version = ref.split(":")
    if reg.profile(model_name, version) is None:
        reg.record_profile(model_name, version, kit.profile, actor="dev")
    settings: dict[str, Any] = {"throttle": {"rate": 0}, "protected": ["sex"]}
    settings.update(guard)
    return reg.deploy(deployment, ref, actor="Olga", guard=settings)


def no_oversight() -> dict[str, Any]:
    """Guard settings that route no decision to a person (no band, screening only flags)."""
    return {"review": {"band": 0.0, "benchmark_disagreement": "review"},
            "screening": {"out_of_range": "flag", "unseen_category": "flag"}}


def file_monitor(reg: Any, kit: Kit, name: str, model_name: str) -> dict[str, Any]:
    """A monitor of the biased log, linked to ``model_name``, run over every window: it raises fairness alerts."""
    reg.create_monitor(name, actor="Olga", data=str(kit.log), reference=kit.reference,
                       columns={"time": "ts", "decision": "decision"}, model=model_name)
    reg.run_monitor(name, actor="Olga", close_all=True)
    return reg.monitor(name)


def rule(report: dict[str, Any], model_name: str, rule_id: str) -> dict[str, Any]:
    row = next(m for m in report["models"] if m["model"] == model_name)
    return next(r for r in row["rules"] if r["rule"] == rule_id)


def verdict(reg: Any, model_name: str, rule_id: str, at: datetime) -> dict[str, Any]:
    return rule(reg.standards(at=at, trend_points=1), model_name, rule_id)


def brief(r: dict[str, Any]) -> tuple:
    """(status, severity, since, lapses_at) of a rule's verdict."""
    return r["status"], r["severity"], r["since"], r["lapses_at"]
