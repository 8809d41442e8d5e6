"""A registry with an approved, deployable model, and a real server on loopback: shared by the serving
tests and ``bench/serving.py``.

The model is a LightGBM classifier of Adult's income (30 trees, trained on 6,000 rows of the train split);
the backup is an earlier approved version (10 trees), the benchmark a registered but unapproved one (a
5-tree model). The model is in the low tier of the default policy with the checks a rules-only audit
cannot evidence made optional (as in the web tests), so approval needs no sign-off.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import steward

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
            "capital-gain", "capital-loss", "hours-per-week"]
PROTECTED = ["race", "sex"]
MODEL = "credit"
LOW_RISK = dict(domain="operations", people_affected=200, decisions_per_day=10, human_review=True,
                wrong_decision_cost="low")
OPTIONAL = ("standardized_mean_difference", "benchmark", "residual_concentration", "prediction_churn", "reason_codes",
            "monotonicity", "explanation_stability", "flip_test", "stress_scenarios", "adversarial_robustness",
            "membership_inference", "attribute_inference", "extraction_resistance")
REASONS = {f: f"{f.replace('-', ' ')} weighed against the application" for f in FEATURES if f not in PROTECTED}


def serving_policy(folder: Path) -> steward.Policy:
    """The default policy with the checks a rules-only audit cannot evidence optional in the low tier."""
    from steward.audit.policy import default_policy_path

    doc = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    doc["policy"] |= {"name": "Steward default policy (serving tests)", "version": doc["policy"]["version"] + "-serving"}
    for name in OPTIONAL:
        doc["tiers"]["low"]["checks"][name] = dict(doc["tiers"]["high"]["checks"][name], optional=True,
                                                   source="optional in the serving tests' low tier")
    path = folder / "serving-policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return steward.load_policy(path)


def _categories(frame: pd.DataFrame) -> pd.DataFrame:
    X = frame[FEATURES].copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("category")
    return X


@dataclass
class Models:
    folder: Path
    train: pd.DataFrame
    test: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)  # version -> model file


def train_models(folder: Path, rows: int = 6000) -> Models:
    """Three LightGBM files: 1.0 (the model), 0.8 (its backup), 0.9 (the benchmark)."""
    import lightgbm as lgb

    from steward.datasets import load_adult

    folder.mkdir(parents=True, exist_ok=True)
    train = load_adult("train", dropna=True).head(rows).reset_index(drop=True)
    test = load_adult("test", dropna=True).head(2000).reset_index(drop=True)
    y = (train["income"] == ">50K").astype(int)
    out = Models(folder, train, test)
    for version, kw in (("0.8", dict(n_estimators=10, num_leaves=8)), ("0.9", dict(n_estimators=5, num_leaves=4)),
                        ("1.0", dict(n_estimators=30))):
        model = lgb.LGBMClassifier(verbose=-1, random_state=0, **kw).fit(_categories(train), y)
        out.paths[version] = folder / f"credit-{version}.txt"
        model.booster_.save_model(str(out.paths[version]))
    return out


def _rules_audit(policy: steward.Policy):
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"team": rng.choice(["north", "south"], size=n), "y": rng.integers(0, 2, size=n),
                       "d": rng.integers(0, 2, size=n), "age_days": rng.integers(0, 30, size=n),
                       "words": rng.integers(5, 400, size=n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        result = steward.audit(df, label="y", prediction="d", favourable=1, protected={"team": "north"},
                               features=["age_days", "words"], policy=policy, tier="low")
    assert result.passed, [f for f in result.findings if f.status in ("fail", "not_evidenced")]
    return result


def populate(registry: Any, models: Models, policy: steward.Policy) -> dict[str, str]:
    """Register, audit and approve ``credit`` 0.8 and then 1.0 (0.9, the benchmark, is only registered);
    record 1.0's training profile. Returns API keys by role (``caller`` is scoped to ``credit-live``)."""
    from steward.models import file_sha256
    from steward.serving import build_profile

    people = {"developer": "Dev Developer", "operator": "Olga Operator", "admin": "Ada Admin",
              "validator": "Vera Validator", "viewer": "Victor Viewer"}
    keys = {role: registry.create_key(name, [role], actor="setup")["key"] for role, name in people.items()}
    keys["caller"] = registry.create_key("loan-app", ["caller"], actor="setup", deployments=["credit-live"])["key"]
    dev = people["developer"]
    registry.register_model(MODEL, actor=dev, purpose="Pre-screens credit applications", domain="operations",
                            owner="Ana Owner", accountable_executive="Eve Executive")
    registry.assess_risk(MODEL, LOW_RISK, actor=dev)
    audit = _rules_audit(policy)
    for version in ("0.8", "0.9", "1.0"):
        path = models.paths[version]
        registry.register_version(MODEL, version, actor=dev, artifact_uri=str(path), artifact_sha256=file_sha256(path))
        if version == "0.9":
            continue
        registry.record_audit(MODEL, version, audit, actor=dev)
        registry.approve(MODEL, version, actor=dev)
    registry.record_profile(MODEL, "1.0", build_profile(models.train, FEATURES).to_dict(), actor=dev)
    return keys


def guard_settings(**over: Any) -> dict[str, Any]:
    """Guard settings for the tests: no throttle unless asked, reasons for every non-protected feature."""
    base: dict[str, Any] = {"throttle": {"rate": 0}, "protected": PROTECTED, "reasons": {"texts": REASONS}}
    for k, v in over.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def rows_of(frame: pd.DataFrame, n: int | None = None) -> list[dict[str, Any]]:
    """Rows as a caller sends them (JSON), features only."""
    part = frame[FEATURES] if n is None else frame[FEATURES].head(n)
    return json.loads(part.to_json(orient="records", double_precision=15))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving ``app`` on loopback in a thread of this process (stop() ends it)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
