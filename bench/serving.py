"""Guarded serving against a bare FastAPI app serving the same LightGBM model (issue 16).

The servers below run side by side for the whole run, each a uvicorn process with one worker on a free
loopback port (an idle server costs nothing measurable). ``wrk`` (Debian's package) drives them in turn,
with the same settings for each:

* the bare app (``bench/_bare_app.py``): loads the model file with ``lightgbm.Booster``, reads the body
  with ``await request.json()``, builds a pandas DataFrame with the categorical columns as pandas
  categories of the training categories, calls ``booster.predict`` and returns ``{"score": ...}``
  (``{"scores": [...]}`` for ``{"rows": [...]}``). No key, no checks, no log. ``--log-level warning
  --no-access-log``.
* Steward: ``steward serve --port P --database-url URL --policy FILE`` (1 worker) over a registry this
  script builds with ``tests/serving/_setup.py`` (credit 1.0, 30 trees; backup credit:0.8; benchmark
  credit:0.9), deployed as ``credit-live`` with every guard on: throttle on but not binding (rate 1e9,
  burst 1e9), every screening flag at flag or review, sticky decisions on (a day, ``subject_id``),
  review band 0.05 with review on flags and on benchmark disagreement, 4 reason codes, inputs stored in
  the durable log. It is called with the ``caller`` key. There are two Steward servers: one on SQLite (a file
  in a temporary folder) and one on PostgreSQL (127.0.0.1:5432, trust auth: a fresh database created through
  ``test`` and dropped at the end).

Request bodies are rows of Adult's test split as a caller sends them (``rows_of``): 2,000 different
single-row bodies, and 2 different bodies of 1,000 rows, cycled by ``bench/_serving.lua``. One row in
four carries a ``subject_id`` made unique per request (so the sticky store is read and written for
them but never answers: every row goes through the model). Repeated inputs within 60 s are flagged
as duplicates (flag only), as they would be in production.

Every server runs with ``OMP_NUM_THREADS=1`` (``--omp-threads``): LightGBM parallelises each
``predict`` call with OpenMP over all cores, and between requests its worker threads go to sleep; on
2 shared cores waking them costs milliseconds a call (a 1-row predict with 5 ms pauses between calls:
median 6.9 ms with the default, 0.3 ms with 1 thread, on the busy machine), which would swamp what
is being compared. ``--omp-threads 0`` leaves it unset.

Runs (each server warmed up first; each run stops by itself, ``wrk -d``):

1. single-row maximum throughput: ``wrk -t2 -c32 -dD``, requests per second.
2. latency at half the bare app's maximum rate: the same wrk command with the Lua script pacing the
   requests to half the bare app's best single-row rate (wrk has no rate option; wrk2, which has, is not
   in Debian). Each wrk thread hands out send slots on a fixed schedule (``delay()``), so the offered
   rate is fixed as long as connections are free; p50/p99 come from wrk's own latency histogram in
   ``done()`` (``latency:percentile(99)``), timed from the first byte written to the response. A request
   sent late because the server fell behind is timed from when it was sent, not from its slot (no
   coordinated-omission correction), so the achieved rate is printed too: if it falls short of the
   offered rate the server could not keep up and its p99 understates the delay.
3. batches of 1,000 rows: ``wrk -t2 -c4 -dD``, rows per second.

``--repeats N`` (default 2) runs each measurement N times, alternating the servers, and keeps the best
(highest rate, lowest p99). For information (no target) a second bare app, ``bare-numpy``
(``_bare_app:lean``), turns the rows straight into a float64 matrix of category codes as Steward's
scorer does, with no DataFrame per request. Checks: wrk must see no errors and no non-2xx answer;
Steward's scores for a row and for a batch must equal the bare apps' (to 1e-9); after the runs each
prediction log must hold at least one row per row answered. The script holds ``bench/out/.bench.lock``
(one benchmark at a time) and records the load average at the start and the end; above 0.5 it calls
its figures provisional.

Targets: single-row guarded throughput >= 70% of the bare app's; guarded p99 at half the bare app's
maximum rate <= 2x the bare app's p99 at that rate; batches of 1,000 rows >= 50% of the bare app's rows
per second.

    .venv/bin/python bench/serving.py --json bench/out/serving.json
    .venv/bin/python bench/serving.py --quick                    # 3 s runs, one repeat: a smoke run
    .venv/bin/python bench/serving.py --no-postgres              # SQLite only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))  # tests.serving._setup
from _common import cpu_model, exclusive, load  # noqa: E402

LUA = HERE / "_serving.lua"
DEPLOYMENT = "credit-live"
PG = dict(host="127.0.0.1", port=5432, user="postgres", dbname="test")
TARGETS = {"throughput": 0.70, "p99": 2.0, "batch": 0.50}


def guard() -> dict[str, Any]:
    """Every guard on; nothing refuses (a refusal answers 422, which wrk counts as an error)."""
    from tests.serving._setup import guard_settings

    return guard_settings(
        throttle={"rate": 1e9, "burst": 10**9},
        screening={"out_of_range": "review", "unseen_category": "review", "anomalous": "flag", "duplicate": "flag",
                   "training_row": "flag", "duplicate_window_s": 60},
        sticky={"window_s": 86_400, "field": "subject_id"},
        review={"band": 0.05, "on_flags": True, "benchmark_disagreement": "review"},
        reasons={"count": 4},
        log={"inputs": "store"},
    )


# --- servers ------------------------------------------------------------------------------------------

class Server:
    """A server process in its own process group (killed with the group at the end, even on Ctrl-C)."""

    def __init__(self, name: str, argv: list[str], port: int, path: str, key: str | None, env: dict[str, str],
                 log: Path) -> None:
        self.name, self.port, self.path, self.key = name, port, path, key
        self.url = f"http://127.0.0.1:{port}{path}"
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=str(log.parent))

    def post(self, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def wait_ready(self, probe: dict[str, Any], deadline_s: float = 90) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}:\n"
                                   f"{self.log.read_text()[-2000:]}")
            try:
                return self.post(probe, timeout=10)
            except urllib.error.HTTPError as exc:  # it is up, and refuses: say why
                raise RuntimeError(f"{self.name} answered {exc.code}: {exc.read()[:500]!r}") from None
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError(f"{self.name} did not answer within {deadline_s:.0f} s; see {self.log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._out.close()


OMP_THREADS = "1"  # set from --omp-threads before the servers start


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    if OMP_THREADS != "0":
        env["OMP_NUM_THREADS"] = OMP_THREADS
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    return env


def bare_server(model: Path, folder: Path, name: str = "bare", app: str = "app") -> Server:
    from tests.serving._setup import free_port

    port = free_port()
    env = server_env() | {"BARE_MODEL": str(model)}
    argv = [sys.executable, "-m", "uvicorn", f"_bare_app:{app}", "--app-dir", str(HERE), "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    return Server(name, argv, port, "/predict", None, env, folder / f"{name}.log")


def steward_server(name: str, url: str, policy: Path, key: str, folder: Path) -> Server:
    from tests.serving._setup import free_port

    port = free_port()
    steward = Path(sys.executable).with_name("steward")
    argv = [str(steward), "serve", "--port", str(port), "--database-url", url, "--policy", str(policy)]
    return Server(name, argv, port, f"/api/deployments/{DEPLOYMENT}/predict", key, server_env(),
                  folder / f"{name}.log")


def build_registry(url: str, models: Any, policy_obj: Any, policy_path: Path) -> dict[str, str]:
    """Register, approve, profile and deploy ``credit-live`` with every guard on; the API keys."""
    from steward.governance import Registry
    from tests.serving._setup import populate

    reg = Registry(url, policy=policy_path)
    try:
        keys = populate(reg, models, policy_obj)
        dep = reg.deploy(DEPLOYMENT, "credit:1.0", actor="Olga Operator", backup="credit:0.8", benchmark="credit:0.9",
                         guard=guard())
        g = dep["guard"]
        assert g["throttle"]["rate"] > 0 and g["sticky"]["window_s"] > 0 and g["reasons"]["count"] > 0, g
        assert g["log"]["inputs"] == "store" and g["review"]["band"] == 0.05, g
    finally:
        reg.close()
    return keys


@contextlib.contextmanager
def fresh_postgres():
    import psycopg

    admin = psycopg.connect(**PG, autocommit=True, connect_timeout=3)
    name = f"steward_bench_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def log_counts(url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            routes = dict(c.execute(text("SELECT route, count(*) FROM predictions GROUP BY route")).all())
            reviews = c.execute(text("SELECT count(*) FROM review_items")).scalar_one()
    finally:
        engine.dispose()
    return {"rows": int(sum(routes.values())), "routes": {k: int(v) for k, v in sorted(routes.items())},
            "review_items": int(reviews)}


# --- load ---------------------------------------------------------------------------------------------

def wrk(server: Server, bodies: Path, *, duration: float, threads: int, connections: int, rate: float = 0.0,
        rows_per_request: int = 1) -> dict[str, Any]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "30s",
            "-s", str(LUA), server.url, "--", str(bodies), repr(float(rate)), server.key or "-", str(threads),
            secrets.token_hex(4)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-1000:]}\n{done.stdout[-1000:]}")
    r = json.loads(line[len("WRKJSON "):])
    errors = {k: v for k, v in r.items() if k.startswith("errors_") and v}
    if errors:
        raise RuntimeError(f"{server.name}: wrk saw errors {errors}; see {server.log}")
    seconds = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / seconds
    r["rows_per_s"] = r["rps"] * rows_per_request
    r["rows"] = r["requests"] * rows_per_request
    r["offered_rps"] = rate
    return r


def write_bodies(folder: Path, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """A single-row body per row, and bodies of 1,000 rows; one row in four has a per-request subject id."""
    marked = [dict(r, subject_id=f"s{i}-@@") if i % 4 == 0 else r for i, r in enumerate(rows)]
    single = folder / "single.jsonl"
    single.write_text("".join(json.dumps({"row": r}, separators=(",", ":")) + "\n" for r in marked))
    batch = folder / "batch.jsonl"
    batch.write_text("".join(json.dumps({"rows": marked[k:k + 1000]}, separators=(",", ":")) + "\n"
                             for k in range(0, len(marked) - 999, 1000)))
    return single, batch


def check_same_scores(bare: Server, others: list[Server], rows: list[dict[str, Any]]) -> float:
    """Steward's scores equal the bare app's (to 1e-9), for one row and for a batch of 1,000."""
    worst = 0.0
    want_one = bare.post({"row": rows[1]})["score"]
    want_batch = bare.post({"rows": rows[1000:2000]})["scores"]
    for s in others:
        got_one = s.post({"row": rows[1]})["score"]
        got = s.post({"rows": rows[1000:2000]})
        got_batch = got["scores"] if "scores" in got else [x["score"] for x in got["results"]]
        worst = max(worst, abs(got_one - want_one), *(abs(a - b) for a, b in zip(got_batch, want_batch)))
        assert len(got_batch) == len(want_batch)
    assert worst <= 1e-9, f"Steward's scores differ from the bare app's by up to {worst}"
    return worst


# --- the run --------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of each wrk run (default 10)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each measurement; the best is kept (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections, single rows (default 32)")
    ap.add_argument("--batch-connections", type=int, default=4, help="wrk connections, batches (default 4)")
    ap.add_argument("--quick", action="store_true", help="3 s runs, one repeat")
    ap.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL server")
    ap.add_argument("--no-lean", action="store_true", help="skip the bare-numpy app (information only)")
    ap.add_argument("--omp-threads", type=int, default=1,
                    help="OMP_NUM_THREADS of every server, so LightGBM's threads (OpenMP) per call; 0 leaves it unset "
                         "(default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (registry, bodies, server logs)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.quick:
        args.duration, args.repeats = 3.0, 1
    global OMP_THREADS
    OMP_THREADS = str(args.omp_threads)
    if shutil.which("wrk") is None:
        print("bench/serving.py needs wrk, the HTTP load generator: apt-get install wrk", file=sys.stderr)
        return 2
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=150)  # a log file gets the whole table
    # a trail key in the environment: nothing is written under the current folder for PostgreSQL
    os.environ.setdefault("STEWARD_TRAIL_KEY", secrets.token_hex(32))
    folder = Path(tempfile.mkdtemp(prefix="steward-bench-serving-"))
    servers: list[Server] = []
    stack = contextlib.ExitStack()

    def on_term(signum, frame):  # SIGTERM: unwind like Ctrl-C, so the servers are killed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        with exclusive(console):
            return run(args, console, folder, servers, stack)
    except KeyboardInterrupt:
        console.print("interrupted: stopping the servers")
        return 130
    finally:
        for s in servers:
            s.stop()
        stack.close()
        if args.keep:
            console.print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(args, console, folder: Path, servers: list[Server], stack: contextlib.ExitStack) -> int:
    from tests.serving._setup import rows_of, serving_policy, train_models

    load_start = load()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    console.print(f"{cpu_model()}, {os.cpu_count()} cores; load {load_start} at the start; {args.duration:g} s runs, "
                  f"best of {args.repeats}; wrk -t{args.threads} -c{args.connections} (batches -c{args.batch_connections}); "
                  f"OMP_NUM_THREADS={args.omp_threads or 'unset'}")
    t0 = time.perf_counter()
    models = train_models(folder / "models")
    policy_obj = serving_policy(folder)
    policy_path = folder / "serving-policy.yaml"
    rows = rows_of(models.test)  # 2,000 rows of Adult's test split
    single, batch = write_bodies(folder, rows)

    sqlite_url = f"sqlite:///{folder / 'registry.db'}"
    keys = build_registry(sqlite_url, models, policy_obj, policy_path)
    urls = {"steward-sqlite": sqlite_url}
    if not args.no_postgres:
        pg_url = stack.enter_context(fresh_postgres())
        pg_keys = build_registry(pg_url, models, policy_obj, policy_path)
        urls["steward-postgres"] = pg_url
    console.print(f"registries built and {DEPLOYMENT} deployed in {time.perf_counter() - t0:.1f} s")

    bare = bare_server(models.paths["1.0"], folder)
    servers.append(bare)
    if not args.no_lean:
        servers.append(bare_server(models.paths["1.0"], folder, "bare-numpy", "lean"))
    guarded = [steward_server("steward-sqlite", sqlite_url, policy_path, keys["caller"], folder)]
    if not args.no_postgres:
        guarded.append(steward_server("steward-postgres", urls["steward-postgres"], policy_path, pg_keys["caller"],
                                      folder))
    servers.extend(guarded)
    for s in servers:
        s.wait_ready({"row": rows[0]})
    worst = check_same_scores(bare, servers[1:], rows)
    console.print(f"servers up; Steward's scores equal the bare app's (largest difference {worst:.1e})")

    answered = {s.name: 0 for s in servers}

    def go(s: Server, what: str, **kw) -> dict[str, Any]:
        r = wrk(s, batch if what == "batch" else single, duration=args.duration, threads=args.threads,
                connections=args.batch_connections if what == "batch" else args.connections,
                rows_per_request=1000 if what == "batch" else 1, **kw)
        answered[s.name] += r["rows"]
        lat = f"p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, max {r['lat_max_us'] / 1000:.1f} ms"
        rate = f"{r['rows_per_s']:,.0f} rows/s" if what == "batch" else f"{r['rps']:,.0f} req/s"
        offered = f" (offered {r['offered_rps']:,.0f} req/s)" if r["offered_rps"] else ""
        console.print(f"  {what:<7} {s.name:<17} {rate}{offered}; {lat}; load {load()}", highlight=False)
        return r

    # warm-up: every server, both kinds of body (not measured)
    for s in servers:
        wrk(s, single, duration=2, threads=args.threads, connections=args.connections)
        wrk(s, batch, duration=2, threads=args.threads, connections=args.batch_connections, rows_per_request=1000)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {"max": [], "half": [], "batch": []} for s in servers}
    console.print("single rows, as fast as the connections allow:")
    for _ in range(args.repeats):
        for s in servers:
            results[s.name]["max"].append(go(s, "max"))
    bare_max = max(r["rps"] for r in results["bare"]["max"])
    half = bare_max / 2
    console.print(f"single rows at half the bare app's maximum ({half:,.0f} req/s):")
    for _ in range(args.repeats):
        for s in servers:
            results[s.name]["half"].append(go(s, "half", rate=half))
    console.print("batches of 1,000 rows:")
    for _ in range(args.repeats):
        for s in servers:
            results[s.name]["batch"].append(go(s, "batch"))
    load_end = load()

    logs = {name: log_counts(url) for name, url in urls.items()}
    for name, c in logs.items():
        assert c["rows"] >= answered[name], f"{name}: {c['rows']} log rows for {answered[name]} rows answered"

    best = {}
    for name, r in results.items():
        mx = max(r["max"], key=lambda x: x["rps"])
        hf = min(r["half"], key=lambda x: x["p99_us"])
        bt = max(r["batch"], key=lambda x: x["rows_per_s"])
        best[name] = {"rps": mx["rps"], "max_p99_ms": mx["p99_us"] / 1000, "half_achieved_rps": hf["rps"],
                      "half_p50_ms": hf["p50_us"] / 1000, "half_p99_ms": hf["p99_us"] / 1000,
                      "batch_rows_per_s": bt["rows_per_s"], "batch_p99_ms": bt["p99_us"] / 1000}
    b = best["bare"]
    from rich.table import Table

    t = Table(title=f"guarded serving against the bare app (load {load_start} -> {load_end})")
    for col in ("server", "single rows req/s", "ratio (>= 0.70)", f"p99 at {half:,.0f} req/s", "ratio (<= 2)",
                "achieved req/s", "batch rows/s", "ratio (>= 0.50)"):
        t.add_column(col, justify="right")
    verdicts: dict[str, dict[str, Any]] = {}
    for name, x in best.items():
        if name.startswith("bare"):
            t.add_row(name, f"{x['rps']:,.0f}", "1", f"{x['half_p99_ms']:.2f} ms", "1", f"{x['half_achieved_rps']:,.0f}",
                      f"{x['batch_rows_per_s']:,.0f}", "1")
            continue
        v = {"throughput": x["rps"] / b["rps"], "p99": x["half_p99_ms"] / b["half_p99_ms"],
             "batch": x["batch_rows_per_s"] / b["batch_rows_per_s"],
             "kept_up": x["half_achieved_rps"] >= 0.97 * half}
        v["met"] = {"throughput": v["throughput"] >= TARGETS["throughput"],
                    "p99": v["p99"] <= TARGETS["p99"] and v["kept_up"], "batch": v["batch"] >= TARGETS["batch"]}
        verdicts[name] = v

        def mark(ok: bool) -> str:
            return "[green]met[/green]" if ok else "[red]missed[/red]"

        t.add_row(name, f"{x['rps']:,.0f}", f"{v['throughput']:.2f} {mark(v['met']['throughput'])}",
                  f"{x['half_p99_ms']:.2f} ms", f"{v['p99']:.2f} {mark(v['met']['p99'])}",
                  f"{x['half_achieved_rps']:,.0f}" + ("" if v["kept_up"] else " (fell behind)"),
                  f"{x['batch_rows_per_s']:,.0f}", f"{v['batch']:.2f} {mark(v['met']['batch'])}")
    console.print(t)
    if "bare-numpy" in best:
        n = best["bare-numpy"]
        info = {name: {"throughput": x["rps"] / n["rps"], "batch": x["batch_rows_per_s"] / n["batch_rows_per_s"]}
                for name, x in best.items() if name.startswith("steward")}
        console.print("for information, against bare-numpy (no DataFrame per request): " + "; ".join(
            f"{name} single rows {v['throughput']:.2f}, batches {v['batch']:.2f}" for name, v in info.items()))
    for name, c in logs.items():
        console.print(f"{name} log: {c['rows']:,} rows (warm-ups and checks included) for {answered[name]:,} rows "
                      f"answered in the measured runs; {c['review_items']:,} review items; routes {c['routes']}", highlight=False)
    busy = max(load_start, load_end) > 0.5
    if busy:
        console.print(f"[yellow]the machine was busy (load {load_start} at the start, {load_end} at the end): "
                      f"these figures are provisional[/yellow]")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "started": started, "cpu": cpu_model(), "cores": os.cpu_count(), "load_start": load_start,
            "load_end": load_end, "provisional": busy, "duration_s": args.duration, "repeats": args.repeats,
            "omp_num_threads": args.omp_threads or None, "wrk": {"threads": args.threads, "connections": args.connections,
                    "batch_connections": args.batch_connections},
            "half_rate_rps": half, "best": best, "verdicts": verdicts, "targets": TARGETS, "runs": results,
            "log": logs, "answered_rows": answered, "score_difference": worst}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
