"""Guarded serving across real server processes (``steward serve --workers N``), driven over HTTP:

* the kill switch reaches requests in flight and after, in both worker processes, within one second,
  and so does a revival;
* with ``STEWARD_REDIS_URL`` set, throttling and sticky decisions are shared by the workers (each
  request is sent on a connection whose worker is known, alternating between the two, so per-process
  state would visibly let more through and forget the sticky decision);
* durability: under load the server's whole process group is SIGKILLed mid-stream; after a restart on
  the same database, every prediction id a client received is in the log, and no logged row is half
  written (SQLite with two workers, PostgreSQL with one).

Which worker answers a keep-alive connection is read from ``/proc``: the server side of the connection
is a socket whose inode one worker holds among its file descriptors.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from tests.serving._setup import (  # noqa: E402
    free_port,
    guard_settings,
    populate,
    rows_of,
    serving_policy,
    train_models,
)

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
LIVE = "credit-live"  # the kill switch test's deployment (caller key: keys["caller"])
THROTTLED = "credit-throttle"  # rate 1 row/s, burst 5 (caller key: keys["guard"])
STICKY = "credit-sticky"  # default guard: sticky decisions for a day (caller key: keys["guard"])
ROUTES = {"model", "backup", "benchmark", "review", "kill_switch", "sticky", "refused"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
PREDICTION_ID = re.compile(r"^p[0-9a-f]{24}$")
# the trail's key, given to every Registry here and to the servers (else PostgreSQL's key file would be
# .steward/trail.key under the current folder)
TRAIL_KEY = "durability-test-trail-key-" + "0" * 32


# --- a server in a process group of its own -------------------------------------------------------


class Server:
    """``python -m steward.cli serve`` in a new session (its own process group), output to a file."""

    def __init__(self, database_url: str, policy: Path, *, workers: int, redis: str | None, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers_wanted = workers
        drop = ("STEWARD_REDIS_URL", "STEWARD_DATABASE_URL", "STEWARD_POLICY", "STEWARD_SERVE_ONLY",
                "STEWARD_TRAIL_KEY_FILE")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["STEWARD_TRAIL_KEY"] = TRAIL_KEY
        if redis:
            env["STEWARD_REDIS_URL"] = redis
        self.log = log
        self._out = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "steward.cli", "serve", "--port", str(self.port), "--database-url", database_url,
             "--policy", str(policy), "--workers", str(workers)],
            env=env, start_new_session=True, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pgid = self.proc.pid  # start_new_session: the server leads its own process group

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every worker process answers /api/health (one may answer while the other still starts)."""
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.output()}")
            try:
                with httpx.Client(base_url=self.url, timeout=2, trust_env=False) as c:
                    r = c.get("/api/health")
                    if r.status_code == 200:
                        seen.add(self.owner(client_port(r)))
            except httpx.TransportError:
                pass
            workers = self.workers()
            if len(workers) == self.workers_wanted and seen >= set(workers):
                return
            time.sleep(0.05)
        raise AssertionError(f"the server did not come up within {timeout:.0f} s:\n{self.output()}")

    def workers(self) -> list[int]:
        """The pids serving requests: the uvicorn worker processes, or the server itself with one worker."""
        if self.workers_wanted == 1:
            return [self.proc.pid]
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"spawn_main" in cmd:
                out.append(int(entry))
        return sorted(out)

    def owner(self, client_port: int) -> int | None:
        """The worker pid holding the server side of the connection from ``client_port``."""
        inode = None
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                if int(f[1].rsplit(":", 1)[1], 16) == self.port and int(f[2].rsplit(":", 1)[1], 16) == client_port:
                    inode = f[9]
                    break
            if inode:
                break
        if not inode or inode == "0":
            return None
        want = f"socket:[{inode}]"
        for pid in self.workers():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                        return pid
                except OSError:
                    continue
        return None

    def sigkill(self) -> None:
        """SIGKILL the whole process group (supervisor, workers, resource tracker) at once."""
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=15)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None or _group_alive(self.pgid):
            self.sigkill()
        self._out.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def client_port(response: Any) -> int:
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


