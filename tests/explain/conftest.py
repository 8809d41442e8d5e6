from __future__ import annotations

import pandas as pd
import pytest

from steward.datasets import load_german

pytest.importorskip("shap")


@pytest.fixture(scope="session")
def german():
    """German credit: the 20 features (text codes as read from CSV) and y = 1 for a bad credit risk."""
    df = load_german()
    return df.drop(columns="class"), (df["class"] == 2).astype(int).to_numpy()


@pytest.fixture(scope="session")
def german_lgbm(german):
    """A LightGBM classifier on German credit, text columns as pandas categories."""
    import lightgbm as lgb

    X, y = german
    Xc = X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)})
    return lgb.LGBMClassifier(n_estimators=80, num_leaves=8, learning_rate=0.05, random_state=0, verbose=-1).fit(Xc, y)
