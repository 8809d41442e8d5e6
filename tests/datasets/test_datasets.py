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
