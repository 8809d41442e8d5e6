"""Group metrics at 100k, 1M and 10M rows: steward against its peers and a NumPy floor.

Run: ``.venv/bin/python bench/group_metrics.py [--sizes 100000 1000000 10000000] [--json OUT]``

Every tool computes rates per group from the same seeded pandas DataFrame with string categories:
race (5 skewed levels), sex (2), binary label ``y``, score ``s`` and decision ``d = s >= 0.5``.

* steward: ``steward.audit`` with label, prediction, score and two protected attributes; race,
  sex and race × sex, every rate with its interval, every comparison with its test.
* fairlearn: ``MetricFrame`` with selection rate, TPR, FPR, FNR and accuracy over race × sex,
  then ``.by_group``.
* AIF360: ``BinaryLabelDataset`` + ``BinaryLabelDatasetMetric``; disparate impact and statistical
  parity difference of each race against White (race only; the least work we ask of a peer).
* aequitas: ``Group().get_crosstabs`` over race and sex.
* floor: the least arithmetic that gives every count steward reports: ``pd.factorize`` the two
  string columns, one ``np.bincount`` of the race × sex × y × d cells plus two of the score sums
  (s, s²) per race × sex group; race and sex are sums of those cells.

AIF360 and aequitas pin older pandas, so they run in a child process from ``bench/.venv-peers``
(see bench/README.md) on the same rows (handed over as Parquet; reading it is not timed). A peer
that cannot be imported is reported as "not installable (reason)", one that fails as "crashed".
Steward is timed there as well (``steward@peers``), so those two peers can also be compared with
steward under the same pandas.
Every tool's result is checked against the floor, so each timing measures real work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from _common import cpu_model, exclusive, load
from rich.table import Table

import steward

HERE = Path(__file__).resolve().parent
DEFAULT_PEERS_PY = HERE / ".venv-peers" / "bin" / "python"
RACES = np.array(["White", "Black", "Hispanic", "Asian", "Other"])
PROTECTED = {"race": "White", "sex": "Male"}
console = Console(width=None if sys.stdout.isatty() else 150)


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race_code = rng.choice(5, size=n, p=[0.6, 0.2, 0.12, 0.06, 0.02])
    sex_code = (rng.random(n) < 0.45).astype(np.int8)
    base = np.array([0.35, 0.45, 0.40, 0.30, 0.38])[race_code]
    y = (rng.random(n) < base).astype(np.int64)
    shift = np.array([0.0, 0.08, 0.04, -0.03, 0.02])[race_code]
    s = np.clip(0.3 + 0.3 * y + shift + rng.normal(0, 0.18, n), 0, 1)
    return pd.DataFrame({
        "race": RACES[race_code],
        "sex": np.where(sex_code == 1, "Female", "Male"),
        "y": y,
        "d": (s >= 0.5).astype(np.int64),
        "s": s,
    })


def best(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        out = None  # let the previous result go before timing the next run
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


# --- the tools ------------------------------------------------------------------------------

def run_steward(df: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return steward.audit(df, label="y", prediction="d", score="s", protected=PROTECTED)


def run_floor(df: pd.DataFrame) -> dict:
    race, race_u = pd.factorize(df["race"])
    sex, sex_u = pd.factorize(df["sex"])
    kr, ks = len(race_u), len(sex_u)
    y, d, s = df["y"].to_numpy(), df["d"].to_numpy(), df["s"].to_numpy()
    group = race * ks + sex                      # race × sex
    cell = group * 4 + y * 2 + d                 # × (y, d): TN, FP, FN, TP
    counts = np.bincount(cell, minlength=kr * ks * 4).reshape(kr, ks, 4)
    s_sum = np.bincount(group, weights=s, minlength=kr * ks).reshape(kr, ks)
    s_sq = np.bincount(group, weights=s * s, minlength=kr * ks).reshape(kr, ks)
    return {
        "race": counts.sum(axis=1), "sex": counts.sum(axis=0), "race*sex": counts.reshape(-1, 4),
        "race:score": (s_sum.sum(axis=1), s_sq.sum(axis=1)), "sex:score": (s_sum.sum(axis=0), s_sq.sum(axis=0)),
        "race*sex:score": (s_sum.ravel(), s_sq.ravel()),
        "labels": {"race": list(race_u), "sex": list(sex_u),
                   "race*sex": [f"{r}*{x}" for r in race_u for x in sex_u]},
    }


def floor_selection_rates(floor: dict) -> dict[str, dict[str, float]]:
    out = {}
    for attr in ("race", "sex", "race*sex"):
        cells = floor[attr]
        n = cells.sum(axis=1)
        out[attr] = {g: float((c[1] + c[3]) / k) for g, c, k in zip(floor["labels"][attr], cells, n) if k}
    return out


def check_steward(result, floor: dict) -> None:
    """Steward's selection rates (and row counts) equal the floor's for every group."""
    frame = result.to_frame()
    rates = floor_selection_rates(floor)
    for attr, want in rates.items():
        got = frame[frame["attribute"] == attr].set_index("group")
        assert set(got.index) == set(want), (attr, sorted(got.index), sorted(want))
        rows = dict(zip(floor["labels"][attr], floor[attr].sum(axis=1)))
        for g, rate in want.items():
            assert abs(got.at[g, "selection_rate"] - rate) <= 1e-12, (attr, g, got.at[g, "selection_rate"], rate)
            assert got.at[g, "rows"] == rows[g], (attr, g)


try:
    from fairlearn.metrics import (
        MetricFrame, false_negative_rate, false_positive_rate, selection_rate, true_positive_rate,
    )
    from sklearn.metrics import accuracy_score
    import fairlearn

    FAIRLEARN = f"fairlearn {fairlearn.__version__}"
except Exception as exc:  # noqa: BLE001 - reported, not fatal
    FAIRLEARN = None
    FAIRLEARN_ERROR = f"{type(exc).__name__}: {exc}"


def run_fairlearn(df: pd.DataFrame) -> pd.DataFrame:
    mf = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                 "false_positive_rate": false_positive_rate, "false_negative_rate": false_negative_rate,
                 "accuracy": accuracy_score},
        y_true=df["y"], y_pred=df["d"], sensitive_features=df[["race", "sex"]],
    )
    return mf.by_group


def check_fairlearn(by_group: pd.DataFrame, floor: dict) -> float:
    want = floor_selection_rates(floor)["race*sex"]
    diffs = [abs(by_group.loc[(r, s), "selection_rate"] - want[f"{r}*{s}"]) for r, s in by_group.index]
    assert len(diffs) == len(want)
    return max(diffs)


PEER_SCRIPT = r'''
import json, sys, time, warnings
warnings.simplefilter("ignore")
which, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    import pandas as pd
    if which == "steward":
        import steward
        version = steward.__version__
    elif which == "aif360":
        import aif360
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import BinaryLabelDatasetMetric
        version = aif360.__version__
    else:
        import aequitas
        from aequitas.group import Group
        version = getattr(aequitas, "__version__", "?")
except Exception as exc:
    print(json.dumps({"status": "not installable", "reason": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
df = pd.read_parquet(path)

def run_aif360():
    races, names = pd.factorize(df["race"])  # AIF360 wants numeric protected attributes
    num = pd.DataFrame({"race": races, "d": df["d"].to_numpy()})
    ds = BinaryLabelDataset(df=num, label_names=["d"], protected_attribute_names=["race"],
                            favorable_label=1, unfavorable_label=0)
    ref = list(names).index("White")
    out = {}
    for k, name in enumerate(names):
        if k == ref:
            continue
        m = BinaryLabelDatasetMetric(ds, unprivileged_groups=[{"race": k}], privileged_groups=[{"race": ref}])
        out[name] = (m.disparate_impact(), m.statistical_parity_difference())
    return out

def run_aequitas():
    frame = pd.DataFrame({"score": df["d"], "label_value": df["y"], "race": df["race"], "sex": df["sex"]})
    xtab, _ = Group().get_crosstabs(frame, attr_cols=["race", "sex"])
    return xtab

def run_steward():
    return steward.audit(df, label="y", prediction="d", score="s", protected={"race": "White", "sex": "Male"})

fn = {"aif360": run_aif360, "aequitas": run_aequitas, "steward": run_steward}[which]
if which == "steward":
    fn()  # the first call pays for imports
times, out = [], None
try:
    for _ in range(repeats):
        out = None
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
except Exception as exc:
    print(json.dumps({"status": "crashed", "reason": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
if which == "aif360":
    check = {"race": {g: v[0] for g, v in out.items()}}  # disparate impact = AIR against White
elif which == "steward":
    f = out.to_frame()
    check = {a: dict(zip(f.group[f.attribute == a], f.selection_rate[f.attribute == a])) for a in ("race", "sex")}
else:
    check = {a: {r.attribute_value: r.pp / r.group_size for r in out[out.attribute_name == a].itertuples()}
             for a in ("race", "sex")}  # selection rates
print(json.dumps({"status": "ok", "seconds": min(times), "times": times, "check": check,
                  "version": f"{which} {version}, pandas {pd.__version__}"}))
'''


def run_peer(which: str, python: Path, parquet: Path, repeats: int) -> dict:
    if not python.exists():
        return {"status": "not installable", "reason": f"no peers environment at {python}; see bench/README.md"}
    proc = subprocess.run([str(python), "-c", PEER_SCRIPT, which, str(parquet), str(repeats)],
                          capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {"status": "crashed", "reason": last[:200]}
    return json.loads(lines[-1])


def check_peer(which: str, out: dict, result, floor: dict) -> float:
    """Largest difference between a peer's figures and steward's (AIR) or the floor's (selection rates)."""
    if which.startswith("aif360"):
        frame = result.to_frame().query("attribute == 'race'").set_index("group")["adverse_impact_ratio"]
        want = {"race": frame.to_dict()}
    else:
        want = floor_selection_rates(floor)
    diffs = [abs(v - want[a][g]) for a, groups in out["check"].items() for g, v in groups.items()]
    return max(diffs)


