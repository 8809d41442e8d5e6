"""Fixtures of the guarded-serving tests: the models (trained once per session) and, per module and per
database (SQLite, PostgreSQL), one registry populated by ``_setup.populate`` behind one real server."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import steward
from tests.serving._setup import Models, ServerThread, guard_settings, populate, serving_policy, train_models

# Every deployment the tests create; the key "app" (role caller) is scoped to all of them.
DEPLOYMENTS = ["credit-live", "credit-throttle", "credit-valid", "credit-kill", "credit-kill-fav", "credit-screen",
               "credit-sticky", "credit-backup", "credit-nobackup", "credit-bench-review", "credit-bench-take",
               "credit-band", "credit-reasons", "credit-fast", "credit-log", "credit-hash", "credit-redeploy",
               "credit-lapse", "credit-signoff", "credit-nowhere"]


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Models:
    return train_models(tmp_path_factory.mktemp("serving-models"))


@pytest.fixture(scope="session")
def policy(tmp_path_factory) -> steward.Policy:
    """The serving tests' policy, whose medium tier asks for a validator's sign-off but otherwise asks
    what the low tier asks (so a rules-only audit passes it): a validator's rejection can revoke an approval."""
    folder = tmp_path_factory.mktemp("serving-policy")
    serving_policy(folder)
    doc = yaml.safe_load((folder / "serving-policy.yaml").read_text(encoding="utf-8"))
    doc["policy"]["version"] += "-signoff"
    doc["tiers"]["medium"]["checks"] = {**doc["tiers"]["medium"].get("checks", {}),
                                        **doc["tiers"]["low"]["checks"]}
    assert doc["tiers"]["medium"]["sign_off"] == ["validator"]
    path = folder / "serving-policy-signoff.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return steward.load_policy(path)


@dataclass
class Served:
    """One registry behind one real server on loopback."""

    db: str
    reg: Any
    url: str
    keys: dict[str, str]
    key_ids: dict[str, str]
    models: Models
    policy: steward.Policy
    folder: Path
    app: Any = field(repr=False, default=None)
    http: httpx.Client = field(repr=False, default=None)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def predict(self, name: str, *, row: Any = None, rows: Any = None, who: str = "app",
                content: bytes | None = None) -> httpx.Response:
        url = f"/api/deployments/{name}/predict"
        headers = self.auth(who) if who else {}
        if content is not None:
            return self.http.post(url, content=content, headers={**headers, "Content-Type": "application/json"})
        return self.http.post(url, json={"row": row} if rows is None else {"rows": rows}, headers=headers)

    def get(self, path: str, who: str = "viewer", **params: Any) -> httpx.Response:
        return self.http.get(path, headers=self.auth(who), params=params or None)

    def post(self, path: str, body: Any = None, who: str = "operator") -> httpx.Response:
        return self.http.post(path, json=body, headers=self.auth(who))


@contextlib.contextmanager
def _database(kind: str, folder: Path):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'registry.db'}"
    else:
        from tests.governance.conftest import fresh_postgres

        with fresh_postgres() as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, models, policy, tmp_path_factory):
    from steward.governance import Registry
    from steward.web.app import create_app

    folder = tmp_path_factory.mktemp(f"served-{request.param}")
    with pytest.MonkeyPatch.context() as mp, _database(request.param, folder) as url:
        mp.delenv("STEWARD_REDIS_URL", raising=False)  # each server keeps the guard's state in memory
        reg = Registry(url, policy=policy)
        keys = populate(reg, models, policy)
        key_ids = {}
        for who, (name, deployments) in {"app": ("test-app", DEPLOYMENTS), "app2": ("second-app", ["credit-screen"]),
                                         "elsewhere": ("other-app", ["somewhere-else"])}.items():
            made = reg.create_key(name, ["caller"], actor="setup", deployments=deployments)
            keys[who], key_ids[who] = made["key"], made["key_id"]
        made = reg.create_key("Eve Executive", ["executive"], actor="setup")
        keys["executive"], key_ids["executive"] = made["key"], made["key_id"]
        reg.deploy("credit-live", "credit:1.0", backup="credit:0.8", benchmark="credit:0.9", guard=guard_settings(),
                   actor="Olga Operator")
        app = create_app(reg)
        srv = ServerThread(app)
        env = Served(request.param, reg, srv.url, keys, key_ids, models, policy, folder, app)
        env.http = httpx.Client(base_url=srv.url, timeout=30)
        try:
            yield env
        finally:
            env.http.close()
            srv.stop()
            reg.engine.dispose()
