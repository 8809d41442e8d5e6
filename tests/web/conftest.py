"""A registry on a SQLite file with two models, people in every role, and helpers to log in.

The audits take seconds to build (the HTML report draws its charts), so they are built once per
session and the populated database file is copied for each test: every test gets its own registry.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import steward

pytest.importorskip("fastapi", reason="the web pages need the server extra: pip install 'steward[server]'")

from fastapi.testclient import TestClient  # noqa: E402

from steward.audit.policy import default_policy_path  # noqa: E402
from steward.governance import Registry  # noqa: E402
from steward.web import create_app  # noqa: E402

MODEL = "compas-recidivism"  # high risk, latest audit fails
LOW = "triage-helper"  # low risk, latest audit passes, no sign-off needed

PEOPLE = {
    "viewer": ("Victor Viewer", ["viewer"]),
    "validator": ("Vera Validator", ["validator"]),
    "executive": ("Eve Executive", ["executive"]),
    "developer": ("Dev Developer", ["developer"]),
    "operator": ("Olga Operator", ["operator"]),
    "admin": ("Ada Admin", ["admin"]),
}

HIGH_RISK = dict(domain="criminal_justice", people_affected=10000, decisions_per_day=30, human_review=True,
                 wrong_decision_cost="high")
LOW_RISK = dict(domain="operations", people_affected=200, decisions_per_day=10, human_review=True,
                wrong_decision_cost="low")

# The low tier's checks that need what the triage helper does not have (a model, its scores, a
# previous version, declared scenarios): optional in the web tests' policy, so its audit can pass.
# Everything else is the default policy (COMPAS is held to its high tier unchanged).
LOW_TIER_OPTIONAL = ("standardized_mean_difference", "benchmark", "residual_concentration", "prediction_churn",
                     "reason_codes", "monotonicity", "explanation_stability", "flip_test", "stress_scenarios",
                     "adversarial_robustness", "membership_inference", "attribute_inference",
                     "extraction_resistance")


@dataclass
class AuditReports:
    """An audit's three outputs, as ``Registry.record_audit`` stores them (built once, reused)."""

    report: dict
    report_html: str
    model_card: str

    @classmethod
    def of(cls, result) -> "AuditReports":
        return cls(result.to_dict(), result.to_html(), result.model_card())

    def record(self, reg: Registry, model: str, version: str, actor: str = "Dev Developer") -> dict:
        return reg.record_audit_report(model, version, report=self.report, report_html=self.report_html,
                                       model_card=self.model_card, actor=actor)


def _quiet_audit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        return steward.audit(data, **kw)


@pytest.fixture(scope="session")
def web_policy(tmp_path_factory) -> steward.Policy:
    """The default policy, with the checks in LOW_TIER_OPTIONAL optional in the low tier (saying why)."""
    doc = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    doc["policy"] |= {"name": "Steward default policy (web tests)", "version": doc["policy"]["version"] + "-web"}
    inherited = doc["tiers"]["high"]["checks"]
    for name in LOW_TIER_OPTIONAL:
        doc["tiers"]["low"]["checks"][name] = dict(
            inherited[name], optional=True,
            source="Optional in the low tier: a person reviews every decision, and a rules engine has no model to test")
    path = tmp_path_factory.mktemp("policy") / "web-policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return steward.load_policy(path)


@pytest.fixture(scope="session")
def compas_audit(web_policy) -> AuditReports:
    """COMPAS held to the default policy's high tier: it fails (adverse impact ratio 0.63 and more), and
    the checks that need the model are not evidenced."""
    result = _quiet_audit(steward.datasets.load_compas(), label="two_year_recid", score="decile_score", threshold=5,
                          favourable=0, protected={"race": "Caucasian", "sex": "Male"}, policy=web_policy, tier="high")
    return AuditReports.of(result)


@pytest.fixture(scope="session")
def low_tier_audit(web_policy) -> AuditReports:
    """Random decisions for two teams under the low tier, with two feature columns so the slice,
    proxy and situation tests run (their findings come from the client): nothing blocks."""
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"team": rng.choice(["north", "south"], size=n), "y": rng.integers(0, 2, size=n),
                       "d": rng.integers(0, 2, size=n), "age_days": rng.integers(0, 30, size=n),
                       "words": rng.integers(5, 400, size=n)})
    result = _quiet_audit(df, label="y", prediction="d", favourable=1, protected={"team": "north"},
                          features=["age_days", "words"], policy=web_policy, tier="low")
    assert result.passed
    return AuditReports.of(result)


@pytest.fixture(scope="session")
def populated(tmp_path_factory, web_policy, compas_audit, low_tier_audit) -> tuple[Path, dict[str, str]]:
    """The populated database file and an API key per role."""
    path = tmp_path_factory.mktemp("registry") / "steward.db"
    reg = Registry(f"sqlite:///{path}", policy=web_policy)
    keys = {role: reg.create_key(name, roles, actor="setup")["key"] for role, (name, roles) in PEOPLE.items()}
    reg.register_model(MODEL, actor="Dev Developer", purpose="Estimates the risk that a defendant reoffends",
                       domain="criminal_justice", owner="Ana Owner", accountable_executive="Eve Executive")
    reg.register_version(MODEL, "1.0", actor="Dev Developer", code_revision="4f2a9c1")
    reg.assess_risk(MODEL, HIGH_RISK, actor="Dev Developer")
    compas_audit.record(reg, MODEL, "1.0")
    reg.register_model(LOW, actor="Dev Developer", purpose="Sorts support tickets for a person to read",
                       domain="operations", owner="Bo Builder", accountable_executive="Eve Executive")
    reg.register_version(LOW, "2.3", actor="Dev Developer")
    reg.assess_risk(LOW, LOW_RISK, actor="Dev Developer")
    low_tier_audit.record(reg, LOW, "2.3")
    reg.close()  # closes SQLite's last connection, which folds the WAL into the file before it is copied
    return path, keys


@pytest.fixture()
def registry(populated, web_policy, tmp_path) -> Registry:
    """A registry of its own for each test, on a SQLite file in tmp_path."""
    path = tmp_path / "steward.db"
    shutil.copyfile(populated[0], path)
    # The trail key lives beside the database, not in it: a copy of the database needs it too.
    shutil.copy(f"{populated[0]}.trail-key", f"{path}.trail-key")  # copy keeps its mode, 0600
    reg = Registry(f"sqlite:///{path}", policy=web_policy)
    yield reg
    reg.close()


@pytest.fixture()
def keys(populated) -> dict[str, str]:
    return populated[1]


@pytest.fixture()
def client(registry) -> TestClient:
    with TestClient(create_app(registry)) as c:
        yield c


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def login(client: TestClient, key: str, next_url: str = "/") -> None:
    """Log in through the login form, as a browser does."""
    form = client.get("/login", params={"next": next_url})
    r = client.post("/login", data={"key": key, "csrf": csrf_of(form.text), "next": next_url}, follow_redirects=False)
    assert r.status_code == 303, r.text
