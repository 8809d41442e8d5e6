"""The training profile and its per-row screen, checked against pandas on the shipped German and Adult data."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.datasets import load_adult, load_german
from steward.serving._profile import FieldError, Screen, TrainingProfile, build_profile, row_key

LEVELS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def json_rows(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return load_german().drop(columns="class")


@pytest.fixture(scope="module")
def german_profile(german) -> TrainingProfile:
    return build_profile(german)


@pytest.fixture
def row(german) -> dict:
    return json_rows(german.iloc[:1])[0]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train", dropna=True)


@pytest.fixture(scope="module")
def adult_features(adult) -> list[str]:
    return [c for c in adult.columns if c != "income"]


@pytest.fixture(scope="module")
def adult_profile(adult, adult_features) -> TrainingProfile:
    return build_profile(adult, adult_features)


@pytest.fixture(scope="module")
def adult_raw_profile() -> TrainingProfile:
    return build_profile(load_adult("train"))


# --- the profile against pandas -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["german", "adult"])
def test_number_features_match_pandas(name, request):
    frame = request.getfixturevalue(name)
    profile = request.getfixturevalue(f"{name}_profile")
    numbers = frame.select_dtypes("number").columns
    assert len(numbers) >= 6
    for col in numbers:
        feature = profile.features[col]
        assert feature.kind == "number"
        assert feature.missing_rate == frame[col].isna().mean() == 0.0
        assert feature.min == frame[col].min() and feature.max == frame[col].max()
        assert feature.quantiles == pytest.approx(frame[col].quantile(LEVELS).tolist(), rel=1e-12)
        assert feature.integer is True
        assert feature.categories is None


@pytest.mark.parametrize("name", ["german", "adult"])
def test_category_counts_match_value_counts(name, request):
    frame = request.getfixturevalue(name)
    profile = request.getfixturevalue(f"{name}_profile")
    texts = [c for c in profile.features if not pd.api.types.is_numeric_dtype(frame[c])]
    assert len(texts) >= 7
    for col in texts:
        feature = profile.features[col]
        assert feature.kind == "category"
        assert feature.categories == frame[col].value_counts().to_dict()
        assert feature.min is feature.max is feature.quantiles is None


def test_profile_keeps_the_feature_order_and_counts_rows(adult, adult_profile, adult_features):
    assert list(adult_profile.features) == adult_features
    assert "income" not in adult_profile.features
    assert adult_profile.rows == len(adult) == 30162


def test_missing_rates_match_pandas_on_adult_with_missing_values(adult_raw_profile):
    raw = load_adult("train")
    for col in raw.columns:
        assert adult_raw_profile.features[col].missing_rate == pytest.approx(raw[col].isna().mean(), abs=1e-15)
    workclass = adult_raw_profile.features["workclass"]
    assert workclass.missing_rate == pytest.approx(1836 / 32561)
    assert sum(workclass.categories.values()) == 32561 - 1836


def test_quantiles_min_max_and_missing_against_hand_computation():
    frame = pd.DataFrame({"x": [0.0, 10.0, None, None], "y": [3, 1, 2, 5]})
    profile = build_profile(frame)
    x, y = profile.features["x"], profile.features["y"]
    assert x.missing_rate == 0.5 and (x.min, x.max) == (0.0, 10.0)
    assert x.quantiles == pytest.approx([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    # y sorted is 1, 2, 3, 5: the 0.5 quantile lies halfway between 2 and 3, the 0.9 one at 3 + 0.7 * (5 - 3)
    assert y.quantiles[5] == pytest.approx(2.5) and y.quantiles[9] == pytest.approx(4.4)
    assert y.integer is True and x.integer is True
    assert build_profile(pd.DataFrame({"z": [0.5, 1.0]})).features["z"].integer is False


def test_kinds_for_bool_categorical_and_nullable_columns():
    frame = pd.DataFrame({
        "flag": [True, False, True, True],
        "grade": pd.Categorical([1, 2, 2, None]),
        "count": pd.array([1, None, 3, 4], dtype="Int64"),
        "city": ["a", None, "b", "a"],
    })
    profile = build_profile(frame)
    assert profile.features["flag"].kind == "number"
    assert (profile.features["flag"].min, profile.features["flag"].max) == (0.0, 1.0)
    assert profile.features["grade"].kind == "category"
    assert profile.features["grade"].categories == {"2": 2, "1": 1}
    assert profile.features["grade"].missing_rate == 0.25
    assert profile.features["count"].kind == "number" and profile.features["count"].missing_rate == 0.25
    assert profile.features["city"].categories == {"a": 2, "b": 1}


def test_build_profile_refuses_a_missing_column_and_an_empty_frame(german):
    with pytest.raises(ValueError, match="'no_such_column'") as info:
        build_profile(german, ["age_years", "no_such_column"])
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="no rows"):
        build_profile(german.iloc[:0])
    with pytest.raises(ValueError, match="'age_years'"):
        build_profile(german, ["age_years", "age_years"])


# --- training rows --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["german", "adult"])
def test_every_training_row_sent_as_json_is_flagged(name, request):
    profile = request.getfixturevalue(f"{name}_profile")
    screen = Screen(profile, allow_extra=["income"])
    rows = json_rows(request.getfixturevalue(name))
    assert all("training_row" in screen.screen(screen.validate(row)) for row in rows)


def test_pandas_rows_and_json_rows_have_the_same_key(german, german_profile):
    features = list(german_profile.features)
    columns = {c: german[c].to_numpy() for c in features}  # numpy scalars, as pandas hands them out
    for i, row in enumerate(json_rows(german)):
        pandas_row = {c: columns[c][i] for c in features}
        assert isinstance(pandas_row["age_years"], np.integer)
        assert row_key(pandas_row, features) == row_key(row, features)
        assert row_key(pandas_row, features) in german_profile.row_hashes


def test_ints_read_as_float64_and_missing_values_keep_the_key():
    frame = pd.DataFrame({"n": [1, 2, 3], "c": ["a", "b", "c"]})
    with_nan = pd.DataFrame({"n": [1, 2, None], "c": ["a", "b", None]})
    assert with_nan["n"].dtype == np.float64
    keys = {row_key({"n": with_nan["n"].to_numpy()[i], "c": with_nan["c"].iloc[i]}, ["n", "c"]) for i in range(3)}
    assert row_key({"n": 1, "c": "a"}, ["n", "c"]) in keys
    assert row_key({"n": None, "c": None}, ["n", "c"]) in keys
    assert row_key({"n": float("nan"), "c": float("nan")}, ["n", "c"]) in keys
    assert row_key({"c": None}, ["n", "c"]) in keys
    profile = build_profile(frame)
    assert row_key({"n": 2.0, "c": "b"}, ["n", "c"]) in profile.row_hashes


def test_json_int_and_float_give_the_same_key():
    features = ["a", "b"]
    assert row_key({"a": 1, "b": "x"}, features) == row_key({"a": 1.0, "b": "x"}, features)
    assert row_key({"a": json.loads("1"), "b": "x"}, features) == row_key(json.loads('{"a": 1.0, "b": "x"}'), features)
    assert row_key({"a": -0.0, "b": "x"}, features) == row_key({"a": 0, "b": "x"}, features)
    assert row_key({"a": 1, "b": "x"}, features) != row_key({"a": 1, "b": "y"}, features)
    assert row_key({"a": 1, "b": "x"}, features) != row_key({"a": 1.5, "b": "x"}, features)
    assert row_key({"a": None, "b": "x"}, features) != row_key({"a": 0, "b": "x"}, features)
    assert row_key({"a": "ab", "b": "c"}, features) != row_key({"a": "a", "b": "bc"}, features)
    assert 0 <= row_key({"a": 1, "b": "x"}, features) < 2 ** 64


def test_perturbed_rows_are_not_training_rows(german, german_profile, adult, adult_profile, row):
    for frame, profile, number in ((german, german_profile, "age_years"), (adult, adult_profile, "age")):
        screen = Screen(profile, allow_extra=["income"])
        for record in json_rows(frame.iloc[:300]):
            nudged = dict(record, **{number: record[number] + 0.5})
            assert "training_row" not in screen.screen(screen.validate(nudged))
    screen = Screen(german_profile)
    assert "training_row" in screen.screen(screen.validate(row))
    other = "A44" if row["purpose"] != "A44" else "A43"
    assert "training_row" not in screen.screen(screen.validate(dict(row, purpose=other)))


# --- flags ----------------------------------------------------------------------------------------------

def test_out_of_range_and_unseen_category_flags(german, german_profile, row):
    screen = Screen(german_profile)
    high = german["duration_months"].max()
    width = high - german["duration_months"].min()
    flags = screen.screen(screen.validate(dict(row, duration_months=high + 1)))
    assert flags == ["out_of_range:duration_months"]
    assert screen.screen(screen.validate(dict(row, duration_months=high))) == []
    low = screen.screen(screen.validate(dict(row, age_years=german["age_years"].min() - 1)))
    assert low == ["out_of_range:age_years"]
    assert screen.screen(screen.validate(dict(row, purpose="A499"))) == ["unseen_category:purpose"]
    widened = Screen(german_profile, range_margin=0.1)
    assert widened.screen(widened.validate(dict(row, duration_months=high + 0.1 * width))) == []
    assert widened.screen(widened.validate(dict(row, duration_months=high + 0.1 * width + 1))) == [
        "out_of_range:duration_months"]


def test_flags_come_in_feature_order_then_anomalous_then_training_row(german_profile, row):
    screen = Screen(german_profile)
    bad = dict(row, age_years=1e9, checking_status="A19", duration_months=-5)
    assert screen.screen(screen.validate(bad)) == [
        "unseen_category:checking_status", "out_of_range:duration_months", "out_of_range:age_years", "anomalous"]


def test_anomalous_when_half_the_features_are_off(german_profile, row):
    screen = Screen(german_profile)
    categories = [c for c, f in german_profile.features.items() if f.kind == "category"]
    assert len(german_profile.features) == 20 and len(categories) >= 10
    nine = dict(row, **{c: "unseen" for c in categories[:9]})
    assert "anomalous" not in screen.screen(screen.validate(nine))
    ten = dict(row, **{c: "unseen" for c in categories[:10]})
    flags = screen.screen(screen.validate(ten))
    assert flags[-1] == "anomalous" and len(flags) == 11


def test_anomalous_when_a_number_is_ten_range_widths_out(german, german_profile, row):
    screen = Screen(german_profile)
    low, high = german["age_years"].min(), german["age_years"].max()
    edge = high + 10 * (high - low)
    assert screen.screen(screen.validate(dict(row, age_years=edge))) == ["out_of_range:age_years"]
    assert screen.screen(screen.validate(dict(row, age_years=edge + 1))) == ["out_of_range:age_years", "anomalous"]
    assert screen.screen(screen.validate(dict(row, age_years=1e9)))[-1] == "anomalous"
    assert screen.screen(screen.validate(dict(row, age_years=low - 10 * (high - low) - 1)))[-1] == "anomalous"


# --- validation -----------------------------------------------------------------------------------------

def test_validate_returns_floats_and_strings_in_feature_order(adult, adult_profile):
    screen = Screen(adult_profile, allow_extra=["income", "subject_id"])
    row = dict(json_rows(adult.iloc[:1])[0], subject_id="s-1")
    out = screen.validate(row)
    assert list(out) == list(adult_profile.features)
    assert all(type(out[c]) is float for c, f in adult_profile.features.items() if f.kind == "number")
    assert all(type(out[c]) is str for c, f in adult_profile.features.items() if f.kind == "category")
    assert screen.validate(dict(row, age="42", sex=True))["age"] == 42.0
    assert screen.validate(dict(row, sex=True))["sex"] == "True"
    assert screen.validate(dict(row, age=True))["age"] == 1.0


def test_null_is_fine_where_training_had_missing_values(adult_raw_profile):
    screen = Screen(adult_raw_profile)
    row = {name: None for name in adult_raw_profile.features}
    row.update({name: 1 for name, f in adult_raw_profile.features.items() if f.kind == "number"})
    row.update({name: "x" for name in ("education", "marital-status", "relationship", "race", "sex", "income")})
    out = screen.validate(row)
    assert out["workclass"] is None and out["occupation"] is None and out["native-country"] is None


@pytest.mark.parametrize("field, value, words", [
    ("age_years", "forty", ["must be a number", "'forty'"]),
    ("age_years", "", ["must be a number"]),
    ("age_years", float("nan"), ["finite"]),
    ("age_years", float("inf"), ["finite"]),
    ("age_years", -1e39, ["3.4e+38"]),
    ("age_years", 10 ** 400, ["3.4e+38"]),
    ("age_years", [30], ["must be a number", "array"]),
    ("purpose", ["A40"], ["single category", "array"]),
    ("purpose", {"code": "A40"}, ["single category", "object"]),
    ("purpose", None, ["training never had it missing", "send a value"]),
    ("age_years", None, ["training never had it missing", "send a value"]),
])
def test_field_errors_name_the_field(german_profile, row, field, value, words):
    with pytest.raises(FieldError) as info:
        Screen(german_profile).validate(dict(row, **{field: value}))
    message = str(info.value)
    assert isinstance(info.value, ValueError) and info.value.field == field and repr(field) in message
    assert "\n" not in message and all(word in message for word in words)


def test_a_missing_feature_is_named(german_profile, row):
    del row["housing"]
    with pytest.raises(FieldError, match="'housing'.*every feature.*null for a missing value") as info:
        Screen(german_profile).validate(row)
    assert info.value.field == "housing"


def test_unknown_fields_are_refused_unless_allowed(german_profile, row):
    with_id = dict(row, subject_id="s-17")
    with pytest.raises(FieldError, match="'subject_id'.*not a feature.*checking_status, duration_months") as info:
        Screen(german_profile).validate(with_id)
    assert info.value.field == "subject_id"
    out = Screen(german_profile, allow_extra=["subject_id"]).validate(with_id)
    assert "subject_id" not in out and len(out) == 20
    with pytest.raises(FieldError, match="'other'.*extra fields allowed: subject_id"):
        Screen(german_profile, allow_extra=["subject_id"]).validate(dict(with_id, other=1))


def test_a_row_that_is_not_an_object_is_a_field_error(german_profile):
    with pytest.raises(FieldError, match="JSON object") as info:
        Screen(german_profile).validate([1, 2, 3])
    assert info.value.field == "<row>"


# --- storage --------------------------------------------------------------------------------------------

def test_to_dict_round_trips_through_json(adult_raw_profile):
    data = adult_raw_profile.to_dict()
    assert data["format"] == 1 and data["rows"] == 32561
    text = json.dumps(data, allow_nan=False)
    again = TrainingProfile.from_dict(json.loads(text))
    assert again == adult_raw_profile
    assert list(again.features) == list(adult_raw_profile.features)
    assert again.sha256() == adult_raw_profile.sha256()
    keys = np.frombuffer(base64.b64decode(data["row_hashes"]), dtype="<u8")
    assert keys.tolist() == sorted(adult_raw_profile.row_hashes)


def test_sha256_changes_with_the_content(german_profile):
    data = german_profile.to_dict()
    data["features"][0]["missing_rate"] = 0.5
    assert TrainingProfile.from_dict(data).sha256() != german_profile.sha256()
    assert len(german_profile.sha256()) == 64


@pytest.mark.parametrize("change", [
    lambda d: d.update(format=2),
    lambda d: d.pop("rows"),
    lambda d: d.update(rows="many"),
    lambda d: d.update(features={}),
    lambda d: d["features"][0].update(kind="text"),
    lambda d: d["features"][0].update(name=""),
    lambda d: d["features"][1].update(missing_rate=1.5),
    lambda d: d["features"][1].update(quantiles=[1, 2]),
    lambda d: d["features"][1].update(min="low"),
    lambda d: d["features"][1].update(min=1e9),
    lambda d: d["features"][0].update(categories={"A11": -1}),
    lambda d: d["features"][0].update(categories=None),
    lambda d: d["features"].append(d["features"][0]),
    lambda d: d.update(row_hashes="not base64!"),
    lambda d: d.update(row_hashes=base64.b64encode(b"1234567").decode()),
    lambda d: d.update(row_hashes=None),
])
def test_from_dict_refuses_malformed_profiles(german_profile, change):
    data = json.loads(json.dumps(german_profile.to_dict()))
    change(data)
    with pytest.raises(ValueError, match="training profile is malformed") as info:
        TrainingProfile.from_dict(data)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("garbage", [None, [], "profile", {"format": 1}, {}])
def test_from_dict_refuses_garbage(garbage):
    with pytest.raises(ValueError, match="training profile is malformed"):
        TrainingProfile.from_dict(garbage)


# --- property: keys do not depend on the representation -------------------------------------------------

numbers_ = st.one_of(st.none(), st.integers(-(2 ** 53), 2 ** 53),
                     st.floats(min_value=-(2.0 ** 126), max_value=2.0 ** 126, width=32))
texts = st.one_of(st.none(), st.text(max_size=8), st.integers(-99, 99).map(str))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(numbers_, texts), min_size=1, max_size=5))
def test_row_key_is_the_same_for_every_representation(rows):
    frame = pd.DataFrame({"n": [n for n, _ in rows], "c": pd.Series([c for _, c in rows], dtype=object)})
    features = ["n", "c"]
    categorical = frame["c"].astype("category")
    records = json.loads(json.dumps([{"n": n, "c": c} for n, c in rows]))
    profile = build_profile(frame)
    screen = Screen(profile)
    for i, (n, c) in enumerate(rows):
        key = row_key({"n": n, "c": c}, features)
        as_float = None if n is None else float(n)
        assert row_key({"n": as_float, "c": c}, features) == key
        assert row_key({"n": frame["n"].to_numpy()[i], "c": categorical.iloc[i]}, features) == key
        assert row_key(records[i], features) == key
        if n is not None and float(n).is_integer() and abs(n) < 2 ** 62:
            whole = int(float(n))
            assert row_key({"n": whole, "c": c}, features) == key
            if c is None or not c.endswith("\x00"):  # numpy's str_ drops trailing NULs: np.str_("\x00") == ""
                assert row_key({"n": np.int64(whole), "c": None if c is None else np.str_(c)}, features) == key
        assert key in profile.row_hashes
        assert "training_row" in screen.screen(screen.validate(records[i]))
        assert row_key(screen.validate(records[i]), features) == key
    assert len(profile.row_hashes) == len({(None if n is None else float(n) + 0.0, c) for n, c in rows})
