"""Monitoring at scale: a file of 10M logged predictions monitored in full, against a bare DuckDB GROUP BY.

Run: ``.venv/bin/python bench/monitoring.py [--rows 10000000] [--repeats 2] [--stages] [--profile] [--json OUT]``
(``--rows 1000000`` or ``--rows 100000`` for a quick run.)

The data (seeded, ``default_rng(seed)``), generated once into ``bench/out/`` (which git ignores) in chunks
of 1M rows, so it never sits in memory whole: ``monitoring-N.parquet`` with ``--rows`` logged predictions
over 30 days (in time order, as a log is written) and ``monitoring-ref-200000-seed0.parquet``, the reference
(the same model on day 0's distribution, every label known). Columns:

    time            timestamp (UTC), rows spread evenly over 2026-11-01 .. 2026-11-30 (30 daily windows)
    x01 .. x15      15 numeric features: normal, lognormal, beta, Poisson counts (int64), heavy-tailed;
                    x07 has 5% missing, x12 1%; x01 and x03 drift slowly over the 30 days
    c1 .. c5        5 categorical features (text, 5/3/3/20/8 levels; c3 has 1% missing; c1 drifts)
    sex, race       protected attributes (Female 45%; race 60/20/12/6/2%), independent of the score
    score           sigmoid of some features (calibrated), decision = score >= 0.5
    label           Bernoulli(score) for the first 15 days, missing (NaN) for the last 15 (labels for half)
    key_id          the caller's key (50 keys, Zipf-like), prediction_id  text "p0000000001"

Two measurements, each in a fresh child process (``python -c``), alternating ``--repeats`` times:

* floor: one DuckDB query over the same file and the same columns, with DuckDB's defaults:
  ``SELECT date_trunc('day', time), sex, race, decision, label, count(*), and for score and each of the 15
  numeric features count(x), sum(x), sum(x*x), min(x), max(x), and count(c) of each categorical feature,
  key_id and prediction_id FROM read_parquet(...) GROUP BY ALL`` (TimeZone UTC). That is the bare minimum a
  monitor needs per window and cell: rows per window x protected group x decision x label, each numeric
  feature's moments and range. It reads every column Steward reads. What it does NOT compute: histograms
  (Steward counts each numeric feature on the reference's ~99 percentile bins and the score on 1,000 bins,
  split by label), the count of each category of each categorical feature, each caller key's volume, any
  signal. So the floor does less than a monitor must; the ratio is an upper bound of Steward's overhead.
* steward: the registry path end to end. A SQLite registry in a temporary folder (created before the
  clock starts), ``create_monitor(data=file, reference=build_reference(...).to_dict(), columns=...)``
  and ``run_monitor(close_all=True)``: DuckDB reads the file in record batches of 200k rows, each batch
  goes to pandas and ``Monitor.add`` (window keys, ``reduce_batch`` per window), then every one of the 30
  windows is judged (``evaluate``: drift, data quality, prediction drift, performance or its label-free
  estimate, fairness with intersections, fairness CUSUM, key volume), alerts raised, and windows, alerts
  and state stored in the registry. The monitor follows a tier "bench" added to the shipped policy at run
  time: its ``high`` tier's monitor section (daily windows, min_rows 200, its thresholds) with two changes,
  and only these (a monitor's own settings may only be stricter than its tier's, so they sit in the tier):
  ``extraction.enabled: false``: PRADA compares each query with up to 2,000 earlier queries of the same
  key, O(rows x history) in Python, not meant for a 10M-row file in one run; and
  ``fairness.find_slices: false``: on a fairness alert the registry re-reads the window's rows from the
  file and runs the slice finder, per alert, not per row. At 1M and 10M rows no fairness alert fires (sex
  and race are independent of the score); at 100k the small groups of a day (race Other: ~65 rows) do raise
  some, and disabling the slice finder keeps the figure independent of such chance alerts.

The reference is built on every run by ``build_reference`` (in the ``--prepare`` child) and given to the
Steward children as JSON; it is not timed. Both results are checked: every window's rows, and each sex and
race group's decided and favourable counts in Steward's fairness table, must equal the floor's. Peak memory is
each child's ``ru_maxrss`` from ``os.wait4`` (interpreter, imports, DuckDB and pandas included). The file is
read once before timing (warm page cache). Targets: Steward within 2x of the floor; peak RSS under 2 GB.

``--stages`` runs one more Steward child with each stage of the run wrapped in a timer (reading, window
keys, ``reduce_batch``, splitting by window, the KS p-values, ``group_table``, the rest of ``evaluate``,
storing) and prints the table; ``--profile`` one more under cProfile, and prints its top 25 by own time.
The data and the reference are made in a child (``--prepare``), so this parent stays small: on Linux a
child's ``ru_maxrss`` starts from its parent's high-water mark (fork and exec carry it over).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import child, cpu_model, exclusive, load, warm  # noqa: E402

from rich.console import Console  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 150)
TARGET_RATIO = 2.0
TARGET_MB = 2048
DAYS = 30
CHUNK = 1_000_000
START = "2026-11-01T00:00:00"
NUMERIC = [f"x{i:02d}" for i in range(1, 16)]
CATEGORICAL = ["c1", "c2", "c3", "c4", "c5"]
FEATURES = NUMERIC + CATEGORICAL
PROTECTED = ["sex", "race"]
ROLES = ("time", "score", "decision", "label", "key_id", "prediction_id")
SETTINGS = {"extraction": {"enabled": False}, "fairness": {"find_slices": False}}
LEVELS = {"c1": [f"region_{k}" for k in "ABCDE"], "c2": ["retail", "small_business", "premium"],
          "c3": ["web", "branch", "phone"], "c4": [f"product_{k:02d}" for k in range(20)],
          "c5": [f"band_{k}" for k in range(8)]}
RACES = ["White", "Black", "Hispanic", "Asian", "Other"]


# --- data ---------------------------------------------------------------------------------------------

def _zipf(k: int):
    import numpy as np

    p = 1.0 / np.arange(1, k + 1)
    return p / p.sum()


def _chunk(rng, n: int, drift, labelled):
    """``n`` rows as a pyarrow table (without time and prediction_id); ``drift`` in [0, 1] per row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cols: dict[str, pa.Array] = {}
    z3, z4, z9 = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 1, n)
    x = {
        "x01": np.clip(np.round(rng.normal(42 + 6 * drift, 12, n)), 18, 90).astype(np.int64),  # age, drifts
        "x02": rng.lognormal(10.5, 0.6, n),
        "x03": (z3 - 0.5 * drift) * 1000 + 5000,  # balance, drifts
        "x04": z4 * 3 + 10,
        "x05": rng.beta(2, 5, n),
        "x06": rng.poisson(3, n).astype(np.int64),
        "x07": rng.normal(200, 30, n),
        "x08": rng.lognormal(0, 1.5, n),
        "x09": z9,
        "x10": rng.exponential(2.0, n),
        "x11": rng.uniform(0, 100, n),
        "x12": rng.normal(0, 1, n) * 50,
        "x13": rng.poisson(12, n).astype(np.int64),
        "x14": rng.standard_t(5, n),
        "x15": rng.gamma(2.0, 3.0, n),
    }
    x["x07"][rng.random(n) < 0.05] = np.nan
    x["x12"][rng.random(n) < 0.01] = np.nan
    for k, v in x.items():
        cols[k] = pa.array(v)
    for name, levels in LEVELS.items():
        k = len(levels)
        if name == "c1":  # drifts from 35/25/20/15/5 % towards 20 % each
            base = np.array([0.35, 0.25, 0.2, 0.15, 0.05])
            u = rng.random(n)
            p0 = np.cumsum(base)
            idx = np.where(rng.random(n) < drift * 0.6, rng.integers(0, k, n),
                           np.searchsorted(p0, u * p0[-1], side="right").clip(0, k - 1))
        elif name == "c4":
            idx = rng.choice(k, n, p=_zipf(k))
        else:
            idx = rng.choice(k, n, p=np.linspace(2, 1, k) / np.linspace(2, 1, k).sum())
        mask = (rng.random(n) < 0.01) if name == "c3" else None
        cols[name] = pc.take(pa.array(levels), pa.array(idx, mask=mask))
    cols["sex"] = pc.take(pa.array(["Female", "Male"]), pa.array((rng.random(n) >= 0.45).astype(np.int64)))
    cols["race"] = pc.take(pa.array(RACES), pa.array(rng.choice(5, n, p=[0.6, 0.2, 0.12, 0.06, 0.02])))
    logit = 0.3 + 0.9 * z4 + 0.6 * z3 + 0.3 * z9
    score = 1.0 / (1.0 + np.exp(-logit))
    cols["score"] = pa.array(score)
    cols["decision"] = pa.array((score >= 0.5).astype(np.int64))
    label = (rng.random(n) < score).astype(np.float64)
    label[~labelled] = np.nan
    cols["label"] = pa.array(label, from_pandas=True)  # NaN -> null
    cols["key_id"] = pc.take(pa.array([f"key-{k:02d}" for k in range(50)]), pa.array(rng.choice(50, n, p=_zipf(50))))
    return pa.table(cols)


