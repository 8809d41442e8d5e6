"""A registry for the humans-in-the-loop tests: ``credit`` 0.8 and 1.0 approved (as in
``tests/serving/_setup.py``) with card info (contact, wording) on their audits, and a caller key scoped to
the deployments these tests create. Decisions are sent in-process through the guarded endpoint
(FastAPI's TestClient), so each is logged exactly as in production."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steward

from steward.governance import Registry
from tests.serving import _setup
from tests.serving._setup import guard_settings, populate, rows_of, serving_policy, train_models

CARD = {"model": {"name": "Credit pre-screen", "owner": "Ana Owner", "contact": "appeals@example.org"},
        "wording": {"people": "applicants", "favourable": "offered credit", "unfavourable": "not offered credit"}}
DEPLOYMENTS = ["credit-notice", "credit-other", "credit-humans", "credit-even"]
REVIEWER = "Rita Reviewer"


@dataclass
class Env:
    path: Path
    reg: Registry
    policy: Any
    keys: dict[str, str]
    rows: list[dict[str, Any]]


def _audit_with_card(policy: Any) -> Any:
    """``_setup._rules_audit`` with the card info, so the stored report carries the wording and the contact."""
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({"team": rng.choice(["north", "south"], size=n), "y": rng.integers(0, 2, size=n),
                       "d": rng.integers(0, 2, size=n), "age_days": rng.integers(0, 30, size=n),
                       "words": rng.integers(5, 400, size=n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        result = steward.audit(df, label="y", prediction="d", favourable=1, protected={"team": "north"},
                               features=["age_days", "words"], policy=policy, tier="low", card_info=CARD)
    assert result.passed, [f for f in result.findings if f.status in ("fail", "not_evidenced")]
    return result


def build(folder: Path, url: str | None = None) -> Env:
    """Train, register, audit (with card info), approve; keys by role plus ``app`` (caller of DEPLOYMENTS)
    and ``other`` (a caller of credit-other only)."""
    policy = serving_policy(folder)
    models = train_models(folder / "models")
    path = folder / "steward.db"
    reg = Registry(url or f"sqlite:///{path}", policy=policy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_setup, "_rules_audit", _audit_with_card)
        keys = populate(reg, models, policy)
    keys["app"] = reg.create_key("humans-app", ["caller"], actor="setup", deployments=DEPLOYMENTS)["key"]
    keys["other"] = reg.create_key("other-app", ["caller"], actor="setup", deployments=["credit-other"])["key"]
    keys["reviewer"] = reg.create_key(REVIEWER, ["reviewer"], actor="setup")["key"]
    keys["reviewer2"] = reg.create_key("Rob Reviewer", ["reviewer"], actor="setup")["key"]
    return Env(path, reg, policy, keys, rows_of(models.test))


def deploy(env: Env, name: str, **guard: Any) -> None:
    env.reg.deploy(name, "credit:1.0", actor="Olga Operator", guard=guard_settings(**guard))


def send(client: Any, env: Env, name: str, rows: list[dict[str, Any]], key: str = "app") -> list[dict[str, Any]]:
    """Each row's answer from the guarded endpoint (in batches of 100)."""
    out = []
    for i in range(0, len(rows), 100):
        r = client.post(f"/api/deployments/{name}/predict", json={"rows": rows[i:i + 100]},
                        headers={"X-API-Key": env.keys[key]})
        assert r.status_code == 200, r.text
        out += r.json()["results"]
    return out