class Pinned:
    """A keep-alive connection whose worker process is known. Should the connection be reopened (the
    server may close an idle one), the worker of the new one is looked up again."""

    def __init__(self, server: Server, client: Any, port: int, worker: int) -> None:
        self.server, self.client, self.port, self.worker = server, client, port, worker
        self.reopened: list[float] = []

    def post(self, path: str, body: Any, key: str) -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        r = (self.client.post(path, content=body, headers=headers) if isinstance(body, bytes)
             else self.client.post(path, json=body, headers=headers))
        port = client_port(r)
        if port != self.port:
            self.reopened.append(time.monotonic())
            worker = self.server.owner(port)
            assert worker is not None, "the worker of a reopened connection could not be found"
            self.port, self.worker = port, worker
        return r

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Pinned":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def pinned(server: Server, per_worker: int, timeout: float = 30.0) -> dict[int, list[Pinned]]:
    """``per_worker`` keep-alive connections to each worker process."""
    pools: dict[int, list[Pinned]] = {pid: [] for pid in server.workers()}
    assert len(pools) == server.workers_wanted, pools
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = httpx.Client(base_url=server.url, timeout=30, trust_env=False)
        r = c.get("/api/health")
        port = client_port(r)
        pid = server.owner(port)
        if pid in pools and len(pools[pid]) < per_worker:
            pools[pid].append(Pinned(server, c, port, pid))
        else:
            c.close()
        if all(len(v) == per_worker for v in pools.values()):
            return pools
    for v in pools.values():
        for p in v:
            p.close()
    pytest.fail(f"could not open {per_worker} connection(s) to each worker in {timeout:.0f} s: "
                f"{ {k: len(v) for k, v in pools.items()} }")


# --- the registry ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Models, policy and a populated SQLite registry (copied for each server); keys by role."""
    from steward.governance import Registry

    folder = tmp_path_factory.mktemp("durability")
    policy = serving_policy(folder)
    models = train_models(folder / "models")
    db = folder / "base.db"
    reg = Registry(f"sqlite:///{db}", policy=policy.path, trail_key=TRAIL_KEY)
    keys = populate(reg, models, policy)
    deploy_all(reg)
    keys["guard"] = reg.create_key("guard-tests", ["caller"], actor="setup", deployments=[THROTTLED, STICKY])["key"]
    reg.close()
    return {"folder": folder, "policy": policy, "models": models, "db": db, "keys": keys,
            "rows": rows_of(models.test, 300)}


def deploy_all(reg: Any) -> None:
    # scores within 0.05 of the threshold go to a person: the durability runs log review items too
    reg.deploy(LIVE, "credit:1.0", backup="credit:0.8", guard=guard_settings(review={"band": 0.05}),
               actor="Olga Operator")
    reg.deploy(THROTTLED, "credit:1.0", backup="credit:0.8", guard=guard_settings(throttle={"rate": 1, "burst": 5}),
               actor="Olga Operator")
    reg.deploy(STICKY, "credit:1.0", backup="credit:0.8", guard=guard_settings(), actor="Olga Operator")


