"""Privacy probes against their peers and floors, in one run.

1. Membership inference on UCI Adult with a LightGBM model (trained on Adult's training file, 255 leaves, 300
   trees, so it remembers some rows): Steward's probe (its two loss attacks, the loss threshold and the
   per-class loss ratio, end to end: scoring both sides, fitting on the attacker's half, AUC and advantage on
   the other half; the larger AUC and the larger advantage of the two are reported) against ART's
   ``MembershipInferenceBlackBox`` (a random forest on the model's probabilities and the labels, ART's
   recommended non-neural attack, asking the model itself through a ``BlackBoxClassifier``) on the same rows.
   Target: Steward at least as strong (AUC) and no slower.
2. Re-identification over 5 quasi-identifiers on 1M rows against a bare DuckDB GROUP BY: ``privacy_reident.py``.
3. The PII scan of a 1M-row, 30-column file against a bare DuckDB read of the same sample: ``privacy_pii.py``.

    .venv/bin/python bench/privacy.py [--repeats 3] [--skip-files]

Parts 2 and 3 run as their own scripts (children), with their default sizes; ``--skip-files`` runs part 1 only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import cpu_model, exclusive, load  # noqa: E402


def _adult() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from steward.datasets import load_adult

    train = load_adult("train", dropna=True).reset_index(drop=True)
    test = load_adult("test", dropna=True).reset_index(drop=True)
    feats = [c for c in train.columns if c not in ("income", "sex", "race")]
    for f in (train, test):
        f["y"] = (f["income"] == ">50K").astype(int)
        for c in feats:
            if f[c].dtype == object or str(f[c].dtype).startswith("str"):
                f[c] = pd.Categorical(f[c], categories=sorted(set(train[c].astype(str))))
    return train, test, feats


def _model(train: pd.DataFrame, feats: list[str]):
    import lightgbm as lgb

    from steward.models import wrap_model

    m = lgb.LGBMClassifier(n_estimators=300, num_leaves=255, min_child_samples=2, learning_rate=0.1, verbose=-1,
                           random_state=0, n_jobs=2).fit(train[feats], train["y"])
    return wrap_model(m, features=feats)


def steward_run(model, members: pd.DataFrame, non: pd.DataFrame) -> dict:
    from steward.privacy import membership_inference

    t = time.perf_counter()
    rep = membership_inference(model, members, non, label="y", attacks=("loss_threshold", "loss_ratio"),
                               max_rows=len(members) * 2)
    seconds = time.perf_counter() - t
    a = rep.attacks[rep.attacks["attack"] != "baseline"]
    return {"seconds": seconds, "auc": float(a["auc"].max()), "advantage": float(a["advantage"].max()),
            "rows": rep.rows}


def art_run(model, members: pd.DataFrame, non: pd.DataFrame, feats: list[str]) -> dict:
    """ART as its documentation uses it: the attack asks the model for predictions of the rows it is given."""
    from sklearn.metrics import roc_auc_score

    from steward.privacy._attack import Encoded, art, black_box

    art()
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

    n = len(members)
    rng = np.random.default_rng(0)  # the same halves as Steward's probe draws (seed 0, no sampling)
    fit_m = np.zeros(n, dtype=bool)
    fit_m[rng.choice(n, n // 2, replace=False)] = True
    fit_n = np.zeros(n, dtype=bool)
    fit_n[rng.choice(n, n // 2, replace=False)] = True
    t = time.perf_counter()
    enc = Encoded(pd.concat([members, non]), feats)
    xm, xn = enc.matrix(members), enc.matrix(non)
    onehot = np.eye(2)
    ym, yn = onehot[members["y"].to_numpy()], onehot[non["y"].to_numpy()]
    attack = MembershipInferenceBlackBox(black_box(model, enc), input_type="prediction", attack_model_type="rf")
    attack.attack_model.set_params(random_state=0)
    attack.fit(xm[fit_m], ym[fit_m], xn[fit_n], yn[fit_n])
    pm = attack.infer(xm[~fit_m], ym[~fit_m], probabilities=True)
    pn = attack.infer(xn[~fit_n], yn[~fit_n], probabilities=True)
    seconds = time.perf_counter() - t

    def member(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return p[:, 1] if p.ndim == 2 and p.shape[1] == 2 else p.reshape(-1)

    s = np.concatenate([member(pm), member(pn)])
    truth = np.concatenate([np.ones(len(pm)), np.zeros(len(pn))])
    guess = (s >= 0.5).astype(int)
    adv = guess[truth == 1].mean() - guess[truth == 0].mean()
    return {"seconds": seconds, "auc": float(roc_auc_score(truth, s)), "advantage": float(adv), "rows": int(len(pm))}


def membership(console: Console, repeats: int) -> dict:
    train, test, feats = _adult()
    model = _model(train, feats)
    n = min(len(train), len(test))
    members = train.sample(n, random_state=1).reset_index(drop=True)
    non = test.sample(n, random_state=1).reset_index(drop=True)
    best: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(repeats):
            for name, run in (("steward", lambda: steward_run(model, members, non)),
                              ("art", lambda: art_run(model, members, non, feats))):
                r = run()
                console.print(f"run {i + 1}: {name} {r['seconds']:.2f} s, AUC {r['auc']:.3f}, advantage "
                              f"{r['advantage']:.3f} ({r['rows']:,} members and as many non-members judged)")
                if name not in best or r["seconds"] < best[name]["seconds"]:
                    best[name] = r
    t = Table(title=f"Membership inference on Adult (LightGBM, {n:,} members and {n:,} non-members), best of "
                    f"{repeats}")
    for c in ("", "seconds", "attack AUC", "advantage"):
        t.add_column(c, justify="left" if not c else "right")
    for name, label in (("steward", "Steward: loss attacks (threshold, ratio)"), ("art", "ART: MembershipInferenceBlackBox (rf)")):
        r = best[name]
        t.add_row(label, f"{r['seconds']:.2f}", f"{r['auc']:.3f}", f"{r['advantage']:.3f}")
    console.print(t)
    s, a = best["steward"], best["art"]
    console.print(f"Steward / ART time: {s['seconds'] / a['seconds']:.2f} (target <= 1: "
                  f"{'met' if s['seconds'] <= a['seconds'] else 'MISSED'}); AUC {s['auc']:.3f} vs {a['auc']:.3f} "
                  f"(at least as strong: {'met' if s['auc'] >= a['auc'] else 'MISSED'}); advantage {s['advantage']:.3f} vs "
                  f"{a['advantage']:.3f} ({'met' if s['advantage'] >= a['advantage'] else 'MISSED'})")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-files", action="store_true", help="only the membership-inference comparison")
    args = ap.parse_args()
    console = Console()
    with exclusive(console):
        console.print(f"{cpu_model()}, {os.cpu_count()} cores; load {load()}")
        membership(console, args.repeats)
    if not args.skip_files:
        for script in ("privacy_reident.py", "privacy_pii.py"):
            console.rule(script)
            subprocess.run([sys.executable, str(HERE / script), "--repeats", str(args.repeats)], check=True)


if __name__ == "__main__":
    main()
