"""Columns and frames the model tests share."""

from __future__ import annotations

import pandas as pd

NUM = ["age", "education-num", "hours-per-week", "capital-gain"]
CAT = ["sex", "race", "workclass"]


def as_categories(df: pd.DataFrame, *, reverse: bool = False) -> pd.DataFrame:
    """The model columns with the text ones as pandas categories; in reverse alphabetical order when asked,
    so their codes differ from the ones ``astype("category")`` gives the same text."""
    X = df[NUM + CAT].copy()
    for c in CAT:
        X[c] = pd.Categorical(X[c], categories=sorted(X[c].unique(), reverse=reverse))
    return X
