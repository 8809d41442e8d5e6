"""A small organisation in the registry, so the central team's standards console has something to show.

    STEWARD_DATABASE_URL=sqlite:///PATH python examples/org/seed.py [WORK_DIR]

``make demo`` runs it after its own steps (examples/demo.sh). Through the library's ``Registry``, as the
teams themselves would have done it over the months, it adds:

- four teams with contacts: Credit risk, Marketing analytics and Justice analytics own models; Model
  validation holds the validator, so a sign-off of hers is independent of the team that built the model;
- people with API keys: developers in the owning teams (and the Credit risk CI job's service key), a
  validator, an executive, and Sam Whitfield of the central team with the read-only ``governance`` role;
- models audited with ``steward.audit`` from the shipped datasets (German credit, COMPAS, UCI Adult, and
  the law school data when it is found), each in one of the states the console tells apart:

  ``collections-priority``  clean: audited from CI with every probe, validated by Model validation,
                            approved, deployed, monitored; its alerts acknowledged, its incident resolved
  ``credit-scorecard``      failing: the CI gate fails it, and the validator rejected it
  ``overdraft-limit``       overdue: last audited 125 days ago, its high-risk tier asks every 90 days
  ``violent-recidivism``    an incident open for 3 days, past the high-risk tier's 24 hours for "high"
  ``wealth-seminar-leads``  a data broker's score: what cannot be tested is accepted, until 3 weeks from now
  ``law-admissions-index``  failing on adverse impact (only when the law school data is found)

  and, when the demo's own models are there, puts ``compas-recidivism`` in Justice analytics and
  ``adult-savings`` in Marketing analytics and acknowledges the savings monitor's alerts.

Some records must be older than today (an overdue audit, an incident past its response time, models
registered months ago so the adoption trend has a past). The registry stamps times itself; the seed
backdates those rows afterwards, each in the transaction that appends a ``demo.backdate`` trail entry
naming the table, the row, its old and new time: the trail covers the change and says it was made.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ACTOR = "demo seed"  # who set the organisation up (teams, keys, membership) and backdated records
# the project's shared data folder beside the checkout (as CI has it), unless the variable names another copy
LAW_SCHOOL = ("STEWARD_LAW_SCHOOL_CSV",
              Path(__file__).resolve().parents[2].parent / "shared" / "data" / "law_school" / "law_data.csv")

TEAMS = (
    ("Credit risk", "credit-risk@example.org", "Scorecards, limits and collections for retail lending"),
    ("Marketing analytics", "#marketing-analytics", "Offers, campaigns and customer selection"),
    ("Justice analytics", "justice-analytics@example.org", "Risk tools for courts, legal services and legal education"),
    ("Model validation", "model-validation@example.org", "Independent validation (second line)"),
)
PEOPLE = (  # name, roles, teams
    ("Priya Natarajan", ["developer"], ["Credit risk"]),
    ("Dan Okoro", ["developer", "operator"], ["Credit risk"]),
    ("credit-risk-ci", ["developer"], ["Credit risk"]),  # the CI job's key: it records the audits it gates on
    ("Lena Fischer", ["developer"], ["Marketing analytics"]),
    ("Marcus Reid", ["developer", "operator"], ["Justice analytics"]),
    ("Grace Okafor", ["validator"], ["Model validation"]),
    ("Helen Carter", ["executive"], []),
    ("Sam Whitfield", ["governance"], []),  # the central responsible-ML team: reads everything, changes nothing
)
GOVERNANCE = "Sam Whitfield"

# German credit: the collections model's inputs (no sex, age or nationality among them)
COLLECTIONS_FEATURES = ["checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
                        "employment_since", "installment_rate", "property", "housing"]
GERMAN_PROTECTED = {"sex": "male", "age_group": "over 25"}


def _ago(days: float = 0, hours: float = 0) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=days, hours=hours)


# --- backdating, in the trail -------------------------------------------------------------------------

def backdate(reg: Any, subject: str, rows: list[tuple[Any, int, datetime]], why: str) -> int:
    """Set ``created_at`` of each (table class, id) row to its time, in one transaction that appends, after each
    row, a ``demo.backdate`` entry covering it (the registry's trail then holds the row as changed, and
    says who changed it and from what). Returns how many rows were backdated."""
    from steward.governance import _trail
    from steward.governance._tables import iso

    with reg.tx() as s:
        for table, row_id, when in rows:
            row = s.get(table, row_id)
            if row is None:
                raise RuntimeError(f"backdate: no row {row_id} in {table.__tablename__}")
            was = iso(row.created_at)
            row.created_at = when
            s.flush()
            _trail.append(s, ACTOR, "demo.backdate", subject,
                          {"table": table.__tablename__, "id": row_id, "created_at": iso(when), "was": was, "why": why})
    return len(rows)


def _rows_of(reg: Any, model: str) -> dict[str, Any]:
    """The ids of a model's rows: the model, its risk assessments, versions and audit runs."""
    from sqlalchemy import select

    from steward.governance._tables import AuditRun, Model, RiskAssessment, Version

    with reg.tx() as s:
        m = s.execute(select(Model).where(Model.name == model)).scalar_one()
        versions = {v.version: v.id for v in s.execute(select(Version).where(Version.model_id == m.id)).scalars()}
        audits = {vid: [a.id for a in s.execute(select(AuditRun).where(AuditRun.version_id == vid)
                                                .order_by(AuditRun.id)).scalars()] for vid in versions.values()}
        risks = list(s.execute(select(RiskAssessment.id).where(RiskAssessment.model_id == m.id)).scalars())
        return {"model": m.id, "versions": versions, "audits": audits, "risks": risks}


