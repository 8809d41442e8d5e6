"""Public datasets shipped with Steward, for tests, demos and notebooks (no download needed).

Provenance and the changes made to each file are in ``files/PROVENANCE.md`` beside this module.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from steward.errors import StewardError

__all__ = ["load_compas", "load_adult", "load_german", "path", "names", "provenance"]

_FILES = {
    "compas": "compas-scores-two-years.csv.gz",
    "adult": "adult-train.csv.gz",
    "adult-test": "adult-test.csv.gz",
    "german": "german-credit.csv.gz",
    # Card info for the COMPAS demo: wording, model details from public sources, risk answers.
    "compas-card": "compas_model_card.yaml",
    # Reviewed reason texts for adverse decisions on German credit (steward explain --reasons).
    "german-reasons": "german_credit_reasons.yaml",
}


def names() -> list[str]:
    """Names of the shipped datasets."""
    return sorted(_FILES)


def path(name: str) -> Path:
    """Path of a shipped file: a dataset (gzip-compressed CSV that DuckDB and pandas read as is) or
    the card info that goes with one (``compas-card``)."""
    if name not in _FILES:
        raise StewardError(f"no dataset named {name!r}; the shipped datasets are: {', '.join(names())}")
    return Path(str(resources.files("steward.datasets") / "files" / _FILES[name]))


def provenance() -> str:
    """Where each shipped dataset comes from and what was changed."""
    return (resources.files("steward.datasets") / "files" / "PROVENANCE.md").read_text(encoding="utf-8")


def load_compas(*, propublica_filter: bool = False) -> pd.DataFrame:
    """ProPublica's COMPAS two-year recidivism data (7,214 rows; personal columns removed).

    Parameters
    ----------
    propublica_filter : bool
        Apply the filters of ProPublica's analysis notebook, leaving 6,172 rows.

    Examples
    --------
    >>> from steward.datasets import load_compas
    >>> load_compas().shape[0], load_compas(propublica_filter=True).shape[0]
    (7214, 6172)
    """
    df = pd.read_csv(path("compas"))
    if propublica_filter:
        keep = (
            df["days_b_screening_arrest"].between(-30, 30)
            & (df["is_recid"] != -1)
            & (df["c_charge_degree"] != "O")
            & (df["score_text"] != "N/A")
        )
        df = df[keep].reset_index(drop=True)
    return df


def load_adult(split: str = "train", *, dropna: bool = False) -> pd.DataFrame:
    """UCI Adult ("Census Income"): 32,561 training rows or 16,281 test rows.

    Values are the original text with whitespace stripped; ``income`` is ``<=50K`` or ``>50K`` in
    both splits (the test file's final period is removed). Missing values (``?`` in the UCI files)
    are NaN; ``dropna=True`` drops those rows (30,162 and 15,060 remain).

    Examples
    --------
    >>> from steward.datasets import load_adult
    >>> load_adult().shape, load_adult("test", dropna=True).shape
    ((32561, 15), (15060, 15))
    """
    if split not in ("train", "test"):
        raise StewardError(f"split must be 'train' or 'test', got {split!r}")
    df = pd.read_csv(path("adult" if split == "train" else "adult-test"), na_values=["?"])
    return df.dropna().reset_index(drop=True) if dropna else df


def load_german() -> pd.DataFrame:
    """Statlog German Credit (1,000 rows): the UCI codes (``A11``...) as they are, ``class`` 1 = good
    risk, 2 = bad risk. ``personal_status_sex`` folds sex into marital status (A92 = female) and
    ``age_years`` is the applicant's age; see ``provenance()`` for the known coding errors.

    Examples
    --------
    >>> from steward.datasets import load_german
    >>> load_german()["class"].value_counts().to_dict()
    {1: 700, 2: 300}
    """
    return pd.read_csv(path("german"))