def generate(rows: int, seed: int, path: Path) -> dict:
    """Write the log unless it exists with this row count and seed; return its metadata."""
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    meta_path = path.with_name(path.name + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        if n == rows and meta.get("rows") == rows and meta.get("seed") == seed:
            console.print(f"using {path} ({rows:,} rows, {path.stat().st_size / 1e9:.2f} GB, "
                          f"generated in {meta['seconds']:.0f} s on {meta['date']})")
            return meta
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    need = rows * 200
    if free < need:
        sys.exit(f"not enough disk for {rows:,} rows in {path.parent}: {free / 1e9:.1f} GB free, want {need / 1e9:.1f}")
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    span_us = DAYS * 86_400 * 1_000_000
    t = time.perf_counter()
    writer = None
    with console.status(f"generating {rows:,} logged predictions into {path}"):
        for i0 in range(0, rows, CHUNK):
            i = np.arange(i0, min(i0 + CHUNK, rows))
            # in time order, evenly over the 30 days: row i at (i + u) / rows of the span
            us = ((i + rng.random(len(i)) * 0.999) / rows * span_us).astype(np.int64)
            day = us // (86_400 * 1_000_000)
            table = _chunk(rng, len(i), day / (DAYS - 1), day < DAYS // 2)
            stamps = np.datetime64(START, "us") + us.astype("timedelta64[us]")
            times = pa.array(stamps).cast(pa.timestamp("us", tz="UTC"))
            pid = pc.binary_join_element_wise("p", pc.utf8_lpad(pa.array(i).cast(pa.string()), 10, "0"), "")
            table = table.add_column(0, "time", times).append_column("prediction_id", pid)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
        writer.close()
    seconds = time.perf_counter() - t
    tmp.replace(path)
    meta = {"rows": rows, "seed": seed, "seconds": seconds, "bytes": path.stat().st_size,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    meta_path.write_text(json.dumps(meta, indent=2))
    console.print(f"generated {path} ({meta['bytes'] / 1e9:.2f} GB) in {seconds:.0f} s")
    return meta


def reference(rows: int, seed: int, out: Path) -> Path:
    """The reference (day 0's distribution, every label known) → ``build_reference`` → JSON, built on every
    run (a few seconds), so it always has what the current ``build_reference`` records."""
    import numpy as np
    import pyarrow.parquet as pq

    ref_json = out / f"monitoring-ref-{rows}-seed{seed}.json"
    from steward.monitoring import build_reference

    rng = np.random.default_rng(seed + 10_000)
    table = _chunk(rng, rows, np.zeros(rows), np.ones(rows, dtype=bool))
    pq.write_table(table, out / f"monitoring-ref-{rows}-seed{seed}.parquet")
    frame = table.to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = build_reference(frame, features=FEATURES, protected=PROTECTED,
                              reference_groups={"sex": "Male", "race": "White"}, score="score", decision="decision",
                              label="label", source="bench/monitoring.py")
    ref_json.write_text(json.dumps(ref.to_dict()))
    return ref_json


# --- the two children ---------------------------------------------------------------------------------

REGISTRY = """
def bench_registry(url, settings):
    # the shipped policy plus a tier "bench": its high tier with the benchmark's two changes (a monitor's own
    # settings may only be stricter than its tier's, so they are the tier's)
    import dataclasses
    import steward
    from steward.governance import Registry
    policy = steward.load_policy()
    high = policy.tiers["high"]
    monitor = {k: dict(v) if isinstance(v, dict) else v for k, v in high.monitor.items()}
    for section, values in settings.items():
        monitor[section] = {**monitor.get(section, {}), **values}
    tier = dataclasses.replace(high, name="bench", monitor=monitor)
    return Registry(url, policy=dataclasses.replace(policy, tiers={**policy.tiers, "bench": tier}))
"""

CHILD_STEWARD = REGISTRY + """
import json, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
from steward.governance import Registry
path, ref_path, settings, profile = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
ref = json.load(open(ref_path))
with tempfile.TemporaryDirectory() as d:
    reg = bench_registry(f"sqlite:///{d}/registry.db", settings)
    def run():
        reg.create_monitor("bench", actor="bench", data=path, reference=ref, tier="bench",
                           columns={r: r for r in %(roles)r})
        return reg.run_monitor("bench", actor="bench", close_all=True)
    t = time.perf_counter()
    if profile:
        import cProfile
        prof = cProfile.Profile()
        out = prof.runcall(run)
        prof.dump_stats(profile)
    else:
        out = run()
    seconds = time.perf_counter() - t
    m = reg.monitor("bench")
    windows = {}
    for w in m["windows"]:
        fair = {f"{r['attribute']}={r['group']}": [r["decided"], r["favourable"]]
                for r in w["result"]["fairness"] if r["attribute"] in ("sex", "race")}
        windows[w["key"]] = {"rows": w["rows"], "closed": w["closed"], "signals": len(w["result"]["signals"]),
                             "groups": fair}
    alerts = {}
    for a in m["alerts"]:
        alerts[a["signal"]] = alerts.get(a["signal"], 0) + 1
    reg.close()
print(json.dumps({"seconds": seconds, "rows": out["rows_read"], "closed": len(out["windows_closed"]),
                  "windows": windows, "alerts": alerts}))
""" % {"roles": ROLES}

CHILD_STAGES = REGISTRY + """
import collections, json, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
import steward.governance._monitor_run as run
import steward.monitoring._monitor as mon
import steward.monitoring._signals as sig
import steward.monitoring._sources as src
from steward.governance import Registry
path, ref_path, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
T = collections.defaultdict(float)
def wrap(owner, name, label):
    f = getattr(owner, name, None)
    if f is None:
        return
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[label] += time.perf_counter() - t
    setattr(owner, name, timed)
read_log = src.read_log
def reading(*a, **k):  # the time spent waiting for each batch: DuckDB, Arrow, pandas
    it = read_log(*a, **k)
    while True:
        t = time.perf_counter()
        try:
            frame = next(it)
        except StopIteration:
            T["read"] += time.perf_counter() - t
            return
        T["read"] += time.perf_counter() - t
        yield frame
src.read_log = reading
wrap(mon, "window_keys", "window keys")
wrap(mon, "reduce_batch", "reduce_batch")
wrap(mon.Monitor, "add", "add")
wrap(mon.Monitor, "close", "close")
wrap(sig, "binned_ks", "binned_ks")
wrap(sig, "group_table", "group_table")
wrap(run.MonitorRunMixin, "_store_run", "store")
ref = json.load(open(ref_path))
with tempfile.TemporaryDirectory() as d:
    reg = bench_registry(f"sqlite:///{d}/registry.db", settings)
    t = time.perf_counter()
    reg.create_monitor("bench", actor="bench", data=path, reference=ref, tier="bench",
                       columns={r: r for r in %(roles)r})
    reg.run_monitor("bench", actor="bench", close_all=True)
    total = time.perf_counter() - t
    reg.close()
T["split and merge (rest of add)"] = T["add"] - T["window keys"] - T["reduce_batch"]
T["other (rest of close)"] = T["close"] - T["binned_ks"] - T["group_table"]
T["rest"] = total - T["read"] - T["add"] - T["close"] - T["store"]
print(json.dumps({"seconds": total, "stages": dict(T)}))
""" % {"roles": ROLES}

CHILD_FLOOR = """
import json, sys, time
import duckdb
numeric, categorical = json.loads(sys.argv[2]), json.loads(sys.argv[3])
aggs = ["count(*) AS n"]
for x in ["score", *numeric]:
    aggs += [f"count({x})", f"sum({x})", f"sum({x} * {x})", f"min({x})", f"max({x})"]
aggs += [f"count({c})" for c in [*categorical, "key_id", "prediction_id"]]
sql = (f"SELECT strftime(date_trunc('day', time), '%Y-%m-%d') AS day, sex, race, decision, label, {', '.join(aggs)} "
       f"FROM read_parquet('{sys.argv[1]}') GROUP BY ALL")
t = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
rows = con.execute(sql).fetchall()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": sum(r[5] for r in rows), "aggregates": len(aggs),
                  "cells": [[*r[:5], r[5]] for r in rows]}))
"""


def check(steward: dict, floor: dict, rows: int) -> None:
    """Both did the work: every window's rows and each sex and race group's decided/favourable counts agree."""
    assert steward["rows"] == rows and floor["rows"] == rows, (steward["rows"], floor["rows"], rows)
    assert steward["closed"] == DAYS and all(w["closed"] for w in steward["windows"].values()), steward["closed"]
    per: dict[str, dict[str, list[int]]] = {}
    days: dict[str, int] = {}
    for day, sex, race, decision, label, n in floor["cells"]:
        days[day] = days.get(day, 0) + n
        for g in (f"sex={sex}", f"race={race}"):
            acc = per.setdefault(day, {}).setdefault(g, [0, 0])
            acc[0] += n
            acc[1] += n if decision == 1 else 0
    assert sorted(days) == sorted(steward["windows"]), (sorted(days), sorted(steward["windows"]))
    for day, w in steward["windows"].items():
        assert w["rows"] == days[day], (day, w["rows"], days[day])
        assert w["groups"] == per[day], (day, w["groups"], per[day])


def prepare(rows: int, seed: int, reference_rows: int) -> None:
    """The data and the reference (``--prepare``, run in a child so the parent stays small: a child's peak RSS
    on Linux starts at its parent's, since fork and exec carry the parent's high-water mark over)."""
    out = HERE / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"monitoring-{rows}.parquet" if seed == 0 else f"monitoring-{rows}-seed{seed}.parquet")
    meta = generate(rows, seed, path)
    ref_path = reference(reference_rows, seed, out)
    print(json.dumps({"path": str(path), "reference": str(ref_path), "meta": meta}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--reference-rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2, help="runs of each child, alternating; best time, largest peak")
    ap.add_argument("--stages", action="store_true", help="one more Steward child, timing each stage of the run")
    ap.add_argument("--profile", action="store_true", help="one more Steward child under cProfile; print the top")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare:
        return prepare(args.rows, args.seed, args.reference_rows)

    import resource

    console.print(f"[bold]Monitoring benchmark[/bold]  {cpu_model()}, {os.cpu_count()} cores, "
                  f"python {platform.python_version()}; load {load()}")
    load_start = load()
    prep = subprocess.run([sys.executable, __file__, "--prepare", "--rows", str(args.rows), "--seed", str(args.seed),
                           "--reference-rows", str(args.reference_rows)], stdout=subprocess.PIPE, text=True)
    if prep.returncode != 0:
        sys.exit(f"preparing the data failed ({prep.returncode})")
    for line in prep.stdout.strip().splitlines()[:-1]:
        console.print(line)
    prepared = json.loads(prep.stdout.strip().splitlines()[-1])
    path, ref_path, meta = Path(prepared["path"]), Path(prepared["reference"]), prepared["meta"]
    warm_s = warm(path)
    console.print(f"read {path.stat().st_size / 1e9:.2f} GB once in {warm_s:.1f} s (page cache now warm); "
                  f"reference {ref_path.name}; this parent's own peak RSS (a floor under every child's): "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    versions = child("import duckdb, pandas, json; print(json.dumps({'duckdb': duckdb.__version__, "
                     "'pandas': pandas.__version__}))")

    settings = json.dumps(SETTINGS)
    stewards, floors = [], []
    for i in range(args.repeats):
        with console.status(f"run {i + 1}/{args.repeats}: steward monitor run (child process)"):
            stewards.append(child(CHILD_STEWARD, str(path), str(ref_path), settings, ""))
        with console.status(f"run {i + 1}/{args.repeats}: bare DuckDB GROUP BY (child process)"):
            floors.append(child(CHILD_FLOOR, str(path), json.dumps(NUMERIC), json.dumps(CATEGORICAL)))
        s, f = stewards[-1], floors[-1]
        console.print(f"run {i + 1}: steward {s['seconds']:.2f} s (child {s['wall_seconds']:.2f} s, "
                      f"peak {s['peak_mb']:.0f} MB); floor {f['seconds']:.2f} s "
                      f"(child {f['wall_seconds']:.2f} s, peak {f['peak_mb']:.0f} MB)")
    for s in stewards:
        check(s, floors[0], args.rows)

    best_s = min(stewards, key=lambda r: r["seconds"])
    best_f = min(floors, key=lambda r: r["seconds"])
    peak_s = max(r["peak_mb"] for r in stewards)
    peak_f = max(r["peak_mb"] for r in floors)
    ratio = best_s["seconds"] / best_f["seconds"]
    wall_ratio = min(r["wall_seconds"] for r in stewards) / min(r["wall_seconds"] for r in floors)
    figures = {
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "duckdb": versions["duckdb"], "pandas": versions["pandas"],
                    "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "load_1min_at_start": load_start, "load_1min_at_end": load()},
        "rows": args.rows, "file_gb": path.stat().st_size / 1e9, "generation": meta, "settings": SETTINGS,
        "steward": {"seconds": best_s["seconds"], "wall_seconds": min(r["wall_seconds"] for r in stewards),
                    "peak_mb": peak_s, "alerts": best_s["alerts"],
                    "signals": sum(w["signals"] for w in best_s["windows"].values()),
                    "runs": [{k: r[k] for k in ("seconds", "wall_seconds", "peak_mb")} for r in stewards]},
        "floor": {"seconds": best_f["seconds"], "wall_seconds": min(r["wall_seconds"] for r in floors),
                  "peak_mb": peak_f, "cells": len(best_f["cells"]), "aggregates": best_f["aggregates"],
                  "runs": [{k: r[k] for k in ("seconds", "wall_seconds", "peak_mb")} for r in floors]},
        "time_ratio": ratio, "wall_ratio": wall_ratio, "target_ratio": TARGET_RATIO,
        "target_ratio_met": ratio <= TARGET_RATIO,
        "peak_target_mb": TARGET_MB, "peak_target_met": peak_s < TARGET_MB,
    }

    from rich.table import Table

    t = Table(title=f"{args.rows:,} logged predictions, {figures['file_gb']:.2f} GB Parquet, {DAYS} daily windows, "
                    f"best of {args.repeats}")
    for c in ("", "time in the call", "whole child", "peak RSS"):
        t.add_column(c, justify="left" if not c else "right")
    t.add_row("steward: create_monitor + run_monitor(close_all)", f"{best_s['seconds']:.2f} s",
              f"{figures['steward']['wall_seconds']:.2f} s", f"{peak_s:.0f} MB")
    t.add_row(f"floor: DuckDB GROUP BY day x sex x race x decision x label ({best_f['aggregates']} aggregates)",
              f"{best_f['seconds']:.2f} s", f"{figures['floor']['wall_seconds']:.2f} s", f"{peak_f:.0f} MB")
    t.add_row("steward / floor", f"[bold]{ratio:.2f}[/bold]", f"{wall_ratio:.2f}", "")
    console.print(t)
    console.print(f"duckdb {versions['duckdb']}, pandas {versions['pandas']}")
    console.print(f"target ratio <= {TARGET_RATIO}: {'met' if figures['target_ratio_met'] else 'MISSED'}; "
                  f"peak RSS < {TARGET_MB} MB: {'met' if figures['peak_target_met'] else 'MISSED'}")
    console.print(f"windows' rows and each sex and race group's decided/favourable counts agree with the floor; "
                  f"{figures['steward']['signals']:,} signals over {DAYS} windows; alerts by signal: "
                  f"{best_s['alerts'] or 'none'}")

    if args.stages:
        with console.status("steward, stage by stage"):
            st = child(CHILD_STAGES, str(path), str(ref_path), settings)
        t = Table(title=f"where Steward's {st['seconds']:.2f} s go (wall time of each stage, one more child)")
        t.add_column("stage")
        t.add_column("seconds", justify="right")
        t.add_column("share", justify="right")
        g = st["stages"]
        rows = [("read: DuckDB -> Arrow record batches -> pandas (time waiting for each batch)", g.get("read", 0)),
                ("Monitor.add: window keys (window_keys)", g.get("window keys", 0)),
                ("Monitor.add: reduce_batch", g.get("reduce_batch", 0)),
                ("Monitor.add: split by window, merge", g.get("split and merge (rest of add)", 0)),
                ("close: binned_ks (scipy kstwo.sf p-values)", g.get("binned_ks", 0)),
                ("close: group_table", g.get("group_table", 0)),
                ("close: the rest of evaluate", g.get("other (rest of close)", 0)),
                ("store windows, alerts, state in the registry", g.get("store", 0)),
                ("the rest (create_monitor, settings, reference)", g.get("rest", 0))]
        for label, v in rows:
            t.add_row(label, f"{v:.2f}", f"{v / st['seconds']:.0%}")
        console.print(t)
        figures["stages"] = st

    if args.profile:
        import pstats

        prof = HERE / "out" / f"monitoring-{args.rows}.prof"
        with console.status("steward under cProfile"):
            p = child(CHILD_STEWARD, str(path), str(ref_path), settings, str(prof))
        console.print(f"\n[bold]cProfile[/bold] ({p['seconds']:.2f} s under the profiler; stats in {prof})")
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(25)
        figures["profile_seconds"] = p["seconds"]

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    if "--prepare" in sys.argv:  # the parent holds the lock
        main()
    else:
        with exclusive(console):
            main()