def _backdate_model(reg: Any, model: str, *, registered: float, audited: float | None = None) -> int:
    """The model, its risk assessment and versions registered ``registered`` days ago; its audits (with their
    versions a day earlier) ``audited`` days ago."""
    from steward.governance._tables import AuditRun, Model, RiskAssessment, Version

    ids = _rows_of(reg, model)
    rows: list[tuple[Any, int, datetime]] = [(Model, ids["model"], _ago(registered))]
    rows += [(RiskAssessment, r, _ago(registered)) for r in ids["risks"]]
    if audited is not None:
        rows += [(Version, v, _ago(audited + 1)) for v in ids["versions"].values()]
        rows += [(AuditRun, a, _ago(audited)) for runs in ids["audits"].values() for a in runs]
    return backdate(reg, f"model:{model}", rows, "the demo organisation's history: these records are older than "
                                                  "the demo's registry")


# --- the data ------------------------------------------------------------------------------------------

def german() -> tuple[pd.DataFrame, pd.DataFrame]:
    """German credit split 700/300 (fixed), with ``sex`` and ``age_group`` read from the coded columns and
    ``bad`` (1 = a bad credit risk) and ``good`` labels."""
    from steward.datasets import load_german

    df = load_german()
    df["sex"] = np.where(df["personal_status_sex"].eq("A92"), "female", "male")
    df["age_group"] = np.where(df["age_years"] > 25, "over 25", "25 or under")
    df["bad"] = (df["class"] == 2).astype(int)
    df["good"] = 1 - df["bad"]
    order = np.random.default_rng(7).permutation(len(df))
    return df.iloc[order[:700]].reset_index(drop=True), df.iloc[order[700:]].reset_index(drop=True)


