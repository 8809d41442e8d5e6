"""Fairness-aware model selection on one core and on every core.

Target (issue 8): model selection over 20 LightGBM candidates on UCI Adult with 5-fold CV uses both
cores; the speed-up over one core is reported (the same candidates, folds and seeds, so the same
table, asserted).

    .venv/bin/python bench/selection.py                 # Adult train (30,162 rows), 20 candidates, 5 folds
    .venv/bin/python bench/selection.py --rows 5000     # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, exclusive, load  # noqa: E402

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "capital-gain",
            "capital-loss", "hours-per-week", "native-country"]


def main() -> None:
    from steward.datasets import load_adult
    from steward.explain._shapley import cpu_count
    from steward.remediate import default_candidates, select_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=0, help="sample this many rows (0: all of Adult train)")
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    console = Console()
    df = load_adult("train", dropna=True)
    if args.rows:
        df = df.sample(args.rows, random_state=0).reset_index(drop=True)
    cands = default_candidates(args.candidates)
    runs = {}
    with exclusive(console):
        console.print(f"{cpu_model()}; load {load()}; {len(df):,} rows, {len(cands)} candidates, {args.folds} folds")
        for jobs in (1, cpu_count()):
            sel = select_model(df, label="income", positive_label=">50K", features=FEATURES, protected="sex",
                               reference="Male", candidates=cands, folds=args.folds, n_jobs=jobs)
            runs[jobs] = sel
            console.print(f"{jobs} process(es): {sel.seconds:.1f} s")
    one, many = runs[1], runs[cpu_count()]
    same = np.allclose(one.table["auc"], many.table["auc"], atol=1e-12) and one.chosen == many.chosen
    assert same, "the parallel run chose differently"
    speedup = one.seconds / many.seconds
    console.print(f"speed-up with {cpu_count()} processes: {speedup:.2f}x (same table: {same}); chosen candidate "
                  f"{many.chosen} (AUC {many.table.loc[many.chosen, 'auc']:.4f}, lowest AIR "
                  f"{many.table.loc[many.chosen, 'air_min']:.3f}) against the most accurate {many.most_accurate} "
                  f"(AUC {many.table.loc[many.most_accurate, 'auc']:.4f}, lowest AIR "
                  f"{many.table.loc[many.most_accurate, 'air_min']:.3f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": len(df), "candidates": len(cands), "folds": args.folds,
                                         "one_core_s": one.seconds, "all_cores_s": many.seconds,
                                         "processes": cpu_count(), "speedup": speedup, "same_table": bool(same),
                                         "selection": many.to_dict()}, indent=2, default=str))


if __name__ == "__main__":
    main()
