"""Monitoring: Steward's drift step against Evidently's ``DataDriftPreset``, and its label-free performance
estimate against NannyML's CBPE.

Run: ``.venv/bin/python bench/monitoring_peers.py [--rows 100000] [--repeats 3] [--json OUT]``

The data (seeded, ``default_rng(seed)``): ``--rows`` reference rows and as many current rows, written to
Parquet in a temporary folder; every tool reads the same frames. Ten numeric and four categorical features;
in the current half some are shifted and some are not, and no column's distance is put within ±20% of the
0.1 threshold (so [0.08, 0.12]), where a binned distance and an exact one could honestly disagree. The
intended normalised Wasserstein distance (W / the reference's standard deviation) or Jensen-Shannon distance:

    age          integer, N(42, 12) rounded, clipped 18..90; +4 years     ~0.33  drifted
    income       lognormal(10.5, 0.6); log-mean +0.35                     ~0.63  drifted
    balance      N(0, 1) * 1,000 + 5,000; -0.8 sd                          ~0.80  drifted
    tenure       N(0, 1) * 3 + 10; sd x0.6 (drives the score)              ~0.32  drifted
    volatility   N(0, 1); sd x1.5                                          ~0.40  drifted
    n_accounts   Poisson(3); Poisson(3.6) (a discrete column)              ~0.35  drifted
    days_since   N(0, 1) * 30 + 200; +0.04 sd (a p-value would flag it)    ~0.04  not drifted
    utilisation  Beta(2, 5); unchanged                                     ~0     not drifted
    amount       lognormal(0, 1.5), heavy tail; unchanged                  ~0     not drifted
    noise        N(0, 1); unchanged                                        ~0     not drifted
    region       5 levels, 35/25/20/15/5 % -> 20 % each                    ~0.19  drifted
    segment      3 levels, 50/30/20 % -> 46/32/22 %                        ~0.03  not drifted
    channel      3 levels, unchanged                                       ~0     not drifted
    product      20 levels (Zipf-like), unchanged                          ~0     not drifted

No column's exact distance (Evidently's) comes near 0.1 at either size. Steward's binned distance does,
for one column, and that is kept on purpose, not tuned away: ``amount`` (heavy-tailed, unchanged) has an exact
distance of 0.0136 at 10k rows and 0.0090 at 100k, but Steward gives 0.104 (flagged, so ``--rows 10000``
exits 1) and 0.057. Steward places each of its two open-ended bins (below the 1st and above the 99th
percentile) at the reference's minimum and maximum, so a sampling wobble of a few rows in the top bin moves
mass across (max - p99) / sd, about 50 standard deviations for this column. Over seeds 0..19, Steward's
``amount`` distance was >= 0.1 in 2 of 20 at 10k rows (median 0.044, max 0.180) and 0 of 20 at 100k
(median 0.023, max 0.084); the exact one never exceeded 0.029. The same placement inflates the drifted
columns (``income`` 0.93 against 0.63, ``volatility`` 0.54 against 0.40 at 100k). See RESULTS.md section 9.

A calibrated classifier: ``score = sigmoid(0.8 + 1.6 z(tenure) + 1.0 z(balance) + 0.5 z(volatility))`` (z: the
reference's standardisation), ``decision = score >= 0.5``, ``label ~ Bernoulli(score)`` in both halves (so
the score stays calibrated and CBPE's assumption holds). The current half's shifts in tenure (narrower) and
balance (lower) push the scores towards 0.5, so accuracy and ROC AUC fall (about 0.79 -> 0.74, 0.86 -> 0.82).

Drift: Steward's step is ``build_reference`` (the reference frame, with score, decision and label) +
``reduce_batch`` (the current frame: features, score and decision, no label) + ``evaluate`` with
``feature_drift.trigger: distance``, timed together, in this process (best of ``--repeats``). Evidently runs
``Report([DataDriftPreset()])`` on the features only (``bench/_evidently_drift.py``, in
``bench/.venv-monitoring``; ``report.run`` + ``as_dict()``, best of ``--repeats`` after a warm-up). Above
1,000 rows its defaults are the normalised Wasserstein distance (>= 0.1) for numbers and the Jensen-Shannon
distance (>= 0.1) for categories, the thresholds Steward's distance trigger uses; Steward computes them on
its reference bins (the reference's percentiles 1..99), Evidently on the raw values. Target: Steward at
least 10x faster. The flagged sets must be identical: the script exits 1 when they are not.

Performance: Steward's label-free estimate (the ``estimated_performance`` signals' ``accuracy`` and ``auc``
on the current window) against NannyML's CBPE (``bench/_nannyml_cbpe.py``: fit on the reference, one chunk
of every current row; it recalibrates the scores on the reference with isotonic regression when it judges
that needed), the same confidence-based formulas computed here on the raw current scores (unbinned, not
recalibrated: what Steward's estimate should equal), and for context the realised accuracy and ROC AUC of
the current rows (scikit-learn). No target: the figures are compared, not asserted.

The peers' environment (evidently 0.6 needs numpy < 2.1; both are run with pandas < 3):

    python3 -m venv bench/.venv-monitoring
    bench/.venv-monitoring/bin/pip install -r bench/peers-monitoring/requirements.txt
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import cpu_model, exclusive, load  # noqa: E402

PEERS_PY = HERE / ".venv-monitoring" / "bin" / "python"
NUMERICAL = ["age", "income", "balance", "tenure", "volatility", "n_accounts", "days_since", "utilisation", "amount",
             "noise"]
CATEGORICAL = ["region", "segment", "channel", "product"]
FEATURES = NUMERICAL + CATEGORICAL
INTENDED = {"age", "income", "balance", "tenure", "volatility", "n_accounts", "region"}  # shifted past 0.12
THRESHOLD = 0.1
TARGET_SPEEDUP = 10.0


# --- data ---------------------------------------------------------------------------------------------

def make_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    products = np.array([f"p{k:02d}" for k in range(20)])
    zipf = 1.0 / np.arange(1, 21)
    zipf /= zipf.sum()

    def half(current: bool) -> pd.DataFrame:
        c = current
        f: dict[str, Any] = {}
        f["age"] = np.clip(np.round(rng.normal(42 + (4 if c else 0), 12, n)), 18, 90).astype(np.int64)
        f["income"] = rng.lognormal(10.5 + (0.35 if c else 0.0), 0.6, n)
        zb = rng.normal(-0.8 if c else 0.0, 1.0, n)
        f["balance"] = zb * 1000 + 5000
        zt = rng.normal(0.0, 0.6 if c else 1.0, n)
        f["tenure"] = zt * 3 + 10
        zv = rng.normal(0.0, 1.5 if c else 1.0, n)
        f["volatility"] = zv
        f["n_accounts"] = rng.poisson(3.6 if c else 3.0, n).astype(np.int64)
        f["days_since"] = rng.normal(0.04 if c else 0.0, 1.0, n) * 30 + 200
        f["utilisation"] = rng.beta(2, 5, n)
        f["amount"] = rng.lognormal(0.0, 1.5, n)
        f["noise"] = rng.normal(0.0, 1.0, n)
        f["region"] = rng.choice(np.array(list("ABCDE"), dtype=object), n,
                                 p=[0.2] * 5 if c else [0.35, 0.25, 0.2, 0.15, 0.05])
        f["segment"] = rng.choice(np.array(["retail", "small_business", "premium"], dtype=object), n,
                                  p=[0.46, 0.32, 0.22] if c else [0.5, 0.3, 0.2])
        f["channel"] = rng.choice(np.array(["web", "branch", "phone"], dtype=object), n, p=[0.6, 0.3, 0.1])
        f["product"] = rng.choice(products.astype(object), n, p=zipf)
        logit = 0.8 + 1.6 * zt + 1.0 * zb + 0.5 * zv
        score = 1.0 / (1.0 + np.exp(-logit))
        f["score"] = score
        f["decision"] = (score >= 0.5).astype(np.int64)
        f["label"] = (rng.random(n) < score).astype(np.int64)
        return pd.DataFrame(f)

    return half(False), half(True)


# --- steward ------------------------------------------------------------------------------------------

def steward_drift(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, Any], dict[str, float]]:
    """Steward's drift step, and the seconds of each of its three calls."""
    from steward.monitoring._reference import build_reference
    from steward.monitoring._settings import MonitorSettings
    from steward.monitoring._signals import evaluate
    from steward.monitoring._window import reduce_batch

    s = MonitorSettings.model_validate({"feature_drift": {"trigger": "distance"}})
    t0 = time.perf_counter()
    reference = build_reference(ref, features=FEATURES, score="score", decision="decision", label="label")
    t1 = time.perf_counter()
    w = reduce_batch(cur, reference)
    t2 = time.perf_counter()
    out = evaluate(reference, w, s)
    t3 = time.perf_counter()
    return out, {"build_reference": t1 - t0, "reduce_batch": t2 - t1, "evaluate": t3 - t2}


