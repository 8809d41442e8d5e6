"""Train the demo's models on the shipped UCI Adult data and write everything its audit and deployment read.

    python examples/adult_credit/train.py OUT_DIR

Writes, into OUT_DIR: ``model-1.0.txt`` (LightGBM, 60 trees, monotone in education and capital gain, without
race or sex among its inputs), ``model-0.9.txt`` (the previous version: 20 trees, also the benchmark of the
deployment), ``train.csv`` and ``test.csv`` (the two splits, rows without missing values), ``features.txt``,
the reviewed reason texts, declared monotone directions, stress scenarios, the card info and the guard
settings. The target: income above 50K, read as "offered the savings product" (favourable, 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import yaml

from steward.datasets import load_adult

FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship",
            "capital-gain", "capital-loss", "hours-per-week"]
MONOTONE = {"education-num": 1, "capital-gain": 1}


def _inputs(frame: pd.DataFrame) -> pd.DataFrame:
    X = frame[FEATURES].copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("category")
    return X


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    train, test = load_adult("train", dropna=True), load_adult("test", dropna=True)
    y = (train["income"] == ">50K").astype(int)
    for version, trees in (("1.0", 60), ("0.9", 20)):
        model = lgb.LGBMClassifier(n_estimators=trees, num_leaves=15, verbose=-1, random_state=0,
                                   monotone_constraints=[MONOTONE.get(f, 0) for f in FEATURES])
        model.fit(_inputs(train), y)
        model.booster_.save_model(str(out / f"model-{version}.txt"))
    train.to_csv(out / "train.csv", index=False)
    test.to_csv(out / "test.csv", index=False)
    (out / "features.txt").write_text(",".join(FEATURES))
    texts = {"age": "Age band of the applicant", "workclass": "Type of employment",
             "education-num": "Years of education", "marital-status": "Household situation",
             "occupation": "Occupation", "relationship": "Household situation",
             "capital-gain": "Little or no investment income", "capital-loss": "Investment losses",
             "hours-per-week": "Hours worked per week"}
    files = {
        "reasons.yaml": {"adverse": "low", "never_cite": ["race", "sex"], "reasons": texts},
        "monotone.yaml": {"education-num": "increasing", "capital-gain": "increasing"},
        "scenarios.yaml": {"scenarios": [{"name": "hours -20%", "change": {"hours-per-week": {"multiply": 0.8}}},
                                         {"name": "no capital gain", "change": {"capital-gain": {"set": 0}}}]},
        "card.yaml": {
            "model": {"name": "Savings offer pre-selection (Steward demo)", "version": "1.0",
                      "type": "LightGBM, 60 trees, monotone in education and capital gain",
                      "owner": "Demo team", "accountable_executive": "Demo executive",
                      "contact": "steward-demo@example.org"},
            "intended_use": {"primary_uses": "Choosing which customers are offered a savings product",
                             "out_of_scope": ["Credit, employment or any decision with legal effect"]},
            "wording": {"people": "customers", "favourable": "offered the product",
                        "unfavourable": "not offered the product"},
            "risk": {"domain": "marketing", "people_affected": 500, "decisions_per_day": 50,
                     "human_review": True, "wrong_decision_cost": "low"}},
        "guard.yaml": {"protected": ["race", "sex"], "throttle": {"rate": 100, "burst": 500},
                       "screening": {"out_of_range": "review", "unseen_category": "review"},
                       "review": {"band": 0.03, "benchmark_disagreement": "flag"},
                       "reasons": {"count": 3, "texts": texts}},
    }
    for name, doc in files.items():
        (out / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    print(f"wrote the demo's models and inputs to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python examples/adult_credit/train.py OUT_DIR")
    main(Path(sys.argv[1]))