def copy_sqlite(src: Path, dst: Path) -> str:
    """A consistent copy (the backup API, so the WAL's content comes along)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    return f"sqlite:///{dst}"


def redis_url() -> str | None:
    """REDIS_URL when Redis answers there and its client is installed; else None (the Redis tests skip, or fail
    with STEWARD_REQUIRE_REDIS=1)."""
    try:
        import redis
    except ModuleNotFoundError:
        return None
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError:
        return None
    return REDIS_URL


def needs_redis(cluster: "Cluster") -> None:
    if cluster.redis is None:
        reason = f"Redis at {REDIS_URL} is not reachable, or the redis client is not installed"
        if os.environ.get("STEWARD_REQUIRE_REDIS") == "1":
            pytest.fail(reason + "; STEWARD_REQUIRE_REDIS=1 makes this a failure")
        pytest.skip(reason)


class Cluster:
    """The two-worker server (with Redis when it is there) on a copy of the base registry (killed and
    restarted by the durability test)."""

    def __init__(self, base: dict[str, Any], redis: str | None) -> None:
        self.base, self.redis = base, redis
        self.db = base["folder"] / "cluster.db"
        self.database_url = copy_sqlite(base["db"], self.db)
        self.server = self.start(workers=2)
        self._model_rows: list[dict[str, Any]] | None = None

    def start(self, *, workers: int) -> Server:
        s = Server(self.database_url, self.base["policy"].path, workers=workers, redis=self.redis,
                   log=self.base["folder"] / "cluster-server.log")
        try:
            s.wait_ready()
        except BaseException:
            s.stop()
            raise
        return s

    def model_rows(self) -> list[dict[str, Any]]:
        """Rows of the test split that the model itself answers (no review, not refused)."""
        if self._model_rows is None:
            rows = self.base["rows"][:80]
            r = httpx.post(f"{self.server.url}/api/deployments/{LIVE}/predict", json={"rows": rows}, timeout=60,
                           headers={"Authorization": f"Bearer {self.base['keys']['caller']}"}, trust_env=False)
            assert r.status_code == 200, r.text
            self._model_rows = [row for row, a in zip(rows, r.json()["results"]) if a["route"] == "model"]
            assert len(self._model_rows) >= 20, Counter(a["route"] for a in r.json()["results"])
        return self._model_rows


@pytest.fixture(scope="module")
def cluster(base):
    c = Cluster(base, redis_url())
    try:
        yield c
    finally:
        c.server.stop()


# --- the kill switch --------------------------------------------------------------------------------


def test_kill_switch_reaches_requests_in_flight_and_after_in_both_workers_within_a_second(cluster):
    srv, keys = cluster.server, cluster.base["keys"]
    rows = cluster.model_rows()
    pools = pinned(srv, per_worker=2)
    for ps in pools.values():  # each worker loads the deployment's guard before the clock starts
        r = ps[0].post(f"/api/deployments/{LIVE}/predict", {"row": rows[0]}, keys["caller"])
        assert r.status_code == 200 and r.json()["route"] == "model", r.text
    events: list[tuple[int, float, float, int, dict]] = []  # worker, sent, received, status, body
    failures: list[BaseException] = []
    stop = threading.Event()

    def drive(p: Pinned, start: int) -> None:
        i = start
        try:
            while not stop.is_set():
                sent = time.monotonic()
                r = p.post(f"/api/deployments/{LIVE}/predict", {"row": rows[i % len(rows)]}, keys["caller"])
                events.append((p.worker, sent, time.monotonic(), r.status_code, r.json()))
                i += 7
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=drive, args=(p, k)) for k, p in
               enumerate(p for ps in pools.values() for p in ps)]
    ops = httpx.Client(base_url=srv.url, timeout=30, trust_env=False,
                       headers={"Authorization": f"Bearer {keys['operator']}"})
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        kill_sent = time.monotonic()
        r = ops.post(f"/api/deployments/{LIVE}/kill", json={"reason": "durability test: stop the model"})
        killed = time.monotonic()  # the kill is committed by now
        assert r.status_code == 200 and r.json()["killed"] is True, r.text
        time.sleep(1.8)
        revive_sent = time.monotonic()
        r = ops.post(f"/api/deployments/{LIVE}/revive")
        revived = time.monotonic()
        assert r.status_code == 200 and r.json()["killed"] is False, r.text
        time.sleep(1.8)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        ops.close()
        for ps in pools.values():
            for p in ps:
                p.close()
    reopened = [round(t - kill_sent, 3) for ps in pools.values() for p in ps for t in p.reopened]
    if reopened:
        print(f"connections reopened at {reopened} s from the kill")
    assert not failures, failures
    assert all(status == 200 for _, _, _, status, _ in events), Counter(s for _, _, _, s, _ in events)

    workers = sorted(pools)
    before = [e for e in events if e[2] < kill_sent]
    in_flight = [e for e in events if e[1] < killed and e[2] > kill_sent]
    after_kill = [e for e in events if killed + 1.0 < e[1] < revive_sent]
    after_revive = [e for e in events if e[1] > revived + 1.0]
    for w in workers:  # every window has traffic on both workers, so the assertions below are not vacuous
        for window, what in ((before, "before the kill"), (after_kill, "more than 1 s after the kill"),
                             (after_revive, "more than 1 s after the revival")):
            assert sum(e[0] == w for e in window) >= 5, f"worker {w} served too few requests {what}"
    assert in_flight, "no request was in flight while the kill switch was pulled"

    assert all(e[4]["route"] != "kill_switch" for e in before)
    assert Counter(e[4]["route"] for e in before)["model"] >= len(before) // 2
    # in flight: answered either way, each a complete answer
    assert all(e[4]["route"] in ("model", "kill_switch") and PREDICTION_ID.match(e[4]["prediction_id"])
               for e in in_flight)
    late = [(e[0], round(e[1] - killed, 3), e[4]["route"]) for e in after_kill if e[4]["route"] != "kill_switch"]
    assert not late, f"requests sent more than 1 s after the kill reached the model: {late[:10]}"
    for e in after_kill:  # the safe default: a person reviews, the interim answer is the adverse decision
        assert e[4]["decision"] == 0 and "kill_switch" in e[4]["review"]["why"], e[4]
    stale = [(e[0], round(e[1] - revived, 3)) for e in after_revive if e[4]["route"] == "kill_switch"]
    assert not stale, f"requests sent more than 1 s after the revival still got the kill switch: {stale[:10]}"
    assert all(e[4]["route"] == "model" for e in after_revive)

    # how long each worker took, for the record (printed with -s)
    for w in workers:
        last_model = max((e[1] - killed for e in events if e[0] == w and killed < e[1] < revive_sent
                          and e[4]["route"] == "model"),
                         default=0.0)
        last_kill = max((e[1] - revived for e in events if e[0] == w and e[1] > revived
                         and e[4]["route"] == "kill_switch"), default=0.0)
        print(f"worker {w}: last model answer sent {last_model:.3f} s after the kill committed; last kill-switch "
              f"answer sent {last_kill:.3f} s after the revival; {sum(e[0] == w for e in events)} requests")


# --- throttling and sticky decisions shared through Redis -----------------------------------------


def test_throttle_is_one_bucket_across_workers_with_redis(cluster):
    needs_redis(cluster)
    srv, key = cluster.server, cluster.base["keys"]["guard"]
    pools = pinned(srv, per_worker=1)
    (a,), (b,) = pools.values()
    row = cluster.base["rows"][0]
    try:
        for p in (a, b):  # load the deployment's guard in both workers without taking a token: the body is
            r = p.post(f"/api/deployments/{THROTTLED}/predict", b"not json", key)  # parsed after loading, before
            assert r.status_code == 400, r.text  # the throttle
        got: list[tuple[int, int, Any]] = []
        t0 = time.monotonic()
        for i in range(16):
            p = (a, b)[i % 2]
            r = p.post(f"/api/deployments/{THROTTLED}/predict", {"row": row}, key)
            got.append((p.worker, r.status_code, r))
        elapsed = time.monotonic() - t0
    finally:
        a.close()
        b.close()
    statuses = Counter(s for _, s, _ in got)
    assert set(statuses) <= {200, 429}, statuses
    accepted = statuses[200]
    # one bucket of 5 refilled at 1 row/s; a bucket per worker would have let about 10 through
    assert 5 <= accepted <= 5 + int(elapsed) + 1, (accepted, elapsed, [(w, s) for w, s, _ in got])
    assert got[0][1] == got[1][1] == 200
    for w in pools:
        assert any(worker == w and s == 429 for worker, s, _ in got), f"worker {w} refused nothing"
    refused = next(r for _, s, r in got if s == 429)
    assert int(refused.headers["Retry-After"]) >= 1 and "rows per second" in refused.json()["error"]


def test_sticky_decision_is_shared_across_workers_with_redis(cluster):
    needs_redis(cluster)
    srv, key = cluster.server, cluster.base["keys"]["guard"]
    rows = cluster.model_rows()
    pools = pinned(srv, per_worker=1)
    (a,), (b,) = pools.values()
    subject = f"applicant-{uuid.uuid4().hex}"  # a new person each run: Redis keeps decisions for a day
    try:
        answers = []
        for i in range(10):
            p = (a, b)[i % 2]
            r = p.post(f"/api/deployments/{STICKY}/predict", {"row": {**rows[0], "subject_id": subject}}, key)
            assert r.status_code == 200, r.text
            answers.append((p.worker, r.json()))
        other = b.post(f"/api/deployments/{STICKY}/predict", {"row": {**rows[1], "subject_id": subject}}, key)
    finally:
        a.close()
        b.close()
    first = answers[0][1]
    assert first["route"] == "model", first
    assert [x["route"] for _, x in answers[1:]] == ["sticky"] * 9, [(w, x["route"]) for w, x in answers]
    assert {w for w, _ in answers[1:]} == set(pools)
    for _, x in answers[1:]:
        assert (x["decision"], x["score"], x["reasons"], x["version"]) == (
            first["decision"], first["score"], first["reasons"], first["version"])
        assert x["prediction_id"] != first["prediction_id"]
    assert other.json()["route"] == "model"  # other inputs of the same person are decided afresh


# --- durability under SIGKILL ----------------------------------------------------------------------


BIG = 200  # rows of the batch the kill waits for


def drive_then_sigkill(server: Server, key: str, rows: list[dict[str, Any]], *, seconds: float = 1.5,
                       threads: int = 4) -> dict[str, Any]:
    """Send single rows and batches (2 to 200 rows) from ``threads`` threads; after ``seconds``, once a
    200-row batch has been on its way for a few milliseconds (the server is still scoring it: a batch that
    size takes it tens of milliseconds), SIGKILL the server's process group. Returns the prediction ids the
    clients received, the statuses, and the send times of the requests the kill cut off.

    "In flight" from the client's side is not enough to know the server was cut off mid-request: with four
    client threads on two cores, an answer can sit unread in a socket for tens of milliseconds after the
    server wrote it, so a small request that looks in flight may in fact be answered (and is then rightly
    counted as received)."""
    lock = threading.Lock()
    received: list[str] = []
    reviewed: list[str] = []  # ids whose answer said a person will review the decision
    statuses: Counter = Counter()
    inflight: dict[int, tuple[float, int]] = {}  # thread -> send time and rows of its request on the way
    cut: list[float] = []  # send times of requests that the kill cut off (sent before it, no answer)
    failures: list[BaseException] = []
    killed_at: list[float] = []

    def drive(k: int) -> None:
        i = k
        try:
            with httpx.Client(base_url=server.url, timeout=20, trust_env=False,
                              headers={"Authorization": f"Bearer {key}"}) as c:
                while True:
                    n = (1, 3, 1, 5, 1, 2, 20, BIG)[i % 8]
                    body = ({"row": rows[i % len(rows)]} if n == 1 else
                            {"rows": [rows[(i + j) % len(rows)] for j in range(n)]})
                    with lock:
                        if killed_at:
                            return
                        sent = time.monotonic()
                        inflight[k] = (sent, n)
                    try:
                        r = c.post(f"/api/deployments/{LIVE}/predict", json=body)
                    except httpx.TransportError as exc:
                        with lock:
                            del inflight[k]
                            if not killed_at:
                                failures.append(exc)
                            elif sent < killed_at[0]:
                                cut.append(sent)
                        return
                    doc = r.json()
                    answers: list[dict[str, Any]] = []
                    if r.status_code == 200:
                        answers = [doc] if n == 1 else doc["results"]
                    elif r.status_code == 422 and "result" in doc:
                        answers = [doc["result"]]
                    with lock:
                        del inflight[k]
                        statuses[r.status_code] += 1
                        received.extend(a["prediction_id"] for a in answers)
                        reviewed.extend(a["prediction_id"] for a in answers if "review" in a)
                    i += threads
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    for (p,) in pinned(server, per_worker=1).values():  # every worker loads the guard before the clock starts
        with p:
            r = p.post(f"/api/deployments/{LIVE}/predict", {"row": rows[0]}, key)
            assert r.status_code == 200, r.text
            received.append(r.json()["prediction_id"])
    workers = [threading.Thread(target=drive, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    time.sleep(seconds)
    deadline = time.monotonic() + 5
    while True:
        with lock:
            now = time.monotonic()
            if any(n == BIG and now - t >= 0.005 for t, n in inflight.values()) or now > deadline:
                before_kill = len(received)
                in_flight_at_kill = len(inflight)
                killed_at.append(time.monotonic())
                break
        time.sleep(0.001)
    server.sigkill()
    for t in workers:
        t.join(timeout=30)
    assert not failures, failures
    return {"received": received, "reviewed": reviewed, "before_kill": before_kill, "statuses": statuses,
            "cut": cut, "in_flight_at_kill": in_flight_at_kill}


def check_log(database_url: str, policy: Path, received: list[str], reviewed: list[str]) -> dict[str, Any]:
    """Every received id is logged, with its review item when the answer said a person reviews it; every
    logged row and review item is whole."""
    from sqlalchemy import create_engine, text

    from steward.governance import Registry
    from steward.serving._pipeline import inputs_digest

    reg = Registry(database_url, policy=str(policy), trail_key=TRAIL_KEY)
    try:
        logged = {p["prediction_id"] for p in reg.prediction_log(LIVE, limit=None)}
    finally:
        reg.close()
    missing = sorted(set(received) - logged)
    assert not missing, f"{len(missing)} of {len(set(received))} prediction ids clients received are not in the " \
                        f"log, e.g. {missing[:5]}"

    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(text(
                "SELECT id, deployment_id, key_id, route, inputs_sha256, CAST(inputs AS TEXT), CAST(flags AS TEXT), "
                "CAST(reasons AS TEXT), CAST(detail AS TEXT), created_at, decision FROM predictions")).all()
            reviews = c.execute(text("SELECT r.id, r.prediction_id, p.id, CAST(r.why AS TEXT), "
                                     "CAST(r.reasons AS TEXT) FROM review_items r LEFT JOIN predictions p "
                                     "ON p.id = r.prediction_id")).all()
            deployments = {i for (i,) in c.execute(text("SELECT id FROM deployments"))}
            integrity = (c.execute(text("PRAGMA integrity_check")).scalar_one()
                         if engine.dialect.name == "sqlite" else "ok")
    finally:
        engine.dispose()
    assert integrity == "ok", integrity
    assert len(rows) >= len(set(received))
    bad = []
    for pid, dep, key_id, route, sha, inputs, flags, reasons, detail, created, decision in rows:
        try:
            assert PREDICTION_ID.match(pid) and dep in deployments and key_id and created is not None
            assert route in ROUTES and (decision in (0, 1) or route == "refused")
            assert isinstance(sha, str) and HEX64.match(sha)
            assert isinstance(json.loads(flags), list) and isinstance(json.loads(reasons), list)
            assert isinstance(json.loads(detail), dict)
            assert inputs_digest(json.loads(inputs)) == sha  # the stored inputs are the ones hashed
        except (AssertionError, TypeError, ValueError) as exc:
            bad.append((pid, route, sha, str(exc)[:100]))
    assert not bad, f"{len(bad)} half-written or malformed rows, e.g. {bad[:3]}"
    unqueued = sorted(set(reviewed) - {r[1] for r in reviews})
    assert not unqueued, f"answers that said a person reviews them have no review item: {unqueued[:5]}"
    orphans = [r for r in reviews if r[2] is None]
    assert not orphans, f"review items of predictions that are not in the log: {orphans[:5]}"
    for _, _, _, why, reasons in reviews:
        assert isinstance(json.loads(why), list) and json.loads(why)
        assert isinstance(json.loads(reasons), list)
    return {"logged": len(rows), "reviews": len(reviews)}


def restart_and_serve(start: Any, key: str, row: dict[str, Any]) -> tuple[Server, str]:
    """Start the server again on the same database; one prediction shows it serves (and logs) again."""
    server = start()
    r = httpx.post(f"{server.url}/api/deployments/{LIVE}/predict", json={"row": row}, timeout=60, trust_env=False,
                   headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return server, r.json()["prediction_id"]


def assert_driven(run: dict[str, Any]) -> None:
    summary = {k: v for k, v in run.items() if k not in ("received", "reviewed")}
    assert run["before_kill"] >= 50, summary  # the clients really got answers before the kill
    assert run["cut"], f"no request was in flight when the server was killed: {summary}"
    assert set(run["statuses"]) <= {200, 422}, summary  # no 503: the log kept up
    assert run["reviewed"], "no answer in the stream went to review, so the review items went unchecked"


def report(label: str, run: dict[str, Any], stats: dict[str, Any]) -> None:
    print(f"{label}: {len(run['received'])} ids received ({len(run['reviewed'])} sent to review), "
          f"{run['in_flight_at_kill']} requests in flight at the kill, {len(run['cut'])} cut off; "
          f"{stats['logged']} rows logged, {stats['reviews']} review items")


def test_sigkill_mid_stream_loses_no_answered_prediction_sqlite_two_workers(cluster):
    """Runs last on the cluster: it kills it, and restarts it with one worker."""
    base = cluster.base
    run = drive_then_sigkill(cluster.server, base["keys"]["caller"], base["rows"])
    assert_driven(run)
    cluster.server, new_id = restart_and_serve(lambda: cluster.start(workers=1), base["keys"]["caller"],
                                               base["rows"][0])
    stats = check_log(cluster.database_url, base["policy"].path, run["received"] + [new_id], run["reviewed"])
    report("sqlite, 2 workers", run, stats)


def test_sigkill_mid_stream_loses_no_answered_prediction_postgresql(base):
    from steward.governance import Registry
    from tests.governance.conftest import fresh_postgres

    with fresh_postgres() as url:
        reg = Registry(url, policy=base["policy"].path, trail_key=TRAIL_KEY)
        try:
            keys = populate(reg, base["models"], base["policy"])
            deploy_all(reg)
        finally:
            reg.close()
        log = base["folder"] / "postgres-server.log"

        def start() -> Server:
            s = Server(url, base["policy"].path, workers=1, redis=None, log=log)
            try:
                s.wait_ready()
            except BaseException:
                s.stop()
                raise
            return s

        server = start()
        try:
            run = drive_then_sigkill(server, keys["caller"], base["rows"])
            assert_driven(run)
            server, new_id = restart_and_serve(start, keys["caller"], base["rows"][0])
        finally:
            server.stop()
        stats = check_log(url, base["policy"].path, run["received"] + [new_id], run["reviewed"])
        report("postgresql, 1 worker", run, stats)
