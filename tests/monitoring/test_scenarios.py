"""Seeded scenarios through the Monitor: each raises exactly the alerts it should, in the window it should.

A synthetic population stands in for a lender's applicants: two model inputs (``income``, ``age``), two
monitored features the model does not use (``tenure``, ``hours``), a category (``region``), and the
protected attributes ``race`` and ``sex``, independent of the features, so every group's adverse impact
ratio is 1 in the reference unless a scenario lowers it on purpose (by turning favourable decisions of a
group into adverse ones, to an exact ratio, so no scenario depends on sampling luck).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steward.monitoring import Monitor, MonitorSettings, build_reference

FEATURES = ["income", "age", "tenure", "hours", "region"]
PROTECTED = ["race", "sex"]
GROUPS = {"race": "White", "sex": "Male"}
DAY0 = pd.Timestamp("2026-06-01", tz="UTC")


def people(n: int, rng: np.random.Generator, *, black_female: float = 0.5) -> pd.DataFrame:
    """``n`` applicants; ``black_female`` is the share of women among Black applicants."""
    race = rng.choice(["White", "Black", "Asian"], size=n, p=[0.6, 0.25, 0.15])
    sex = np.where(rng.random(n) < np.where(race == "Black", black_female, 0.5), "Female", "Male")
    income = rng.lognormal(10.6, 0.4, size=n)
    age = rng.integers(18, 70, size=n)
    z = 1.3 * (np.log(income) - 10.6) / 0.4 + 0.7 * (age - 43.5) / 15
    score = 1.0 / (1.0 + np.exp(-z))
    return pd.DataFrame({
        "income": income, "age": age, "tenure": rng.gamma(2.0, 2.5, size=n),
        "hours": np.clip(rng.normal(40, 8, size=n), 5, 80),
        "region": rng.choice(["north", "south", "east", "west"], size=n, p=[0.3, 0.3, 0.2, 0.2]),
        "race": race, "sex": sex, "score": score, "decision": (score >= 0.5).astype(int),
        "label": (rng.random(n) < score).astype(int)})


def lower_rate(frame: pd.DataFrame, group: np.ndarray, versus: np.ndarray, ratio: float,
               rng: np.random.Generator) -> pd.DataFrame:
    """Turn favourable decisions of ``group`` adverse until its favourable rate is ``ratio`` times the rate
    of ``versus`` (to the nearest row)."""
    out = frame.copy()
    d = out["decision"].to_numpy().copy()
    target = ratio * d[versus].mean() * group.sum()
    k = int(round(d[group].sum() - target))
    assert k > 0
    d[rng.choice(np.flatnonzero(group & (d == 1)), size=k, replace=False)] = 0
    out["decision"] = d
    return out


def is_(frame: pd.DataFrame, **values) -> np.ndarray:
    return np.logical_and.reduce([frame[c].to_numpy() == v for c, v in values.items()])


def on_day(frame: pd.DataFrame, day: int, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    out["time"] = DAY0 + pd.Timedelta(days=day) + pd.to_timedelta(np.sort(rng.integers(0, 86_400, len(out))),
                                                                   unit="s")
    return out


@pytest.fixture(scope="module")
def reference_rows() -> pd.DataFrame:
    return people(40_000, np.random.default_rng(100))


@pytest.fixture(scope="module")
def ref(reference_rows):
    return build_reference(reference_rows, features=FEATURES, protected=PROTECTED, reference_groups=GROUPS,
                           score="score", decision="decision", label="label")


def run(ref, days: list[pd.DataFrame], settings: dict | None = None, *, seed: int = 0) -> tuple[Monitor, dict]:
    """Feed the days to a monitor, judge every window; ``{day: {(signal, subject), ...}}`` of the alerts."""
    rng = np.random.default_rng(seed)
    m = Monitor(ref, MonitorSettings.model_validate(settings or {}))
    m.add(pd.concat([on_day(f, i, rng) for i, f in enumerate(days)], ignore_index=True))
    closed = m.close(sorted(m.windows))
    assert len(closed) == len(days)
    return m, {i: {(a["signal"], a["subject"]) for a in al} for i, (_, al) in enumerate(closed)}


def signal_of(m: Monitor, day: int, signal: str, subject: str) -> dict:
    key = (DAY0 + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
    found = [s for s in m.results[key]["signals"] if s["signal"] == signal and s["subject"] == subject]
    assert len(found) == 1
    return found[0]


QUIET: set = set()


def test_stable_days_raise_nothing(ref):
    rng = np.random.default_rng(1)
    m, alerts = run(ref, [people(5_000, rng) for _ in range(4)])
    assert alerts == {0: QUIET, 1: QUIET, 2: QUIET, 3: QUIET}
    assert all(s["judged"] for s in m.results["2026-06-01"]["signals"] if s["signal"] == "feature_drift")


def test_covariate_shift_in_one_feature(ref):
    """``tenure`` (not a model input) grows by half on days 2 and 3: feature drift on it alone, raised when
    the streak starts (day 3 continues it, day 4 ends it). Its values stay mostly within the reference's
    range (under 1% above its maximum), so it is drift, not a data quality problem."""
    rng = np.random.default_rng(2)
    days = [people(5_000, rng) for _ in range(5)]
    for i in (2, 3):
        days[i]["tenure"] *= 1.5
    m, alerts = run(ref, days)
    assert alerts == {0: QUIET, 1: QUIET, 2: {("feature_drift", "tenure")}, 3: QUIET, 4: QUIET}
    assert signal_of(m, 3, "feature_drift", "tenure")["breach"]
    assert signal_of(m, 2, "data_quality", "tenure:out_of_range")["value"] < 0.01
    assert not signal_of(m, 2, "prediction_drift", "score")["breach"]


@pytest.mark.parametrize("constant, expected", [
    # a default written where the value went missing: out of the reference's range on every row
    (0.0, {("feature_drift", "hours"), ("data_quality", "hours:out_of_range")}),
    # the reference's median imputed on every row: within range, so only the distribution says it broke
    (40.0, {("feature_drift", "hours")}),
])
def test_broken_pipeline_one_column_constant(ref, constant, expected):
    rng = np.random.default_rng(3)
    days = [people(5_000, rng) for _ in range(3)]
    days[1]["hours"] = constant
    m, alerts = run(ref, days)
    assert alerts == {0: QUIET, 1: expected, 2: QUIET}
    # every value in one decile bin: PSI = 0.9 ln(1/0.1) + 9 x 0.1 ln(0.1/1e-4) = 8.3, far above 0.2
    assert signal_of(m, 1, "feature_drift", "hours")["measures"]["psi"] > 5


def test_fairness_drift_in_one_intersection_only(ref):
    """Black women's favourable rate is halved on day 2 (against White men's); they are a quarter of Black
    applicants, so Black applicants' ratio stays near 0.875 and women's near 0.94, above 0.8. Only the
    intersection alerts: its adverse impact ratio and, labels being known, its true positive rate ratio.
    The sequential detector is off here: a drop this large moves the marginal ratios by 0.06-0.13 at once,
    which it is built to notice (the slow-drift scenario tests it)."""
    rng = np.random.default_rng(4)
    days = [people(10_000, rng, black_female=0.25) for _ in range(4)]
    d = days[2]
    days[2] = lower_rate(d, is_(d, race="Black", sex="Female"), is_(d, race="White", sex="Male"), 0.5, rng)
    m, alerts = run(ref, days, {"fairness_drift": {"enabled": False}})
    subject = "race*sex=Black*Female"
    assert alerts == {0: QUIET, 1: QUIET, 2: {("fairness", f"{subject}:air"), ("fairness", f"{subject}:tpr_ratio")},
                      3: QUIET}
    assert signal_of(m, 2, "fairness", f"{subject}:air")["value"] == pytest.approx(0.5, abs=0.01)
    assert 0.8 < signal_of(m, 2, "fairness", "race=Black:air")["value"] < 0.95
    assert 0.8 < signal_of(m, 2, "fairness", "sex=Female:air")["value"] < 1.0


def test_slow_fairness_drift_is_caught_by_the_sequential_detector_only(ref):
    """From day 2 on women's favourable rate is 0.9 times men's: never below the 0.8 a single window judges,
    so no fairness alert; the CUSUM adds about 2 standard errors a window (2,500 rows a day) and alarms on
    the third drifted day, and again three days later. Intersections are off: each intersection with women
    drifts the same way and would alarm as well."""
    rng = np.random.default_rng(5)
    days = [people(2_500, rng) for _ in range(10)]
    for i in range(2, 10):
        d = days[i]
        days[i] = lower_rate(d, is_(d, sex="Female"), is_(d, sex="Male"), 0.9, rng)
    m, alerts = run(ref, days, {"fairness": {"intersections": False}})
    cusum = ("fairness_drift", "sex=Female:cusum")
    assert alerts == {0: QUIET, 1: QUIET, 2: QUIET, 3: QUIET, 4: {cusum}, 5: QUIET, 6: QUIET, 7: {cusum}, 8: QUIET,
                      9: QUIET}
    for i in range(2, 10):
        air = signal_of(m, i, "fairness", "sex=Female:air")
        assert air["judged"] and not air["breach"] and air["value"] == pytest.approx(0.9, abs=0.005)
    assert signal_of(m, 3, "fairness_drift", "sex=Female:cusum")["value"] > 3  # accumulating, not yet alarming


def test_a_huge_stable_window_does_not_alarm(ref_big):
    """Two days of 400,000 rows each, ``hours`` shifted by 0.02 standard deviations: a shift no one should be
    woken for, though with this many rows the KS test calls it certain (p < 1e-6). Thresholds are effect
    sizes, so nothing alarms. The reference has a stable intersection disparity (Black women at 0.9 of White
    men) that the sequential detector must measure from the reference's own ratio, not from 1."""
    ref, days = ref_big
    m, alerts = run(ref, days)
    assert alerts == {0: QUIET, 1: QUIET}
    for i in (0, 1):
        hours = signal_of(m, i, "feature_drift", "hours")
        assert hours["measures"]["ks_p_value"] < 1e-6
        assert hours["measures"]["psi"] < 0.01 and hours["measures"]["wasserstein"] < 0.05
        cusum = signal_of(m, i, "fairness_drift", "race*sex=Black*Female:cusum")
        assert cusum["measures"]["target"] == pytest.approx(0.9, abs=0.01)
        assert cusum["value"] < 1


