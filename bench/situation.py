"""Situation testing against its floor: one scikit-learn ``NearestNeighbors`` query over the same rows.

Target (issue 7): situation testing on 100k rows with k = 10 within 10x the time of one
``NearestNeighbors(n_neighbors=10).fit(X).kneighbors(X)`` over the same rows, in the same space
(Steward's standardised features), both single-threaded.

    .venv/bin/python bench/situation.py                # 100k rows of UCI Adult, resampled
    .venv/bin/python bench/situation.py --rows 20000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, exclusive, load  # noqa: E402

FEATURES = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week", "fnlwgt"]


def main() -> None:
    from sklearn.neighbors import NearestNeighbors

    from steward.datasets import load_adult
    from steward.debug import situation_testing
    from steward.debug._situation import neighbour_space

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console()
    pool = pd.concat([load_adult("train", dropna=True), load_adult("test", dropna=True)], ignore_index=True)
    rng = np.random.default_rng(20261129)
    df = pool.iloc[rng.integers(0, len(pool), args.rows)].reset_index(drop=True)
    # a model-free decision: the data's own label, so the test measures the neighbour search
    decision = df["income"].astype(str).str.startswith(">50K").astype(int).to_numpy()
    with exclusive(console):
        console.print(f"{cpu_model()}; load {load()}; {args.rows:,} rows, {len(FEATURES)} features, k = {args.k}")
        space = neighbour_space(df, FEATURES)
        floor, ours = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            NearestNeighbors(n_neighbors=args.k, n_jobs=1).fit(space).kneighbors(space)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            rep = situation_testing(df, decision, attribute="sex", reference="Male", features=FEATURES, k=args.k,
                                    n_jobs=1)
            ours.append(time.perf_counter() - t)
    f, o = min(floor), min(ours)
    console.print(f"NearestNeighbors query over all rows: {f:.3f} s; situation testing (sex, reference Male): "
                  f"{o:.3f} s = {o / f:.2f}x the floor (target <= 10x); flagged share {rep.share_flagged:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": args.rows, "k": args.k, "floor_s": f, "situation_s": o,
                                         "ratio": o / f, "share_flagged": rep.share_flagged}, indent=2))


if __name__ == "__main__":
    main()
