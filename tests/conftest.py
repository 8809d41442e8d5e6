from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import steward

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
                 "native-country", "income"]


@pytest.fixture(scope="session")
def compas() -> pd.DataFrame:
    return steward.datasets.load_compas()


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    path = SHARED / "adult" / "adult.data"
    if not path.exists():
        pytest.skip(f"{path} is not here (it comes with the project's shared/ folder)")
    df = pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True)
    # A transparent rule stands in for a model: it makes decisions that differ by group.
    df["pred"] = ((df["education-num"] >= 13) | (df["capital-gain"] > 5000)).astype(int)
    df["y"] = (df["income"] == ">50K").astype(int)
    df["score"] = df["education-num"] + df["hours-per-week"] / 10.0
    return df


@pytest.fixture(scope="session")
def compas_csv() -> Path:
    path = SHARED / "compas" / "compas-scores-two-years.csv"
    if not path.exists():
        pytest.skip(f"{path} is not here (it comes with the project's shared/ folder)")
    return path


def quiet_audit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", steward.StewardWarning)
        return steward.audit(data, **kw)


def small_frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "race": rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2]),
        "sex": rng.choice(["F", "M"], size=n),
        "y": rng.integers(0, 2, size=n),
        "d": rng.integers(0, 2, size=n),
        "s": rng.normal(size=n),
        "w": rng.uniform(0.5, 2.0, size=n),
    })