@pytest.fixture(scope="module")
def ref_big():
    rng = np.random.default_rng(6)

    def rows(n):
        f = people(n, rng).drop(columns=["region", "tenure"])
        return lower_rate(f, is_(f, race="Black", sex="Female"), is_(f, race="White", sex="Male"), 0.9, rng)

    ref = build_reference(rows(400_000), features=["income", "age", "hours"], protected=PROTECTED,
                          reference_groups=GROUPS, score="score", decision="decision", label="label")
    days = [rows(400_000) for _ in range(2)]
    for d in days:
        d["hours"] += 0.02 * 8
    return ref, days


# --- extraction ----------------------------------------------------------------------------------------------


def extraction_day(rng: np.random.Generator) -> pd.DataFrame:
    """One day of queries: 3,000 ordinary applicants from the app, and 150 queries from an attacker probing
    the model around 5 real applicants (each a seed with 1% noise on its continuous features)."""
    app = people(3_000, rng)
    app["key_id"] = "app"
    seeds = people(5, rng)
    attack = seeds.iloc[rng.integers(0, 5, 150)].reset_index(drop=True)
    for c in ("income", "tenure", "hours"):
        attack[c] *= 1 + rng.normal(0, 0.01, len(attack))
    attack["key_id"] = "attacker"
    both = pd.concat([app, attack], ignore_index=True)
    return both.iloc[rng.permutation(len(both))].reset_index(drop=True)


