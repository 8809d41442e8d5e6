"""A version's differential-privacy record over HTTP: POST /api/models/{name}/versions stores it (SQLite and
PostgreSQL), refuses a malformed one with the one JSON error shape naming the field, the remote client and
`steward models version --server` send it to a real server, and the model page shows it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from steward.cli import cli
from steward.errors import StewardError
from steward.governance import Registry, RemoteRegistry
from steward.web import create_app
from tests.governance.conftest import fresh_postgres
from tests.governance.test_version_privacy import DELTA, EPSILONS, as_json, trained_record
from tests.web.conftest import login


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request, tmp_path):
    """An app over a registry with the model ``m``, and a developer's Authorization header."""
    def serve(url):
        reg = Registry(url)
        reg.register_model("m", actor="dev", domain="other")
        key = reg.create_key("dev", ["developer"], actor="setup")["key"]
        return reg, TestClient(create_app(reg)), {"Authorization": f"Bearer {key}"}

    if request.param == "sqlite":
        reg, client, headers = serve(f"sqlite:///{tmp_path / 'r.db'}")
        yield reg, client, headers
        reg.close()
    else:
        with fresh_postgres() as url:
            reg, client, headers = serve(url)
            yield reg, client, headers
            reg.close()


def check_shape(response, status):
    body = response.json()
    assert response.status_code == status and body == {"ok": False, "error": body["error"], "status": status}, body
    return body["error"]


def test_the_route_stores_the_record_and_gives_it_back(api):
    reg, client, headers = api
    record = dict(trained_record(), chosen_epsilon=EPSILONS[0])
    r = client.post("/api/models/m/versions", json={"version": "1", "privacy": record}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["privacy"] == as_json(record)
    assert client.get("/api/models/m/versions/1", headers=headers).json()["privacy"] == as_json(record)
    assert client.get("/api/models/m", headers=headers).json()["versions"][0]["privacy"] == as_json(record)
    (entry,) = [e for e in reg.trail(subject="version:m:1") if e["action"] == "version.register"]
    assert json.loads(entry["payload"])["privacy"] == as_json(record)
    assert reg.version("m", "1")["registered_by"] == "dev"
    r = client.post("/api/models/m/versions", json={"version": "2"}, headers=headers)
    assert r.status_code == 201 and r.json()["privacy"] is None


@pytest.mark.parametrize("change, status, message", [
    ({"delta": 1.5}, 400, "privacy.delta must be a number with 0 <= delta < 1"),
    ({"epsilons": [1.0, -4.0]}, 400, "privacy.epsilons[1] is -4.0"),
    ({"chosen_epsilon": 2.0}, 400, "privacy.chosen_epsilon is 2.0; it must be null or one of the epsilons tried: 1, 4"),
    ({"mechanism": ""}, 400, "privacy.mechanism must be non-empty text"),
    (None, 400, "privacy: Input should be a valid dictionary"),
])
def test_a_malformed_record_is_refused_with_the_field_named(api, change, status, message):
    reg, client, headers = api
    privacy = [1, 2] if change is None else {**trained_record(), **change}
    r = client.post("/api/models/m/versions", json={"version": "1", "privacy": privacy}, headers=headers)
    assert message in check_shape(r, status)
    check_shape(client.get("/api/models/m/versions/1", headers=headers), 404)
    assert [e["action"] for e in reg.trail(subject="version:m:1")] == []


# --- through a real server ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A real uvicorn server on a free loopback port, in a thread, with a developer's key."""
    from tests.serving._setup import ServerThread

    reg = Registry(f"sqlite:///{tmp_path_factory.mktemp('live') / 'r.db'}")
    reg.register_model("m", actor="dev", domain="other")
    key = reg.create_key("dev", ["developer"], actor="setup")["key"]
    server = ServerThread(create_app(reg))
    yield server.url, key, reg
    server.stop()
    reg.close()


def test_the_remote_client_sends_the_record(live):
    url, key, reg = live
    remote = RemoteRegistry(url, key)
    try:
        record = trained_record()
        assert remote.register_version("m", "r1", privacy=record)["privacy"] == as_json(record)
        assert reg.version("m", "r1")["privacy"] == as_json(record)
        assert remote.register_version("m", "r2")["privacy"] is None  # no privacy key is sent at all
        with pytest.raises(StewardError, match=r"server said \(400\): privacy.delta must be"):
            remote.register_version("m", "r3", privacy={**record, "delta": 1})
        assert "r3" not in {v["version"] for v in reg.model("m")["versions"]}
    finally:
        remote.close()


def test_models_version_with_privacy_through_a_real_server(live, tmp_path):
    url, key, reg = live
    path = tmp_path / "private_training.json"
    path.write_text(json.dumps({"epsilons": list(EPSILONS), "record": trained_record()}))
    r = CliRunner().invoke(cli, ["models", "version", "m:c1", "--privacy", str(path), "--epsilon", "4",
                                 "--server", url, "--api-key", key])
    assert r.exit_code == 0, r.output
    stored = reg.version("m", "c1")["privacy"]
    assert stored == dict(as_json(trained_record()), chosen_epsilon=4.0)
    assert f"trained with differential privacy: DP-EBM, ε = 4 (δ = {DELTA:g})" in r.output


# --- the model page -------------------------------------------------------------------------------------

def test_the_model_page_shows_how_a_version_was_trained(tmp_path):
    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        reg.register_model("m", actor="dev", domain="other")
        reg.register_version("m", "1", actor="dev")
        reg.register_version("m", "2", actor="dev", privacy=dict(trained_record(), chosen_epsilon=1.0))
        viewer = reg.create_key("Victor Viewer", ["viewer"], actor="setup")["key"]
        with TestClient(create_app(reg)) as client:
            login(client, viewer, "/models/m")
            r = client.get("/models/m")
        assert r.status_code == 200, r.text
        page = " ".join(r.text.split())
        assert f"trained with differential privacy: DP-EBM, ε = 1 (δ = {DELTA:g})" in page
        assert page.count("trained with differential privacy") == 1  # version 1 has no record
    finally:
        reg.close()
