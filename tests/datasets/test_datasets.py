import hashlib

import pandas as pd

import steward
from steward import datasets


def test_compas_copy_matches_the_shared_file_minus_personal_columns(compas, compas_csv):
    original = pd.read_csv(compas_csv)
    assert hashlib.sha256(compas_csv.read_bytes()).hexdigest() in datasets.provenance()
    assert len(compas) == len(original) == 7214
    assert not {"name", "first", "last", "dob"} & set(compas.columns)
    assert compas.columns.is_unique
    for col in compas.columns:
        pd.testing.assert_series_equal(compas[col], original[col], check_names=False)


def test_propublica_filter_gives_their_row_counts():
    df = datasets.load_compas(propublica_filter=True)
    assert len(df) == 6172
    assert df["race"].value_counts()["African-American"] == 3175
    assert int(df["two_year_recid"].sum()) == 2809


def test_import_steward_stays_light():
    import subprocess
    import sys

    code = "import sys, steward; print(' '.join(m for m in ('fastapi', 'sqlalchemy', 'pyspark', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import steward pulled in: {out}"
    assert steward.__version__


def test_adult_matches_the_uci_counts():
    # Counts from shared/data/adult/README.md (the UCI files).
    train, test = steward.datasets.load_adult(), steward.datasets.load_adult("test")
    assert train.shape == (32561, 15) and test.shape == (16281, 15)
    assert train["income"].value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert test["income"].value_counts().to_dict() == {"<=50K": 12435, ">50K": 3846}
    assert train["sex"].value_counts().to_dict() == {"Male": 21790, "Female": 10771}
    assert len(steward.datasets.load_adult(dropna=True)) == 30162
    assert len(steward.datasets.load_adult("test", dropna=True)) == 15060


def test_german_matches_the_uci_counts():
    df = steward.datasets.load_german()
    assert df.shape == (1000, 21)
    assert df["class"].value_counts().to_dict() == {1: 700, 2: 300}
    assert df["personal_status_sex"].value_counts().to_dict() == {"A93": 548, "A92": 310, "A94": 92, "A91": 50}
    assert int((df["age_years"] > 25).sum()) == 810