def test_extraction_detector_separates_the_attacker(ref):
    m, alerts = run(ref, [extraction_day(np.random.default_rng(7))])
    attacker = signal_of(m, 0, "extraction", "attacker")
    app = signal_of(m, 0, "extraction", "app")
    assert attacker["judged"] and attacker["breach"] and attacker["value"] < 0.5
    assert ("extraction", "attacker") in alerts[0]
    assert app["judged"] and app["value"] > attacker["value"] + 0.2


def test_extraction_alerts_for_the_attacker_only(ref):
    """Under the default threshold (0.65): benign tabular traffic's distances are right-skewed (W about 0.8-0.9),
    an extraction attack's far more so (W < 0.5)."""
    m, alerts = run(ref, [extraction_day(np.random.default_rng(7))])
    app = signal_of(m, 0, "extraction", "app")
    assert alerts == {0: {("extraction", "attacker")}}, f"benign key's W = {app['value']:.3f}"


# --- consecutive windows -----------------------------------------------------------------------------------------


def test_consecutive_two_alerts_on_the_second_breaching_window_in_a_row(ref):
    """tenure drifts on days 1, 3, 4 and 5: day 1 alone is no streak, day 3 starts one, day 4 makes it two
    (the alert), day 5 continues it."""
    rng = np.random.default_rng(8)
    days = [people(5_000, rng) for _ in range(6)]
    for i in (1, 3, 4, 5):
        days[i]["tenure"] *= 1.5
    m, alerts = run(ref, days, {"feature_drift": {"consecutive": 2}})
    assert alerts == {0: QUIET, 1: QUIET, 2: QUIET, 3: QUIET, 4: {("feature_drift", "tenure")}, 5: QUIET}
    assert all(signal_of(m, i, "feature_drift", "tenure")["breach"] for i in (1, 3, 4, 5))
    assert m.state["streaks"]["feature_drift|tenure"] == 3