def run_steward(ref: pd.DataFrame, cur: pd.DataFrame, repeats: int) -> tuple[dict[str, Any], list[float], dict]:
    window = cur[FEATURES + ["score", "decision"]]  # no label: the label-free estimate is the one judged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steward_drift(ref.head(2000), window.head(2000))  # warm-up: lazy imports (scipy, sklearn)
        times, out, stages = [], None, {}
        for _ in range(repeats):
            t = time.perf_counter()
            out, st = steward_drift(ref, window)
            times.append(time.perf_counter() - t)
            if times[-1] == min(times):
                stages = st
    return out, times, stages


def steward_columns(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cols = {}
    for x in out["signals"]:
        if x["signal"] != "feature_drift":
            continue
        m = x["measures"]
        cols[x["subject"]] = {"measure": "wasserstein" if "wasserstein" in m else "jensen_shannon", "value": x["value"],
                              "threshold": x["threshold"], "drifted": x["breach"], "judged": x["judged"],
                              "psi": m.get("psi")}
    return cols


def steward_estimates(out: dict[str, Any]) -> dict[str, float]:
    est = {x["subject"]: x for x in out["signals"] if x["signal"] == "estimated_performance"}
    missing = {"accuracy", "auc"} - set(est)
    if missing:
        raise RuntimeError(f"Steward gave no estimated_performance signal for {sorted(missing)}; signals: "
                           f"{sorted({x['signal'] for x in out['signals']})}")
    return {"accuracy": est["accuracy"]["measures"]["accuracy"], "auc": est["auc"]["measures"]["auc"],
            "reference_accuracy": est["accuracy"]["measures"]["reference"],
            "reference_auc": est["auc"]["measures"]["reference"],
            "accuracy_judged": est["accuracy"]["judged"], "auc_judged": est["auc"]["judged"]}


# --- peers --------------------------------------------------------------------------------------------

def run_peer(python: Path, script: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    if not python.exists():
        return {"status": "not installable",
                "reason": f"no environment at {python}; see bench/peers-monitoring/requirements.txt"}
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([str(python), str(HERE / script), *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    lines = [x for x in proc.stdout.strip().splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-15:] or [f"exit code {proc.returncode}"]
        return {"status": "crashed", "reason": "\n".join(tail)}
    return json.loads(lines[-1])


def direct_estimates(score: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    """The confidence-based estimates computed on the raw scores, taken as calibrated (no binning, no
    recalibration): accuracy = mean of p where the decision is favourable and 1 - p where not; ROC AUC from
    the expected true and false positives cumulated down the sorted scores (NannyML's formula)."""
    p = score.astype(np.float64)
    acc = float(np.mean(np.where(decision == 1, p, 1.0 - p)))
    q = p[np.argsort(-p, kind="stable")]
    tps, fps = np.r_[0.0, np.cumsum(q)], np.r_[0.0, np.cumsum(1.0 - q)]
    auc = float(np.trapezoid(tps / tps[-1], fps / fps[-1]))
    return {"accuracy": acc, "auc": auc}


def exact_distances(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, float]:
    """The exact distances on the raw values (what Evidently computes), for the per-column table."""
    from scipy import stats
    from scipy.spatial import distance

    out = {}
    for c in NUMERICAL:
        r, k = ref[c].to_numpy(dtype=float), cur[c].to_numpy(dtype=float)
        out[c] = float(stats.wasserstein_distance(r, k) / max(np.std(r), 0.001))
    for c in CATEGORICAL:
        keys = sorted(set(ref[c]) | set(cur[c]))
        p = ref[c].value_counts().reindex(keys, fill_value=0).to_numpy(float)
        q = cur[c].value_counts().reindex(keys, fill_value=0).to_numpy(float)
        out[c] = float(distance.jensenshannon(p / p.sum(), q / q.sum()))
    return out


# --- the run ------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="reference rows, and as many current rows")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs (Steward and Evidently)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers-python", type=Path, default=PEERS_PY, help="interpreter with evidently and nannyml")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 150)
    with exclusive(console):
        return run(args, console)


def run(args, console) -> int:
    import steward
    from rich.table import Table
    from sklearn.metrics import roc_auc_score

    machine = {"cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
               "steward": steward.__version__, "numpy": np.__version__, "pandas": pd.__version__,
               "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load_start": load()}
    console.print(f"[bold]monitoring benchmark[/bold]  {machine['cpu']}, {machine['cores']} cores, python "
                  f"{machine['python']}, numpy {np.__version__}, pandas {pd.__version__}; {args.rows:,} reference + "
                  f"{args.rows:,} current rows; best of {args.repeats}; load {machine['load_start']}",
                  highlight=False)
    tmp = Path(tempfile.mkdtemp(prefix="steward-bench-monitoring-"))
    try:
        ref0, cur0 = make_frames(args.rows, args.seed)
        ref_path, cur_path = tmp / "reference.parquet", tmp / "current.parquet"
        ref0.to_parquet(ref_path, index=False)
        cur0.to_parquet(cur_path, index=False)
        ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)  # the frames every tool reads

        with console.status("Steward: drift step"):
            out, st_times, st_stages = run_steward(ref, cur, args.repeats)
        st_cols = steward_columns(out)
        st_flagged = {x["subject"] for x in out["signals"] if x["signal"] == "feature_drift" and x["breach"]}
        st_est = steward_estimates(out)
        with console.status("Evidently: DataDriftPreset"):
            ev = run_peer(args.peers_python, "_evidently_drift.py", str(ref_path), str(cur_path),
                          "--numerical", ",".join(NUMERICAL), "--categorical", ",".join(CATEGORICAL),
                          "--repeats", str(args.repeats))
        with console.status("NannyML: CBPE"):
            nm = run_peer(args.peers_python, "_nannyml_cbpe.py", str(ref_path), str(cur_path))
        with console.status("exact distances on the raw values"):
            exact = exact_distances(ref, cur)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    y, d, sc = cur["label"].to_numpy(), cur["decision"].to_numpy(), cur["score"].to_numpy()
    realised = {"accuracy": float(np.mean(y == d)), "auc": float(roc_auc_score(y, sc)),
                "reference_accuracy": float(np.mean(ref["label"].to_numpy() == ref["decision"].to_numpy())),
                "reference_auc": float(roc_auc_score(ref["label"].to_numpy(), ref["score"].to_numpy()))}
    direct = direct_estimates(sc, d)
    machine["load_end"] = load()

    ok = True
    st_best = min(st_times)
    # --- timing
    t = Table(title=f"drift step, {args.rows:,} + {args.rows:,} rows, {len(NUMERICAL)} numeric + {len(CATEGORICAL)} "
                    f"categorical features (seconds, best of {args.repeats})")
    for col in ("tool", "seconds", "Evidently / Steward (target >= 10)", "what is timed"):
        t.add_column(col, justify="right" if col != "what is timed" else "left")
    t.add_row("Steward", f"{st_best:.3f}", "1", "build_reference + reduce_batch + evaluate: "
              + " + ".join(f"{v:.3f}" for v in st_stages.values()))
    speedup = None
    if ev.get("status") == "ok":
        speedup = ev["seconds"] / st_best
        mark = "[green]met[/green]" if speedup >= TARGET_SPEEDUP else "[red]missed[/red]"
        t.add_row("Evidently", f"{ev['seconds']:.3f}", f"{speedup:.1f} {mark}",
                  f"Report.run {ev['run_seconds']:.3f} + as_dict {ev['extract_seconds']:.3f}")
        window_only = st_stages["reduce_batch"] + st_stages["evaluate"]
        t.add_row("Steward, reference prebuilt", f"{window_only:.3f}", f"{ev['seconds'] / window_only:.1f}",
                  "reduce_batch + evaluate of that run (information)")
    else:
        t.add_row("Evidently", ev.get("status", "?"), "", ev.get("reason", "")[-300:])
        ok = False
    console.print(t)

    # --- per column
    ev_cols = ev.get("columns", {}) if ev.get("status") == "ok" else {}
    ev_flagged = set(ev.get("drifted", [])) if ev.get("status") == "ok" else set()
    c = Table(title="per column: Steward (binned on the reference's percentiles) vs Evidently (raw values); "
                    f"threshold {THRESHOLD}")
    for col in ("column", "measure", "Steward", "Evidently (test)", "exact here", "Steward flags", "Evidently flags",
                "shifted", "near 0.1?"):
        c.add_column(col, justify="right" if col not in ("column", "measure", "Evidently (test)") else "left")
    for name in FEATURES:
        s = st_cols.get(name, {})
        e = ev_cols.get(name, {})
        vals = [v for v in (s.get("value"), e.get("score"), exact[name]) if v is not None]
        near = any(0.8 * THRESHOLD <= v <= 1.2 * THRESHOLD for v in vals)
        c.add_row(name, s.get("measure", "?"), f"{s['value']:.4f}" if s.get("value") is not None else "-",
                  f"{e['score']:.4f} ({e['stattest'].split(' ')[0]})" if e else "-", f"{exact[name]:.4f}",
                  "yes" if name in st_flagged else "no", "yes" if name in ev_flagged else "no",
                  "yes" if name in INTENDED else "no", "[yellow]yes[/yellow]" if near else "no")
    console.print(c)
    same = st_flagged == ev_flagged
    console.print(f"Steward flags   {sorted(st_flagged)}", highlight=False)
    console.print(f"Evidently flags {sorted(ev_flagged)}", highlight=False)
    console.print(f"identical: {'[green]yes[/green]' if same else '[red]no[/red]'}"
                  + ("" if same else f"  (only Steward: {sorted(st_flagged - ev_flagged)}, only Evidently: "
                                    f"{sorted(ev_flagged - st_flagged)})")
                  + f"; as intended: {st_flagged == INTENDED}")
    ok = ok and same

    # --- performance estimate
    p = Table(title="label-free performance estimate on the current rows: Steward vs NannyML CBPE")
    for col in ("metric", "Steward", "NannyML CBPE", "|Steward - CBPE|", "direct formula", "|Steward - direct|",
                "realised (sklearn)", "|Steward - realised|", "|CBPE - realised|", "reference (realised)"):
        p.add_column(col, justify="right")
    nm_ok = nm.get("status") == "ok"
    for label, sk, nk in (("accuracy", "accuracy", "accuracy"), ("ROC AUC", "auc", "roc_auc")):
        sv, rv = st_est[sk], realised[sk]
        nv = nm.get(nk) if nm_ok else None
        dv = direct[sk]
        p.add_row(label, f"{sv:.4f}", f"{nv:.4f}" if nv is not None else nm.get("status", "?"),
                  f"{abs(sv - nv):.4f}" if nv is not None else "-", f"{dv:.4f}", f"{abs(sv - dv):.4f}",
                  f"{rv:.4f}", f"{abs(sv - rv):.4f}",
                  f"{abs(nv - rv):.4f}" if nv is not None else "-", f"{realised['reference_' + sk]:.4f}")
    console.print(p)
    if not nm_ok:
        console.print(f"NannyML: {nm.get('status')}: {nm.get('reason', '')}", highlight=False)
    else:
        console.print(f"NannyML CBPE took {nm['seconds']:.3f} s (fit + estimate + to_df, once; for information); "
                      f"its chunk held {nm['chunk_rows']:,} rows; it recalibrated the scores on the reference: "
                      f"{nm['needs_calibration']}", highlight=False)
    console.print("direct formula: the same confidence-based estimates on the raw current scores, unbinned and not "
                  "recalibrated (computed here)", highlight=False)
    console.print(f"Steward's reference figures: accuracy {st_est['reference_accuracy']:.4f}, AUC "
                  f"{st_est['reference_auc']:.4f}; estimate judged: accuracy {st_est['accuracy_judged']}, "
                  f"AUC {st_est['auc_judged']}", highlight=False)
    console.print(f"versions: {ev.get('version', '?')}; {nm.get('version', '?')}; load {machine['load_start']} -> "
                  f"{machine['load_end']}", highlight=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": machine, "rows": args.rows, "repeats": args.repeats, "seed": args.seed,
            "steward": {"seconds": st_best, "times": st_times, "stages": st_stages, "flagged": sorted(st_flagged),
                        "columns": st_cols, "estimates": st_est},
            "evidently": ev, "nannyml": nm, "exact": exact, "realised": realised, "direct": direct, "speedup": speedup,
            "identical": same}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
