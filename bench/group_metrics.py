"""Group metrics at 100k, 1M and 10M rows: steward against its peers and a NumPy floor.

Run: ``.venv/bin/python bench/group_metrics.py [--sizes 100000 1000000 10000000] [--json OUT]``

Every tool computes rates per group of race (5 skewed levels), sex (2) and race × sex from a
pandas DataFrame with string categories. Steward's time includes validation, intervals and
significance tests. The floor is the least arithmetic that gives the same counts: factorize the
two string columns, then ``np.bincount`` the confusion cells and score sums for race, sex and
race × sex. AIF360 and aequitas run from ``bench/.venv-peers`` when it exists (see
bench/README.md); a peer that is not installed is reported as such.
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
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
PEERS_PY = HERE / ".venv-peers" / "bin" / "python"
RACES = np.array(["White", "Black", "Hispanic", "Asian", "Other"])
console = Console()


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
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run_steward(df: pd.DataFrame):
    import steward

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return steward.audit(df, label="y", prediction="d", score="s", protected={"race": "White", "sex": "Male"})


def run_floor(df: pd.DataFrame) -> dict[str, np.ndarray]:
    race, race_u = pd.factorize(df["race"])
    sex, sex_u = pd.factorize(df["sex"])
    y, d, s = df["y"].to_numpy(), df["d"].to_numpy(), df["s"].to_numpy()
    yd = y * 2 + d
    out = {}
    for name, key, k in (("race", race, len(race_u)), ("sex", sex, len(sex_u)),
                         ("race*sex", race * len(sex_u) + sex, len(race_u) * len(sex_u))):
        cells = np.bincount(key * 4 + yd, minlength=k * 4).reshape(k, 4)
        out[name] = cells
        out[name + ":score"] = (np.bincount(key, weights=s, minlength=k), np.bincount(key, weights=s * s, minlength=k))
    out["labels"] = (list(race_u), list(sex_u))
    return out


def check_same(result, floor) -> None:
    """Steward's selection rates equal the floor's for every group: both did the real work."""
    frame = result.to_frame()
    race_u, sex_u = floor["labels"]
    names = {"race": race_u, "sex": sex_u, "race*sex": [f"{r}*{s}" for r in race_u for s in sex_u]}
    for attr in ("race", "sex", "race*sex"):
        cells = floor[attr]
        sel = (cells[:, 1] + cells[:, 3]) / cells.sum(axis=1)
        ours = frame[frame["attribute"] == attr].set_index("group")["selection_rate"]
        for name, rate in zip(names[attr], sel):
            if cells[names[attr].index(name)].sum() == 0:
                continue
            assert abs(ours[name] - rate) <= 1e-12, (attr, name, ours[name], rate)


def run_fairlearn(df: pd.DataFrame):
    from fairlearn.metrics import (
        MetricFrame, false_negative_rate, false_positive_rate, selection_rate, true_negative_rate,
        true_positive_rate,
    )

    mf = MetricFrame(
        metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
                 "fnr": false_negative_rate, "tnr": true_negative_rate},
        y_true=df["y"], y_pred=df["d"], sensitive_features=df[["race", "sex"]],
    )
    return mf.by_group


PEER_SCRIPT = r'''
import sys, time, json, warnings
warnings.simplefilter("ignore")
import pandas as pd
which, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
df = pd.read_parquet(path)
def aif360():
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric
    num = pd.DataFrame({"race": pd.factorize(df["race"])[0], "y": df["d"]})
    ds = BinaryLabelDataset(df=num, label_names=["y"], protected_attribute_names=["race"],
                            favorable_label=1, unfavorable_label=0)
    out = {}
    for k in range(1, 5):
        m = BinaryLabelDatasetMetric(ds, unprivileged_groups=[{"race": k}], privileged_groups=[{"race": 0}])
        out[k] = (m.disparate_impact(), m.statistical_parity_difference())
    return out
def aequitas():
    from aequitas.group import Group
    frame = pd.DataFrame({"score": df["d"], "label_value": df["y"], "race": df["race"], "sex": df["sex"]})
    return Group().get_crosstabs(frame, attr_cols=["race", "sex"])
fn = {"aif360": aif360, "aequitas": aequitas}[which]
times = []
for _ in range(repeats):
    t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": min(times)}))
'''


def run_peer(which: str, parquet: Path, repeats: int) -> tuple[float | None, str]:
    if not PEERS_PY.exists():
        return None, f"not installed (no {PEERS_PY.relative_to(HERE.parent)}; see bench/README.md)"
    proc = subprocess.run([str(PEERS_PY), "-c", PEER_SCRIPT, which, str(parquet), str(repeats)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"failed: {last[:120]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"], "ok"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fairlearn-max", type=int, default=10_000_000, help="largest size to run fairlearn on")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    console.print(f"[bold]group metrics benchmark[/bold]  python {platform.python_version()}, "
                  f"{os.cpu_count()} cores, pandas {pd.__version__}, numpy {np.__version__}")
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="steward-bench-"))
    for n in args.sizes:
        repeats = args.repeats if n <= 1_000_000 else max(1, args.repeats - 1)
        with console.status(f"generating {n:,} rows"):
            df = make_data(n)
        row: dict[str, object] = {"rows": n}
        with console.status(f"{n:,} rows: NumPy floor"):
            row["floor"], floor = best(lambda: run_floor(df), repeats)
        with console.status(f"{n:,} rows: steward"):
            row["steward"], result = best(lambda: run_steward(df), repeats)
        check_same(result, floor)
        if n <= args.fairlearn_max:
            with console.status(f"{n:,} rows: fairlearn MetricFrame"):
                row["fairlearn"], _ = best(lambda: run_fairlearn(df), 1 if n >= 10_000_000 else repeats)
        else:
            row["fairlearn"] = None
            row["fairlearn_note"] = f"skipped above {args.fairlearn_max:,} rows"
        parquet = tmp / f"data-{n}.parquet"
        df.to_parquet(parquet)
        for peer in ("aif360", "aequitas"):
            with console.status(f"{n:,} rows: {peer}"):
                seconds, status = run_peer(peer, parquet, 1 if n >= 10_000_000 else repeats)
            row[peer] = seconds
            if status != "ok":
                row[peer + "_note"] = status
        parquet.unlink()
        results.append(row)
        _print(results)

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        console.print(f"figures written to {args.json}")


def _print(results: list[dict]) -> None:
    t = Table(title="seconds (best of the repeats); ratios: peer / steward and steward / floor")
    for col in ("rows", "steward", "floor", "steward/floor", "fairlearn", "aif360", "aequitas"):
        t.add_column(col, justify="right")
    for r in results:
        def cell(peer: str) -> str:
            v = r.get(peer)
            if v is None:
                return r.get(peer + "_note", "-")
            return f"{v:.3f} ({v / r['steward']:.1f}x)"
        t.add_row(f"{r['rows']:,}", f"{r['steward']:.3f}", f"{r['floor']:.3f}",
                  f"{r['steward'] / r['floor']:.2f}", cell("fairlearn"), cell("aif360"), cell("aequitas"))
    console.print(t)


if __name__ == "__main__":
    main()
