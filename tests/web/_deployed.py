"""A registry with a deployed, guarded model and logged decisions, for the deployment pages' tests.

Built once per session from :mod:`tests.serving._setup` (credit 1.0 deployed alone as ``credit-live``,
then replaced by credit 1.0 with 0.8 as backup and 0.9 as benchmark; decisions sent through the guarded
endpoint to both), then the database file is copied for each test, as in ``tests/web/conftest.py``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steward.governance import Registry
from tests.serving._setup import guard_settings, populate, rows_of, serving_policy, train_models

DEPLOYMENT = "credit-live"
OPERATOR, VIEWER = "Olga Operator", "Victor Viewer"


@dataclass
class Deployed:
    path: Path
    policy: Any
    keys: dict[str, str]
    test_rows: list[dict[str, Any]]


def predict(client: Any, key: str, rows: list[dict[str, Any]], name: str = DEPLOYMENT) -> list[dict[str, Any]]:
    """Send rows to the guarded endpoint (a TestClient or an httpx client) and return each row's answer."""
    r = client.post(f"/api/deployments/{name}/predict", json={"rows": rows}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()["results"]


@pytest.fixture(scope="session")
def deployed(tmp_path_factory) -> Deployed:
    from fastapi.testclient import TestClient

    from steward.web import create_app

    folder = tmp_path_factory.mktemp("deployed")
    policy = serving_policy(folder)
    models = train_models(folder / "models")
    path = folder / "steward.db"
    reg = Registry(f"sqlite:///{path}", policy=policy)
    keys = populate(reg, models, policy)
    rows = rows_of(models.test, 60)
    # disagreements with the benchmark go to a person, so the review queue has items
    guard = guard_settings(review={"benchmark_disagreement": "review"})
    reg.deploy(DEPLOYMENT, "credit:1.0", actor=OPERATOR, guard=guard)
    with TestClient(create_app(reg)) as c:
        predict(c, keys["caller"], rows[:10])
    reg.deploy(DEPLOYMENT, "credit:1.0", actor=OPERATOR, backup="credit:0.8", benchmark="credit:0.9", guard=guard)
    with TestClient(create_app(reg)) as c:  # a new server process: it reads the new deployment at once
        predict(c, keys["caller"], rows[10:40])
    reg.close()  # folds SQLite's WAL into the file before it is copied
    return Deployed(path, policy, keys, rows)


@pytest.fixture()
def dep_registry(deployed, tmp_path) -> Registry:
    """A registry of its own for each test, copied from the session's deployed one."""
    path = tmp_path / "steward.db"
    shutil.copyfile(deployed.path, path)
    shutil.copy(f"{deployed.path}.trail-key", f"{path}.trail-key")
    reg = Registry(f"sqlite:///{path}", policy=deployed.policy)
    yield reg
    reg.close()


@pytest.fixture()
def dep_client(dep_registry):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    with TestClient(create_app(dep_registry)) as c:
        yield c