def _categories(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    X = frame[features].copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype(str).astype("category")
    return X


def _logistic_scores(train: pd.DataFrame, test: pd.DataFrame, features: list[str], label: str) -> np.ndarray:
    """A plain logistic scorecard (one-hot categories, standardised numbers): P(label = 1) for ``test``."""
    from sklearn.linear_model import LogisticRegression

    both = pd.get_dummies(pd.concat([train[features], test[features]], ignore_index=True), dtype=float)
    both = (both - both.mean()) / both.std().replace(0, 1)
    fit = LogisticRegression(max_iter=500).fit(both.iloc[:len(train)], train[label])
    return fit.predict_proba(both.iloc[len(train):])[:, 1]


def law_school() -> pd.DataFrame | None:
    """The LSAC law school data (Kusner et al.'s file), if found: ``STEWARD_LAW_SCHOOL_CSV`` or the shared copy."""
    env, default = LAW_SCHOOL
    path = Path(os.environ.get(env) or default)
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    df = df[df["region_first"] != "PO"].reset_index(drop=True)  # one row; Kusner et al. drop it
    df["sex"] = df["sex"].map({1: "female", 2: "male"})
    df["first_pf"] = df["first_pf"].astype(int)
    return df


def _card(name: str, owner: str, purpose: str, out_of_scope: str, data: str, *, complete: bool = True) -> dict:
    card = {"model": {"name": name, "owner": owner, "accountable_executive": "Helen Carter",
                      "contact": dict((t, c) for t, c, _ in TEAMS)[owner]},
            "intended_use": {"primary_uses": purpose, "out_of_scope": [out_of_scope]},
            "training_data": {"description": data}}
    if complete:
        card |= {"ethical_considerations": "Decisions affect people's finances or liberty; groups are compared "
                                           "on every protected attribute the data holds.",
                 "caveats": "Historical data: past decisions and their biases are in the labels."}
    return card


def _audit(reg: Any, data: pd.DataFrame, tier: str, card: dict, **kw: Any) -> Any:
    """An audit held to the registry's policy, under the model's tier. Audits warn about their defaults
    (reference groups, small groups); they are kept out of the demo's output."""
    import steward

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return steward.audit(data, policy=reg.policy, tier=tier, card_info=card, **kw)


def _ci(run: int, repo: str) -> dict[str, Any]:
    return {"ci": {"service": "github-actions", "run": f"{repo}/{run}",
                   "url": f"https://github.com/{repo}/actions/runs/{run}"},
            "gate": True, "command": "steward audit"}


# --- the organisation ------------------------------------------------------------------------------------

def _people(reg: Any) -> dict[str, str]:
    for name, contact, description in TEAMS:
        reg.create_team(name, contact=contact, description=description, actor=ACTOR)
    keys = {}
    for name, roles, teams in PEOPLE:
        keys[name] = reg.create_key(name, roles, actor=ACTOR)["key"]
        for team in teams:
            reg.add_team_member(team, name, actor=ACTOR)
    return keys


def _register(reg: Any, name: str, team: str, dev: str, purpose: str, domain: str, risk: dict[str, Any]) -> str:
    reg.register_model(name, actor=dev, purpose=purpose, domain=domain, owner=dev, accountable_executive="Helen Carter",
                       team=team)
    return reg.assess_risk(name, {"domain": domain, **risk}, actor=dev)["tier"]


# what the Credit risk operator wrote on acknowledging the collections monitor's alerts, by signal
ACK_NOTES = {
    "fairness": "The campaign brought in more young and female borrowers and the list put more of them first; the "
                "team lead checked that week's list by hand, and Model validation looks at the window with the next audit",
    "prediction_drift": "More accounts are called first since the branch campaign's larger loans over longer terms; "
                        "expected from the campaign's mix, the collections lead checked the week's list by hand, and "
                        "the model stays as it is",
    "estimated_performance": "Estimated on a mix the model was not trained on; the first outcomes arrive within 60 days "
                             "and show the real accuracy",
}
ACK_DEFAULT = ("Larger loans over longer terms from the branch campaign, beyond the training data; screened rows went "
               "to a person, and the model stays as it is")


def _collections(reg: Any, work: Path, train: pd.DataFrame, test: pd.DataFrame, keys: dict[str, str]) -> dict:
    """Clean: audited from CI with the model and every probe, validated, approved, deployed and monitored.
    The score is the probability that the account is repaid; accounts below 0.5 are called first."""
    import lightgbm as lgb
    import yaml

    from steward.audit import ModelInputs, ProbeInputs
    from steward.datasets import path as dataset_path
    from steward.models import file_sha256
    from steward.serving import build_profile

    name, dev, ops = "collections-priority", "Priya Natarajan", "Dan Okoro"
    monotone = {"duration_months": -1, "credit_amount": -1}  # a longer, larger loan is never a safer one
    for version, trees in (("0.9", 15), ("1.0", 40)):
        fit = lgb.LGBMClassifier(n_estimators=trees, num_leaves=7, min_child_samples=20, verbose=-1, random_state=0,
                                 monotone_constraints=[monotone.get(f, 0) for f in COLLECTIONS_FEATURES])
        fit.fit(_categories(train, COLLECTIONS_FEATURES), train["good"])
        fit.booster_.save_model(str(work / f"{name}-{version}.txt"))
    tier = _register(reg, name, "Credit risk", dev,
                     "Orders the collections team's call list: accounts least likely to be repaid are called first",
                     "operations", {"people_affected": 5000, "decisions_per_day": 40, "human_review": True,
                                    "wrong_decision_cost": "medium"})
    for version in ("0.9", "1.0"):
        art = work / f"{name}-{version}.txt"
        reg.register_version(name, version, actor=dev, artifact_uri=str(art.resolve()), artifact_sha256=file_sha256(art))
    reg.record_profile(name, "1.0", build_profile(train, COLLECTIONS_FEATURES).to_dict(), actor=dev)
    card = _card("Collections priority", "Credit risk", "Ordering the collections team's daily call list",
                 "Credit decisions, limits or pricing", "Statlog German credit, 700 loans (fixed split)")
    # the shipped reviewed reasons, for a score of repayment (a low score is the adverse side)
    reasons = dict(yaml.safe_load(dataset_path("german-reasons").read_text(encoding="utf-8")), adverse="low")
    scenarios = {"scenarios": [{"name": "amounts +20%", "change": {"credit_amount": {"multiply": 1.2}}},
                               {"name": "terms +12 months", "change": {"duration_months": {"add": 12}}}]}
    result = _audit(reg, test, tier, card, label="good", favourable=1, protected=GERMAN_PROTECTED,
                    features=COLLECTIONS_FEATURES, threshold=0.5,
                    model=ModelInputs(str(work / f"{name}-1.0.txt"), previous=str(work / f"{name}-0.9.txt"), train=train),
                    probes=ProbeInputs(reasons=reasons, scenarios=scenarios,
                                       monotone={"duration_months": "decreasing", "credit_amount": "decreasing"}))
    reg.record_audit(name, "1.0", result, actor="credit-risk-ci", context=_ci(9120431, "example-bank/collections"))
    reg.sign_off(name, "1.0", role="validator", decision="approve", actor="Grace Okafor",
                 comment="Re-ran the probes on the holdout; churn against 0.9 reviewed with the collections lead")
    reg.approve(name, "1.0", actor=dev)
    texts = {f: t for f, t in reasons["reasons"].items() if f in COLLECTIONS_FEATURES}
    guard = {"protected": list(GERMAN_PROTECTED), "threshold": 0.5, "throttle": {"rate": 100, "burst": 500},
             "reasons": {"count": 3, "texts": texts}}
    reg.deploy("collections-queue", f"{name}:1.0", actor=ops, guard=guard)
    keys["collections-app"] = reg.create_key("collections-app", ["caller"], actor=ACTOR,
                                             deployments=["collections-queue"])["key"]
    _traffic(reg, keys["collections-app"], test)
    reg.create_monitor("collections-watch", deployment="collections-queue", actor=ops,
                       settings={"window": {"by": "count", "size": 250}})
    run = reg.run_monitor("collections-watch", actor=ops)
    alerts = [a for a in reg.monitor("collections-watch")["alerts"] if a["acknowledged_at"] is None]
    for a in alerts:
        reg.acknowledge_alert(a["id"], actor=ops, note=ACK_NOTES.get(a["signal"], ACK_DEFAULT))
    incidents = sorted({a["incident_id"] for a in alerts if a["incident_id"] is not None})
    for iid in incidents:
        reg.update_incident(iid, actor=ops, status="contained",
                            note="The campaign's accounts were ordered by hand while we looked")
        reg.update_incident(iid, actor=ops, status="resolved",
                            note="The alerts came from the campaign's mix, not the model; the model stays, the monitor watches")
    return {"alerts": len(alerts), "incidents": incidents, "windows_closed": run["windows_closed"]}


def _traffic(reg: Any, key: str, test: pd.DataFrame) -> None:
    """Send the deployment 510 decisions through its guarded endpoint (in this process): 250 like the holdout,
    then 260 from the branch campaign of larger loans over longer terms."""
    with warnings.catch_warnings():  # starlette's notice about its httpx client is not the demo's business
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from steward.web import create_app

    cols = COLLECTIONS_FEATURES + list(GERMAN_PROTECTED)
    normal = test[cols].head(250)
    campaign = test[cols].sample(260, random_state=3).reset_index(drop=True)
    campaign["credit_amount"] = (campaign["credit_amount"] * 1.7).round().clip(upper=18000)
    campaign["duration_months"] = (campaign["duration_months"] + 12).clip(upper=72)
    rows = json.loads(pd.concat([normal, campaign], ignore_index=True).to_json(orient="records"))
    for i, row in enumerate(rows):
        row["subject_id"] = f"account-{i:04d}"
    with TestClient(create_app(reg)) as c:
        for start in range(0, len(rows), 100):
            r = c.post("/api/deployments/collections-queue/predict", json={"rows": rows[start:start + 100]},
                       headers={"X-API-Key": key})
            if r.status_code != 200:
                raise RuntimeError(f"the collections endpoint answered {r.status_code}: {r.text[:300]}")


def _scorecard(reg: Any, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Failing: an old logistic scorecard (age and personal status among its inputs), audited in CI, where the
    gate fails it; the validator rejected it."""
    name, dev = "credit-scorecard", "Priya Natarajan"
    tier = _register(reg, name, "Credit risk", dev, "Approves or declines personal loan applications", "credit",
                     {"people_affected": 20000, "decisions_per_day": 60, "human_review": False,
                      "wrong_decision_cost": "high"})
    reg.register_version(name, "3.2", actor=dev)
    features = COLLECTIONS_FEATURES + ["age_years", "personal_status_sex", "foreign_worker"]
    data = test.assign(score=_logistic_scores(train, test, features, "good"))
    card = _card("Personal loan scorecard", "Credit risk", "Approving personal loans up to 20,000 DM",
                 "Business lending", "Statlog German credit, 700 loans")
    result = _audit(reg, data, tier, card, label="good", score="score", threshold=0.6, favourable=1,
                    protected=GERMAN_PROTECTED)
    reg.record_audit(name, "3.2", result, actor="credit-risk-ci", context=_ci(9120577, "example-bank/scorecard"))
    reg.sign_off(name, "3.2", role="validator", decision="reject", actor="Grace Okafor",
                 comment="Age and personal status are inputs; the gate fails the audit and the model cannot be probed. "
                         "Retrain without them and audit with the model")


def _overdraft(reg: Any, train: pd.DataFrame, test: pd.DataFrame) -> int:
    """Overdue: audited 125 days ago; the high-risk tier asks for an audit every 90 days."""
    name, dev = "overdraft-limit", "Dan Okoro"
    tier = _register(reg, name, "Credit risk", dev, "Sets the overdraft limit offered with a current account",
                     "credit", {"people_affected": 12000, "decisions_per_day": 30, "human_review": False,
                              "wrong_decision_cost": "medium"})
    reg.register_version(name, "1.4", actor=dev)
    features = ["checking_status", "savings", "duration_months", "credit_amount", "existing_credits", "job"]
    data = test.assign(score=_logistic_scores(train, test, features, "good"))
    card = _card("Overdraft limit", "Credit risk", "Setting overdraft limits", "Loans", "Statlog German credit",
                 complete=False)  # the card lacks its ethical considerations and caveats: the audit says so
    result = _audit(reg, data, tier, card, label="good", score="score", threshold=0.55, favourable=1,
                    protected=GERMAN_PROTECTED)
    reg.record_audit(name, "1.4", result, actor=dev)
    return _backdate_model(reg, name, registered=200, audited=125)


def _violent(reg: Any) -> int:
    """An incident past its response time: opened three days ago (high; the high-risk tier gives 24 hours)."""
    from sqlalchemy import select

    from steward.datasets import load_compas
    from steward.governance._tables import Incident, IncidentEntry

    name, dev = "violent-recidivism", "Marcus Reid"
    tier = _register(reg, name, "Justice analytics", dev,
                     "The vendor's violent-recidivism score, shown to pretrial officers", "criminal_justice",
                     {"people_affected": 7000, "decisions_per_day": 20, "human_review": True,
                      "wrong_decision_cost": "high"})
    reg.register_version(name, "2.0", actor=dev)
    card = _card("Violent recidivism score (COMPAS)", "Justice analytics",
                 "Informing pretrial supervision levels; an officer decides", "Sentencing",
                 "ProPublica's Broward County file, 2013-2014")
    result = _audit(reg, load_compas(), tier, card, label="is_violent_recid", score="v_decile_score", threshold=5,
                    favourable=0, protected={"race": "Caucasian", "sex": "Male"})
    reg.record_audit(name, "2.0", result, actor=dev)
    inc = reg.open_incident(name, version="2.0", severity="high", actor="Grace Okafor",
                            title="Public defender's complaint: violent-risk flags driven by juvenile records",
                            description="Three defendants with only juvenile misdemeanours were rated high violent risk "
                                        "and held; the office asks how the score weighs juvenile records.")
    n = _backdate_model(reg, name, registered=60, audited=50)
    with reg.tx() as s:
        entries = list(s.execute(select(IncidentEntry.id).where(IncidentEntry.incident_id == inc["id"])).scalars())
    opened = _ago(days=3)
    return n + backdate(reg, f"incident:{inc['id']}", [(Incident, inc["id"], opened)] +
                        [(IncidentEntry, e, opened) for e in entries],
                        "the demo organisation's history: an incident opened three days before the demo")


def _wealth(reg: Any) -> dict[str, Any]:
    """An acceptance expiring within 30 days: a data broker's propensity score, whose model cannot be probed;
    the executive accepted every check that cannot be evidenced until the broker contract's review."""
    from steward.datasets import load_adult

    name, dev = "wealth-seminar-leads", "Lena Fischer"
    tier = _register(reg, name, "Marketing analytics", dev,
                     "Chooses which customers are invited to a wealth-management seminar, from a data broker's score",
                     "marketing", {"people_affected": 800, "decisions_per_day": 50, "human_review": True,
                                   "wrong_decision_cost": "low"})
    reg.register_version(name, "2026.10", actor=dev)
    train, test = load_adult("train", dropna=True), load_adult("test", dropna=True)
    numbers = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    train["rich"] = (train["income"] == ">50K").astype(int)
    data = test.assign(broker_score=_logistic_scores(train, test, numbers, "rich"))
    card = _card("Wealth seminar leads", "Marketing analytics", "Inviting customers to a free seminar",
                 "Any decision about credit or accounts", "The broker's; UCI Adult census extract stands in for it")
    result = _audit(reg, data, tier, card, label="income", positive_label=">50K", score="broker_score", threshold=0.5,
                    favourable=1, protected={"sex": "Male", "race": "White"})
    run = reg.record_audit(name, "2026.10", result, actor=dev)
    blocking = sorted({f["check"] for f in reg.audit_run(run["id"])["findings"]
                       if f["status"] in ("fail", "not_evidenced")})
    until = (date.today() + timedelta(days=21)).isoformat()
    for check in blocking:
        reg.accept(name, "2026.10", check=check, until=until, actor="Helen Carter",
                   reason="The broker does not let us run its model; an invitation to a seminar has no legal effect. "
                          "Accepted until the contract review, when the broker must provide the model for testing")
    reg.approve(name, "2026.10", actor=dev)
    return {"accepted": blocking, "until": until}


def _law(reg: Any, law: pd.DataFrame) -> None:
    """Failing on adverse impact: an admissions index (Sander's, from LSAT and GPA) ranks applicants."""
    name, dev = "law-admissions-index", "Marcus Reid"
    tier = _register(reg, name, "Justice analytics", dev,
                     "Ranks law school applicants for the admissions committee (index of LSAT and GPA)", "education",
                     {"people_affected": 21790, "decisions_per_day": 200, "human_review": True,
                      "wrong_decision_cost": "high"})
    reg.register_version(name, "1.0", actor=dev)
    card = _card("Law admissions index", "Justice analytics", "Ordering applications for the committee",
                 "Final admission decisions", "LSAC bar passage study, 21,790 students (Kusner et al.)")
    result = _audit(reg, law, tier, card, label="first_pf", score="sander_index", threshold=0.7, favourable=1,
                    protected={"race": "White", "sex": "male"})
    reg.record_audit(name, "1.0", result, actor=dev)


def _demo_models(reg: Any) -> list[str]:
    """The demo's own models, when there: owner teams, and the savings monitor's alerts acknowledged."""
    names = {m["name"] for m in reg.models()}
    done = []
    for model, team in (("compas-recidivism", "Justice analytics"), ("adult-savings", "Marketing analytics")):
        if model in names:
            reg.set_model_team(model, team, actor=ACTOR)
            done.append(model)
    if any(m["name"] == "savings-watch" for m in reg.monitors()):
        # Every alert of the savings monitor is acknowledged (none is left open on purpose): the console then
        # shows adult-savings held back only by what its own records say.
        for a in reg.monitor("savings-watch")["alerts"]:
            if a["acknowledged_at"] is None:
                reg.acknowledge_alert(a["id"], actor="Lena Fischer", note=(
                    f"{a['signal']} on {a['subject']}: the first decisions were the demo's test traffic; watching "
                    f"the next windows before changing anything"))
    return done


def seed(reg: Any, work: Path) -> dict[str, Any]:
    """Add the organisation to ``reg`` (a :class:`steward.governance.Registry`), writing model files to ``work``.

    Returns ``{"keys": {person: api_key}, "teams": [...], "models": [...], "governance": person,
    "backdated": rows, "skipped": [...], "seconds": wall time}``. Raises ``RuntimeError`` when the trail does
    not verify afterwards."""
    started = time.monotonic()
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    keys = _people(reg)
    train, test = german()
    collections = _collections(reg, work, train, test, keys)
    _scorecard(reg, train, test)
    backdated = _overdraft(reg, train, test)
    backdated += _violent(reg)
    wealth = _wealth(reg)
    skipped = []
    law = law_school()
    if law is not None:
        _law(reg, law)
        backdated += _backdate_model(reg, "law-admissions-index", registered=30)
    else:
        skipped.append(f"law-admissions-index: no law school data at {LAW_SCHOOL[1]}; set {LAW_SCHOOL[0]} to the path "
                       f"of law_data.csv to add it")
    # registered months ago, audited today: the adoption trend has a past
    backdated += _backdate_model(reg, "collections-priority", registered=75)
    backdated += _backdate_model(reg, "credit-scorecard", registered=100)
    backdated += _backdate_model(reg, "wealth-seminar-leads", registered=20)
    demo = _demo_models(reg)
    report = reg.verify_trail()
    if not report.ok:
        raise RuntimeError("the trail does not verify after seeding: " + "; ".join(report.problems[:5]))
    models = [m["name"] for m in reg.models()]
    return {"keys": keys, "teams": [t for t, _, _ in TEAMS], "models": models, "governance": GOVERNANCE,
            "collections": collections, "wealth": wealth, "demo_models": demo, "backdated": backdated,
            "skipped": skipped, "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str]) -> int:
    from steward.governance import Registry

    if "STEWARD_DATABASE_URL" not in os.environ:
        print("STEWARD_DATABASE_URL is not set: set it to the registry to seed (e.g. sqlite:///.steward/demo.db)",
              file=sys.stderr)
        return 2
    work = Path(argv[1]) if len(argv) > 1 else Path(".steward/demo/org")
    reg = Registry(os.environ["STEWARD_DATABASE_URL"])
    try:
        out = seed(reg, work)
        report = reg.standards()
    finally:
        reg.close()
    print(f"seeded {len(out['teams'])} teams, {len(out['keys'])} keys and {len(out['models'])} models in "
          f"{out['seconds']} s; {out['backdated']} records backdated (trail entries demo.backdate); trail verified")
    for t in report["teams"]:
        print(f"  {t['team'] or '(no team)'} <{t['contact'] or '-'}>: {t['models']} model{'' if t['models'] == 1 else 's'}, "
              f"{t['falls_short']} falling short; members: {', '.join(t['members']) or '-'}")
    for m in report["models"]:
        short = [r["rule"] for r in m["rules"] if r["status"] == "falls_short"]
        soon = [r["rule"] for r in m["rules"] if r["status"] == "due_soon"]
        print(f"  {m['model']:<22} {m['team'] or '-':<20} {m['status']:<12}"
              + (f" falls short: {', '.join(short)}" if short else "") + (f" due soon: {', '.join(soon)}" if soon else ""))
    for line in out["skipped"]:
        print(f"  skipped {line}")
    print(f"The central team's key ({out['governance']}, role governance, read-only):\n{out['keys'][out['governance']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
