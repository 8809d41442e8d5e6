"""How long the standards console takes over a large organisation, against the floor of reading its records.

A registry (SQLite file, or PostgreSQL with --postgres) is filled in bulk with a synthetic organisation: per
model one risk assessment, 3 versions with 2 audits each (a stored report of ~250 KB: HTML, JSON and model
card, as real audits have), 2 sign-offs per audit, a deployment, a monitor with 30 judged windows and 3
alerts, 2 incidents with their timeline, 20 review items and 2 appeals. Then it times, in one run:

- the floor: reading, with plain SQL, every column the rules need from every table (no Python objects);
- ``Registry.standards()`` (10 rules and 8 practices per model, the adoption trend at 6 dates).

    .venv/bin/python bench/standards.py --models 1000            # SQLite
    .venv/bin/python bench/standards.py --models 1000 --postgres # PostgreSQL at 127.0.0.1:5432

The bulk load writes straight into the tables (it is not what is measured), so the trail does not cover these
rows; the console does not read the trail.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, exclusive, load  # noqa: E402

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
# The columns the rules and practices read, table by table: the floor reads exactly these.
NEEDED = {
    "teams": "id, name, contact", "team_members": "team_id, principal_id", "principals": "id, name",
    "models": "id, name, owner, team_id, created_at", "risk_assessments": "id, model_id, answers, tier, policy_sha256, created_at",
    "versions": "id, model_id, version, status, approved_at, approved_by, registered_by, created_at",
    "audit_runs": "id, version_id, policy_sha256, policy_version, tier, passed, findings, context, created_by, created_at",
    "sign_offs": "id, version_id, audit_run_id, role, person, decision, created_at",
    "acceptances": "id, version_id, audit_run_id, check_name, until, created_at",
    "deployments": "id, name, version_id, guard, replaced_at, killed, created_at",
    "monitors": "id, name, deployment, model_id, settings, last_run_at, created_at",
    "monitor_windows": "monitor_id, key, result, updated_at",
    "monitor_alerts": "id, monitor_id, signal, severity, acknowledged_at, created_at",
    "incidents": "id, model_id, severity, created_at", "incident_entries": "incident_id, status_change, created_at",
    "review_items": "id, deployment_id, status, due_at, created_at", "review_decisions": "review_item_id, created_at",
    "appeals": "id, prediction_id, due_at, decided_at, created_at", "policies": "sha256, created_at",
}
FINDINGS = [{"id": f"{c}:x", "check": c, "status": s, "severity": "fail"} for c, s in
            [("adverse_impact_ratio", "pass"), ("false_positive_rate_ratio", "pass"), ("model_card", "pass"),
             ("reason_codes", "pass"), ("membership_inference", "pass"), ("slices", "fail")] * 3]
SIGNALS = [{"signal": s, "subject": f"g{i}", "value": 0.9, "threshold": 0.8, "breach": False, "measures": {}}
           for i, s in enumerate(["fairness"] * 8 + ["feature_drift"] * 12)]


def fill(reg, n_models: int, seed: int = 0) -> int:
    """Bulk insert the synthetic organisation; the number of rows written."""
    from sqlalchemy import insert

    from steward.governance import _tables as T

    rnd = random.Random(seed)
    policy = reg.policy
    big_html = "<p>" + "x" * 200_000 + "</p>"
    big_json = json.dumps({"cells": ["y" * 100] * 500})
    rows = 0
    t0 = NOW - timedelta(days=400)
    with reg.engine.begin() as conn:
        conn.execute(insert(T.Principal), [{"name": f"person-{i}", "roles": ["developer"], "created_at": t0,
                                            "disabled": False} for i in range(50)])
        conn.execute(insert(T.Team), [{"name": f"team-{i}", "contact": f"t{i}@x", "description": "", "created_by": "b",
                                       "created_at": t0} for i in range(10)])
        conn.execute(insert(T.TeamMember), [{"team_id": i % 10 + 1, "principal_id": i + 1, "added_by": "b",
                                             "created_at": t0} for i in range(50)])
        for start in range(0, n_models, 100):
            ids = range(start + 1, min(start + 100, n_models) + 1)
            conn.execute(insert(T.Model), [{"id": i, "name": f"model-{i}", "purpose": "", "domain": "credit",
                                            "owner": "o", "accountable_executive": "e", "status": "approved",
                                            "team_id": i % 10 + 1, "created_at": t0, "updated_at": t0} for i in ids])
            conn.execute(insert(T.RiskAssessment), [{"model_id": i, "answers": {"domain": "credit", "people_affected": 10,
                         "decisions_per_day": 1, "human_review": True, "wrong_decision_cost": "high"}, "tier": "high",
                         "tier_reason": "r", "policy_name": policy.name, "policy_version": policy.version,
                         "policy_sha256": policy.sha256, "assessed_by": "a", "created_at": t0} for i in ids])
            versions, audits, signs, deps, mons, wins, alerts, incs, entries, items = ([] for _ in range(10))
            for i in ids:
                for k in range(3):
                    vid = (i - 1) * 3 + k + 1
                    when = t0 + timedelta(days=100 * k + rnd.randint(0, 20))
                    versions.append({"id": vid, "model_id": i, "version": str(k), "environment": {}, "seeds": {},
                                     "status": "approved" if k == 2 else "superseded", "approved_at": when,
                                     "approved_by": "v", "registered_by": "dev", "created_at": when})
                    for j in range(2):
                        aid = (vid - 1) * 2 + j + 1
                        audits.append({"id": aid, "version_id": vid, "policy_name": policy.name,
                                       "policy_version": policy.version, "policy_sha256": policy.sha256, "tier": "high",
                                       "passed": j == 1, "n_fail": 0, "n_warn": 0, "n_not_evidenced": 0,
                                       "findings": FINDINGS, "report_json": big_json, "report_html": big_html,
                                       "model_card": "# card", "created_by": "dev", "created_at": when + timedelta(days=j),
                                       "context": {"ci": {"service": "github-actions", "run": "1", "url": None},
                                                   "gate": True, "command": "steward audit"}})
                        signs += [{"version_id": vid, "audit_run_id": aid, "role": r, "person": p, "decision": "approve",
                                   "comment": "", "recorded_by": p, "created_at": when + timedelta(days=2)}
                                  for r, p in (("validator", f"person-{i % 50}"), ("executive", "exec"))]
                vid = (i - 1) * 3 + 3
                deps.append({"id": i, "name": f"dep-{i}", "version_id": vid, "guard": {"review": {"band": 0.05},
                             "reasons": {"count": 4}, "appeals": {"decide_within_days": 30}}, "status": "active",
                             "killed": False, "kill_reason": "", "created_by": "op", "created_at": NOW - timedelta(days=150)})
                mons.append({"id": i, "name": f"mon-{i}", "deployment": f"dep-{i}", "model_id": i, "source": {},
                             "reference": {}, "settings": {}, "state": {}, "watermark": {}, "created_by": "op",
                             "created_at": NOW - timedelta(days=150), "last_run_at": NOW - timedelta(hours=rnd.randint(1, 80))})
                wins += [{"monitor_id": i, "key": f"2026-11-{d:02d}", "rows": 500, "closed": True, "stats": {"n": 1},
                          "result": {"signals": SIGNALS}, "updated_at": NOW - timedelta(days=30 - d)} for d in range(1, 31)]
                alerts += [{"monitor_id": i, "window": "2026-11-01", "signal": "fairness", "subject": "g", "severity": "high",
                            "evidence": {}, "created_at": NOW - timedelta(days=d),
                            "acknowledged_at": NOW - timedelta(days=d) + timedelta(hours=2) if d != 1 else None}
                           for d in (1, 5, 9)]
                for k in range(2):
                    iid = (i - 1) * 2 + k + 1
                    opened = NOW - timedelta(days=rnd.randint(1, 60))
                    incs.append({"id": iid, "model_id": i, "title": "t", "severity": rnd.choice(["low", "high"]),
                                 "status": "contained", "description": "", "checklist": [], "opened_by": "op",
                                 "created_at": opened, "updated_at": opened})
                    entries += [{"incident_id": iid, "author": "op", "text": s, "status_change": s,
                                 "created_at": opened + timedelta(hours=h)} for s, h in (("open", 0), ("contained", 3))]
            for table, batch in ((T.Version, versions), (T.AuditRun, audits), (T.SignOff, signs), (T.Deployment, deps),
                                 (T.MonitorRow, mons), (T.MonitorWindow, wins), (T.MonitorAlert, alerts),
                                 (T.Incident, incs), (T.IncidentEntry, entries)):
                conn.execute(insert(table), batch)
                rows += len(batch)
            preds = [{"id": uuid.uuid4().hex, "deployment_id": i, "version_id": (i - 1) * 3 + 3, "key_id": "k",
                      "inputs_sha256": "0" * 64, "route": "review", "flags": [], "reasons": [], "detail": {},
                      "created_at": NOW - timedelta(days=1)} for i in ids for _ in range(20)]
            conn.execute(insert(T.Prediction), preds)
            conn.execute(insert(T.ReviewItem), [{"prediction_id": p["id"], "deployment_id": p["deployment_id"],
                                                 "why": [], "reasons": [], "status": "open", "kind": "decision",
                                                 "created_at": p["created_at"], "due_at": NOW + timedelta(hours=30)}
                                                for p in preds])
            conn.execute(insert(T.Appeal), [{"prediction_id": p["id"], "statement": "s", "status": "open", "filed_by": "app",
                                             "due_at": NOW + timedelta(days=20), "created_at": p["created_at"],
                                             "outcome_reason": ""} for p in preds[::10]])
            rows += len(preds) * 2 + len(preds) // 10
    return rows


JSON_COLUMNS = {"answers", "findings", "context", "guard", "settings", "result"}


def floor(reg) -> float:
    """Read every needed column with plain SQL; JSON columns as text (psycopg would otherwise decode them)."""
    from sqlalchemy import text

    t = time.perf_counter()
    with reg.engine.connect() as conn:
        for table, cols in NEEDED.items():
            names = [c.strip() for c in cols.split(",")]
            listed = ", ".join(f"CAST({c} AS TEXT)" if c in JSON_COLUMNS else c for c in names)
            conn.execute(text(f"SELECT {listed} FROM {table}")).fetchall()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    console = Console(stderr=True)
    from steward.governance import Registry

    with exclusive(console), tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            import psycopg

            name = f"steward_bench_{uuid.uuid4().hex[:8]}"
            admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
            admin.execute(f'CREATE DATABASE "{name}"')
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        else:
            url = f"sqlite:///{tmp}/bench.db"
        reg = Registry(url, trail_key=b"k" * 32)
        try:
            console.print(f"filling {args.models:,} models ...")
            t = time.perf_counter()
            rows = fill(reg, args.models)
            console.print(f"  {rows:,} rows in {time.perf_counter() - t:.1f} s; load {load()}")
            floors, ours = [], []
            for _ in range(args.repeat):
                floors.append(floor(reg))
                t = time.perf_counter()
                report = reg.standards(at=NOW)
                ours.append(time.perf_counter() - t)
            assert report["summary"]["models"] == args.models
            f, o = min(floors), min(ours)
            print(json.dumps({"engine": "postgresql" if args.postgres else "sqlite", "models": args.models,
                              "rows": rows, "floor_seconds": round(f, 3), "standards_seconds": round(o, 3),
                              "ratio": round(o / f, 2), "shortfalls": report["summary"]["shortfalls"],
                              "cpu": cpu_model(), "load": load()}))
        finally:
            reg.close()
            if args.postgres:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
