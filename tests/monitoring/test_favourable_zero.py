"""A deployment whose favourable decision is 0 (``favourable: 0``): its model's score is the probability of
decision 1 (decision = score >= threshold, as the guard decides and logs it), so the adverse outcome's. The
same predictions told both ways (favourable 1; and mirrored: score 1 - s, decision and label flipped,
favourable 0) are the same predictions, and every signal of the monitor must say the same of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from steward.monitoring import Monitor, MonitorSettings, build_reference, evaluate, reduce_batch

SETTINGS = {"window": {"by": "count", "size": 2000}, "min_rows": 100}


def _frame(seed: int, n: int) -> pd.DataFrame:
    """Calibrated scores of the favourable outcome (1 favourable), their decisions at 0.5, drawn labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    s = 1 / (1 + np.exp(-1.5 * x))
    return pd.DataFrame({"x": x, "sex": rng.choice(["F", "M"], n), "score": s, "decision": (s >= 0.5).astype(int),
                         "label": (rng.random(n) < s).astype(int)})


def _mirrored(f: pd.DataFrame) -> pd.DataFrame:
    """The same predictions as a favourable-0 model logs them: its score is the adverse outcome's probability."""
    return f.assign(score=1.0 - f["score"], decision=1 - f["decision"], label=1 - f["label"])


def _reference(frame: pd.DataFrame, favourable: int, score: bool = True):
    return build_reference(frame, features=["x"], protected=["sex"], reference_groups={"sex": "M"},
                           score="score" if score else None, decision="decision", label="label",
                           favourable=favourable)


def _signals(frame: pd.DataFrame, favourable: int) -> dict:
    ref = _reference(_frame(1, 5000) if favourable == 1 else _mirrored(_frame(1, 5000)), favourable)
    res = evaluate(ref, reduce_batch(frame, ref), MonitorSettings.model_validate(SETTINGS))
    return {"ref": ref, "fairness": res["fairness"],
            "signals": {(s["signal"], s["subject"]): s for s in res["signals"]}}


def _hand_estimate(window: pd.DataFrame) -> float:
    """Confidence-based estimation (NannyML's CBPE for accuracy): each decision is correct with the probability
    the calibrated score gives its decision; ``window`` is told with 1 favourable."""
    p = window["score"].to_numpy()
    return float(np.where(window["decision"] == 1, p, 1 - p).mean())


def test_the_reference_reads_a_favourable_zero_score_as_the_adverse_outcomes_probability():
    train = _frame(1, 5000)
    one, zero = _reference(train, 1), _reference(_mirrored(train), 0)
    assert zero.accuracy == pytest.approx(one.accuracy, rel=1e-12)
    assert zero.decision_rate == pytest.approx(one.decision_rate, rel=1e-12)
    assert zero.auc == pytest.approx(roc_auc_score(train["label"], train["score"]), rel=1e-12)
    assert zero.auc > 0.75  # an informative model, not its mirror image (1 - AUC)
    assert zero.score_mean == pytest.approx(one.score_mean, rel=1e-12)
    moved = np.abs(np.subtract(zero.score_counts, one.score_counts)).sum()
    assert moved <= 2 * 5  # 1 - (1 - s) may land across a bin's edge for a handful of the 5,000 rows


@pytest.mark.parametrize("labelled", [False, True])
def test_the_same_predictions_told_with_either_favourable_value_give_the_same_signals(labelled):
    window = _frame(2, 2000)
    told = window if labelled else window.drop(columns="label")
    one = _signals(told, 1)
    zero = _signals(_mirrored(window) if labelled else _mirrored(window).drop(columns="label"), 0)

    def measure(sig, key, name):
        return sig["signals"][key]["measures"][name]

    est = measure(zero, ("estimated_performance", "accuracy"), "accuracy")
    assert est == pytest.approx(_hand_estimate(window), rel=1e-9)
    assert est == pytest.approx(measure(one, ("estimated_performance", "accuracy"), "accuracy"), rel=1e-9)
    assert abs(est - zero["ref"].accuracy) < 0.03  # the reference's accuracy: the model has not changed
    assert measure(zero, ("estimated_performance", "auc"), "auc") == pytest.approx(
        measure(one, ("estimated_performance", "auc"), "auc"), abs=2e-3)
    assert measure(zero, ("prediction_drift", "score"), "psi") == pytest.approx(
        measure(one, ("prediction_drift", "score"), "psi"), abs=1e-3)
    if labelled:
        auc = measure(zero, ("performance", "auc"), "auc")
        assert auc == pytest.approx(roc_auc_score(window["label"], window["score"]), abs=2e-3)
        assert auc == pytest.approx(measure(one, ("performance", "auc"), "auc"), abs=2e-3)
        assert measure(zero, ("performance", "calibration"), "expected_calibration_error") == pytest.approx(
            measure(one, ("performance", "calibration"), "expected_calibration_error"), abs=2e-3)
        assert measure(zero, ("performance", "accuracy"), "accuracy") == pytest.approx(
            float((window["label"] == window["decision"]).mean()), rel=1e-12)
    for sig in (one, zero):
        assert [k for k, s in sig["signals"].items() if s["judged"] and s["breach"]] == []


def test_fairness_rates_are_of_the_favourable_decision():
    window = _frame(2, 2000)
    zero = _signals(_mirrored(window), 0)
    one = _signals(window, 1)
    rates = {r["group"]: r["rate"] for r in zero["fairness"] if r["attribute"] == "sex"}
    by_hand = window.groupby("sex")["decision"].mean()  # decision 1 is favourable in the unmirrored frame
    assert rates == pytest.approx(by_hand.to_dict(), rel=1e-12)
    assert rates == pytest.approx({r["group"]: r["rate"] for r in one["fairness"] if r["attribute"] == "sex"},
                                  rel=1e-12)


def test_a_deployments_monitor_raises_no_estimated_performance_alert_on_an_unchanged_model():
    """As a deployment's monitor judges it: the reference has the audit's accuracy and rates but no scores,
    and the window holds the log's raw scores and decisions, without labels yet."""
    ref = _reference(_mirrored(_frame(1, 5000)), 0, score=False)
    m = Monitor(ref, MonitorSettings.model_validate(SETTINGS))
    m.add(_mirrored(_frame(2, 2000)).drop(columns="label"))
    [(key, alerts)] = m.close_complete()
    assert alerts == []
    est = next(s for s in m.results[key]["signals"] if s["signal"] == "estimated_performance")
    assert est["judged"] and est["measures"]["accuracy"] == pytest.approx(_hand_estimate(_frame(2, 2000)), rel=1e-9)


def test_a_format_1_reference_of_a_favourable_0_model_is_read_the_right_way_round():
    """A reference stored before the score was oriented (format 1: raw score counts, mean and AUC) reads as
    the oriented one: monitors created then keep judging windows like for like."""
    from steward.monitoring import Reference

    mirrored = _mirrored(_frame(1, 5000))
    now = _reference(mirrored, 0).to_dict()
    assert now["format"] == 2
    raw = mirrored["score"].to_numpy()
    old = dict(now, format=1, score_counts=np.bincount(np.minimum((raw * 1000).astype(int), 999), minlength=1000).tolist(),
               score_mean=float(raw.mean()), auc=1.0 - now["auc"])
    back = Reference.from_dict(old)
    assert back.score_counts == now["score_counts"]
    assert back.score_mean == pytest.approx(now["score_mean"], abs=1e-12)
    assert back.auc == pytest.approx(now["auc"], abs=1e-12)
    assert Reference.from_dict(dict(old, favourable=1)).score_counts == old["score_counts"]  # favourable 1: as stored
