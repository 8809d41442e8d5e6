"""A registry whose deployment sends many decisions to a person's review, with two reviewers, for the review
pages' tests.

Built once per session from the deployment pages' registry (:mod:`tests.web._deployed`): ``credit-live`` is
deployed again with a review band of 0.3 around the threshold (scores from 0.2 to 0.8 go to a person) and a
second reviewer for turning an adverse decision favourable, and 20 more decisions are sent through it. The
database file is copied for each test.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steward.governance import Registry
from tests.serving._setup import guard_settings
from tests.web._deployed import DEPLOYMENT, OPERATOR, deployed, predict  # noqa: F401

REVIEWER, SECOND = "Rita Reviewer", "Sam Second"


@dataclass
class Reviewed:
    path: Path
    policy: Any
    keys: dict[str, str]


@pytest.fixture(scope="session")
def reviewed(deployed, tmp_path_factory) -> Reviewed:  # noqa: F811 - deployed: the fixture
    from fastapi.testclient import TestClient

    from steward.web import create_app

    path = tmp_path_factory.mktemp("reviewed") / "steward.db"
    shutil.copyfile(deployed.path, path)
    shutil.copy(f"{deployed.path}.trail-key", f"{path}.trail-key")
    reg = Registry(f"sqlite:///{path}", policy=deployed.policy)
    keys = dict(deployed.keys)
    keys["reviewer"] = reg.create_key(REVIEWER, ["reviewer"], actor="setup")["key"]
    keys["second"] = reg.create_key(SECOND, ["reviewer"], actor="setup")["key"]
    guard = guard_settings(review={"band": 0.3, "second_reviewer": True, "benchmark_disagreement": "review"})
    reg.deploy(DEPLOYMENT, "credit:1.0", actor=OPERATOR, backup="credit:0.8", benchmark="credit:0.9", guard=guard)
    with TestClient(create_app(reg)) as c:
        predict(c, keys["caller"], deployed.test_rows[40:60])
    reg.close()
    return Reviewed(path, deployed.policy, keys)


@pytest.fixture()
def rev_registry(reviewed, tmp_path) -> Registry:
    """A registry of its own for each test, copied from the session's one."""
    path = tmp_path / "steward.db"
    shutil.copyfile(reviewed.path, path)
    shutil.copy(f"{reviewed.path}.trail-key", f"{path}.trail-key")
    reg = Registry(f"sqlite:///{path}", policy=reviewed.policy)
    yield reg
    reg.close()


@pytest.fixture()
def rev_client(rev_registry):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    with TestClient(create_app(rev_registry)) as c:
        yield c


def item_where(reg: Registry, model_decision: int) -> dict[str, Any]:
    """The oldest open decision item whose model decided ``model_decision`` (the interim answer is adverse, 0)."""
    for q in reg.review_queue(deployment=DEPLOYMENT):
        if q["kind"] != "decision":
            continue
        item = reg.review_item(q["id"])
        if item["prediction"]["detail"].get("model_decision") == model_decision:
            return item
    raise AssertionError(f"no open item whose model decided {model_decision}")