# --- the run ---------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs below 10M rows")
    ap.add_argument("--repeats-large", type=int, default=2, help="best of this many runs at >= 10M rows")
    ap.add_argument("--fairlearn-max", type=int, default=10_000_000,
                    help="skip fairlearn above this many rows (at 10M it takes ~5 min, so it is timed once)")
    ap.add_argument("--peers-python", type=Path, default=DEFAULT_PEERS_PY,
                    help="interpreter with aif360 and aequitas installed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    machine = {
        "cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
        "steward": steward.__version__, "numpy": np.__version__, "pandas": pd.__version__,
        "fairlearn": FAIRLEARN, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_1min_at_start": load(),
    }
    console.print(f"[bold]group metrics benchmark[/bold]  {machine['cpu']}, {machine['cores']} cores, "
                  f"python {machine['python']}, numpy {np.__version__}, pandas {pd.__version__}, "
                  f"{FAIRLEARN or 'fairlearn not installed'}; load {machine['load_1min_at_start']}")
    if FAIRLEARN is None:
        console.print(f"fairlearn: not installable ({FAIRLEARN_ERROR})")
    with warnings.catch_warnings():  # first call pays for imports (scipy, ...); keep it out of the timings
        warnings.simplefilter("ignore")
        run_steward(make_data(1000, seed=1))

    results: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="steward-bench-"))
    peer_notes: dict[str, str] = {}
    for n in args.sizes:
        large = n >= 10_000_000
        repeats = args.repeats_large if large else args.repeats
        with console.status(f"generating {n:,} rows"):
            df = make_data(n, args.seed)
        row: dict = {"rows": n, "repeats": repeats, "notes": {}}
        with console.status(f"{n:,} rows: NumPy floor (best of {repeats})"):
            row["floor"], floor = best(lambda: run_floor(df), repeats)
        with console.status(f"{n:,} rows: steward (best of {repeats})"):
            row["steward"], result = best(lambda: run_steward(df), repeats)
        check_steward(result, floor)
        row["notes"]["steward"] = "selection rates equal the floor's (1e-12)"

        if FAIRLEARN is None:
            row["fairlearn"] = None
            row["notes"]["fairlearn"] = f"not installable ({FAIRLEARN_ERROR})"
        elif n > args.fairlearn_max:
            row["fairlearn"] = None
            row["notes"]["fairlearn"] = f"skipped: above --fairlearn-max {args.fairlearn_max:,} rows"
        else:
            fl_repeats = 1 if large else repeats
            with console.status(f"{n:,} rows: fairlearn MetricFrame (best of {fl_repeats}; minutes at 10M)"):
                row["fairlearn"], by_group = best(lambda: run_fairlearn(df), fl_repeats)
            diff = check_fairlearn(by_group, floor)
            row["notes"]["fairlearn"] = f"timed {fl_repeats}x; max |selection rate - floor| = {diff:.1e}"

        parquet = tmp / f"data-{n}.parquet"
        df.to_parquet(parquet)
        for peer in ("aif360", "aequitas", "steward@peers"):
            with console.status(f"{n:,} rows: {peer} (best of {repeats}, in {args.peers_python})"):
                out = run_peer(peer.split("@")[0], args.peers_python, parquet, repeats)
            if out["status"] == "ok":
                row[peer] = out["seconds"]
                row["notes"][peer] = f"{out['version']}; max |diff| vs steward/floor = {check_peer(peer, out, result, floor):.1e}"
                if peer == "steward@peers":
                    row["notes"][peer] += "; same environment: " + ", ".join(
                        f"{p} / steward = {row[p] / out['seconds']:.1f}x" for p in ("aif360", "aequitas") if row.get(p))
            else:
                row[peer] = None
                row["notes"][peer] = f"{out['status']} ({out['reason']})"
                if peer_notes.get(peer) != row["notes"][peer]:
                    console.print(f"{peer}: {row['notes'][peer]}")
                    peer_notes[peer] = row["notes"][peer]
        parquet.unlink()
        del df, floor, result
        results.append(row)
        _print(results)
    tmp.rmdir()

    for r in results:
        for tool, note in r["notes"].items():
            console.print(f"  {r['rows']:>12,}  {tool:<9} {note}")
    machine["load_1min_at_end"] = load()
    console.print(f"load average (1 min) at the end: {machine['load_1min_at_end']} "
                  "(this process alone keeps it near 1; well above that means something else ran too)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
        console.print(f"figures written to {args.json}")



def _print(results: list[dict]) -> None:
    t = Table(title="seconds, best of the repeats; (x) = peer / steward (steward in this environment)",
              caption="aif360 and aequitas run in bench/.venv-peers (older pandas); the last column times "
                      "steward there too, on the same frame")
    for col in ("rows", "steward", "floor", "steward / floor", "fairlearn", "aif360", "aequitas",
                "steward in peers' env"):
        t.add_column(col, justify="right")
    for r in results:
        def cell(peer: str) -> str:
            v = r.get(peer)
            if v is None:
                return r["notes"].get(peer, "-").split(" (")[0].split(":")[0]
            if peer == "steward@peers":
                return f"{v:.3f}"
            return f"{v:.3f} ({v / r['steward']:.1f}x)"
        t.add_row(f"{r['rows']:,}", f"{r['steward']:.3f}", f"{r['floor']:.3f}",
                  f"{r['steward'] / r['floor']:.2f}", cell("fairlearn"), cell("aif360"), cell("aequitas"),
                  cell("steward@peers"))
    console.print(t)


if __name__ == "__main__":
    with exclusive(console):
        main()