def test_extraction_on_a_reference_of_numbers_only():
    """A reference without category features (or without number features) gives the detector zero columns
    on one side; the history must still grow and be read back across runs."""
    rng = np.random.default_rng(9)
    rows = people(2_000, rng)
    for features in (["income", "age"], ["region"]):
        ref = build_reference(rows, features=features)
        # judged with one or two inputs here (the default asks for four: in few dimensions benign distances skew)
        settings = MonitorSettings.model_validate({"window": {"by": "count", "size": 300},
                                                   "extraction": {"min_dimensions": 1}})
        q = people(600, rng)
        q["key_id"] = "app"
        m = Monitor(ref, settings)
        m.add(q.iloc[:300])
        m.close_complete()
        again = Monitor(ref, settings, windows=m.windows, state=m.state)
        again.add(q.iloc[300:])
        (_, _), = again.close_complete()
        sig = [s for s in again.results["#000001"]["signals"] if s["signal"] == "extraction"]
        assert len(sig) == 1 and sig[0]["judged"] and sig[0]["measures"]["queries"] == 600


# --- missing evidence, and what a small window shows -----------------------------------------------------------


def test_a_protected_attribute_gone_or_recoded_upstream_is_a_fairness_breach_not_silence(ref):
    """Fairness that cannot be measured has failed: with sex missing on day 1 and recoded to lower case on day 2,
    the reference group Male has no decisions, and each day says so (an alert on the first)."""
    rng = np.random.default_rng(21)
    days = [people(5_000, rng) for _ in range(3)]
    days[1]["sex"] = None
    days[2]["sex"] = days[2]["sex"].str.lower()
    m, alerts = run(ref, days)
    assert alerts[0] == QUIET
    assert ("fairness", "sex:reference_group") in alerts[1]
    missing = signal_of(m, 1, "fairness", "sex:reference_group")
    assert missing["breach"] and missing["value"] == 0 and missing["measures"]["missing"] == 5_000
    recoded = signal_of(m, 2, "fairness", "sex:reference_group")
    assert recoded["breach"] and set(recoded["measures"]["groups_seen"]) == {"female", "male"}
    assert not signal_of(m, 0, "fairness", "sex:reference_group")["breach"]


def test_a_window_too_small_to_judge_shows_no_value_that_could_single_people_out(ref):
    rng = np.random.default_rng(22)
    m, alerts = run(ref, [people(5_000, rng), people(40, rng)], {"min_rows": 100})
    small = (DAY0 + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    res = m.results[small]
    assert not res["judged"] and res["fairness"] == [] and alerts[1] == QUIET
    rows = [s for s in res["signals"] if s["signal"] in ("feature_drift", "data_quality", "fairness", "performance",
                                                         "prediction_drift", "estimated_performance")]
    assert rows and all(s["value"] is None and s["measures"] == {} and not s["judged"] for s in rows)
    big = m.results[DAY0.strftime("%Y-%m-%d")]
    assert all(s["value"] is not None for s in big["signals"] if s["signal"] == "feature_drift")
