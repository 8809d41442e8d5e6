"""The model-in-the-loop part of an audit: score the data with a model, then the analyses that need
the model or its errors (slices, residuals, benchmark comparison, churn against a previous version).

The core audit only needs decision columns; this module is what ``steward audit --model`` and
``--features`` add. Analysis settings come from the policy tier's checks when it has them, so the
search the check judges is the search the policy asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.data import open_source
from steward.data._source import load_frame
from steward.errors import DataValidationError, RoleError

__all__ = ["MODEL_SCORE", "read_frame", "load_any_model", "score_with_model", "run_analyses"]

MODEL_SCORE = "model_score"


def read_frame(data: Any, what: str = "data") -> pd.DataFrame:
    """All columns of ``data`` (DataFrame, Arrow table or CSV/Parquet path) as a DataFrame."""
    src = open_source(data)
    if src.frame is not None:
        return src.frame
    if src.table is not None:
        return src.table.to_pandas()
    try:
        return load_frame(src, list(src.columns)).frame
    except DataValidationError as exc:
        raise DataValidationError(f"{what}: {exc}") from None


def load_any_model(model: Any, *, trust_pickle: bool = False, sha256: str | None = None,
                   trusted_types: Sequence[str] | None = None, features: Sequence[str] | None = None):
    """A Steward model from a path (safe loading) or an in-memory object (wrapped)."""
    from steward.models import load_model, wrap_model

    if isinstance(model, (str, Path)):
        return load_model(model, trust_pickle=trust_pickle, sha256=sha256, trusted_types=trusted_types,
                          features=list(features) if features else None)
    return wrap_model(model, features=list(features) if features else None)


def score_with_model(frame: pd.DataFrame, model: Any) -> np.ndarray:
    if MODEL_SCORE in frame.columns:
        raise RoleError(f"the data already has a column named {MODEL_SCORE!r}, where the model's scores would go; "
                        f"rename it, or audit that column with --score instead of --model")
    score = np.asarray(model.score(frame), dtype=float)
    if score.shape != (len(frame),) or not np.isfinite(score).all():
        raise DataValidationError("the model returned scores that are not one finite number per row")
    return score


def _tier_params(tier: Any, name: str, default: Any) -> Any:
    if tier is not None and name in tier.checks:
        return tier.checks[name]
    return default


def run_analyses(
    frame: pd.DataFrame,
    *,
    y: np.ndarray,
    decision: np.ndarray,
    score: np.ndarray | None,
    features: Sequence[str],
    protected: Sequence[str],
    favourable: int,
    threshold: float,
    model: Any = None,
    train: Any = None,
    label: str | None = None,
    positive_label: Any = None,
    previous: Any = None,
    benchmark: str = "logistic",
    tier: Any = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    on_progress: Callable[[str, float], None] | None = None,
    reasons: Any = None,
    monotone: Any = None,
    explain_rows: int = 10_000,
    references: dict[str, Any] | None = None,
    scenarios: Any = None,
) -> dict[str, Any]:
    """Run every analysis the inputs allow; return them by name.

    With a model, its explanations run on (a random sample of at most ``explain_rows`` of) the rows:
    a few hundred when only the sampling Shapley estimator fits the model. Without the ``explain``
    extra for a model that needs ``shap``, the explanations are skipped and ``explanations_skipped``
    says why.
    """
    from steward.audit.checks._models import SliceParams
    from steward.debug import compare_models, prediction_churn, residual_analysis, train_benchmark
    from steward.slices import find_slices

    out: dict[str, Any] = {}
    features = list(features)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DataValidationError(f"feature column(s) {', '.join(map(repr, missing))} not in the data; "
                                  f"the columns are: {', '.join(map(str, frame.columns))}")

    def step(name: str) -> Callable[[str, float], None] | None:
        return None if on_progress is None else (lambda stage, frac: on_progress(f"{name}: {stage}", frac))

    if features:
        sp = _tier_params(tier, "slices", SliceParams())
        out["slices"] = find_slices(frame, (decision != y).astype(float), features=features, k=sp.k,
                                    max_level=sp.max_level, alpha=sp.alpha, min_support=sp.min_support,
                                    on_progress=step("slices"))
        if score is not None and ((score >= 0) & (score <= 1)).all():
            out["residuals"] = residual_analysis(frame, y, score, features=features, loss="log_loss",
                                                 min_support=sp.min_support)
    if train is not None:
        if model is None:
            raise RoleError("a benchmark comparison (--train) needs the model (--model) to compare")
        if not features:
            raise RoleError("a benchmark model needs the feature columns (--features) to train on")
        train_frame = read_frame(train, "training data")
        if on_progress:
            on_progress("benchmark: training", 0.0)
        bench = train_benchmark(train_frame, label=label, features=features, kind=benchmark,
                                positive_label=positive_label)
        out["benchmark"] = compare_models(model, bench, frame, label=label, positive_label=positive_label,
                                          protected=protected, threshold=threshold, confidence=confidence,
                                          reference_name=f"{benchmark} benchmark", reference_kind="benchmark",
                                          slice_features=features, min_group_size=min_group_size,
                                          on_progress=step("benchmark"))
    if model is not None and features:
        _explanations(out, frame, y, model, protected, favourable, threshold, reasons, monotone, explain_rows,
                      step("explanations"))
    if features:
        _probes(out, frame, decision, model, features, protected, references or {}, favourable, threshold, scenarios,
                tier, confidence, step)
    elif scenarios is not None:
        raise RoleError("stress scenarios (--scenarios) need the model (--model) and its features (--features)")
    if previous is not None:
        if model is None:
            raise RoleError("churn against a previous version (--previous) needs the model (--model)")
        old = previous.predict(frame, threshold=threshold)
        out["churn"] = prediction_churn(decision, old, data=frame, protected=protected, favourable=favourable,
                                        confidence=confidence, min_group_size=min_group_size)
        out["churn"].previous = previous.describe()
    return out


def _explanations(out: dict[str, Any], frame: pd.DataFrame, y: np.ndarray, model: Any, protected: Sequence[str],
                  favourable: int, threshold: float, reasons: Any, monotone: Any, rows: int,
                  on_progress: Callable[[str, float], None] | None) -> None:
    from steward.errors import MissingExtraError
    from steward.explain._report import explain_model
    from steward.explain._shapley import has_exact_method

    try:
        exact = has_exact_method(model)
    except MissingExtraError as exc:
        out["explanations_skipped"] = str(exc)
        return
    # the sampling estimator costs hundreds of model calls per row: explain fewer rows with it, and do
    # not measure stability under noise (its own sampling noise would be measured with it)
    rows = rows if exact else min(rows, 100)
    sample = np.arange(len(frame))
    if len(frame) > rows:
        sample = np.sort(np.random.default_rng(0).choice(len(frame), rows, replace=False))
    part = frame.iloc[sample]
    options = {} if exact else {"background_size": 30, "max_evals": 100}
    try:
        out["explanations"] = explain_model(
            model, part, reasons=reasons, threshold=threshold, adverse="high" if favourable == 0 else "low",
            never_cite=list(protected), label=y[sample] if len(np.unique(y[sample])) == 2 else None,
            monotone=monotone, on_progress=on_progress,
            quality=exact, **options)
    except MissingExtraError as exc:
        out["explanations_skipped"] = str(exc)


def _probes(out: dict[str, Any], frame: pd.DataFrame, decision: np.ndarray, model: Any, features: Sequence[str],
            protected: Sequence[str], references: dict[str, Any], favourable: int, threshold: float, scenarios: Any,
            tier: Any, confidence: float, step: Callable[[str], Any]) -> None:
    """The probes beyond group averages: situation testing and proxies on the decisions and features;
    with a model, the flip test, sensitivity, stress scenarios and adversarial search too."""
    from steward.audit.checks._probes import AdversarialParams, ProxyParams, SituationParams
    from steward.debug import (
        adversarial_search,
        flip_test,
        proxy_detection,
        sensitivity_analysis,
        situation_testing,
        stress_test,
    )
    from steward.debug._situation import SituationTests

    attrs = [a for a in protected if "*" not in a]
    sp = _tier_params(tier, "situation_testing", SituationParams())
    reports = []
    for attr in attrs:
        ref = references.get(attr)
        feats = [f for f in features if f not in attrs]
        if ref is None or not feats:
            continue
        try:
            reports.append(situation_testing(frame, decision, attribute=attr, reference=ref, features=feats,
                                             k=sp.k, t=sp.t, favourable=favourable, confidence=confidence,
                                             on_progress=step(f"situation testing ({attr})")))
        except DataValidationError:  # a reference group smaller than k: the check says it did not run
            continue
    out["situation_testing"] = SituationTests(reports)
    pp = _tier_params(tier, "proxies", ProxyParams())
    feats = [f for f in features if f not in attrs]
    if feats and attrs:
        rows = frame if len(frame) <= 50_000 else frame.sample(50_000, random_state=0)
        out["proxies"] = proxy_detection(rows, attrs, feats, max_auc=pp.max_auc, max_cramers_v=pp.max_cramers_v)
    if model is None:
        return
    out["flip_test"] = flip_test(model, frame, attrs, threshold=threshold, favourable=favourable,
                                 confidence=confidence)
    out["sensitivity"] = sensitivity_analysis(model, frame, by=attrs[0] if attrs else None, threshold=threshold,
                                              favourable=favourable, sample=500)
    if scenarios is not None:
        out["stress"] = stress_test(model, frame, scenarios, by=attrs[0] if attrs else None, threshold=threshold,
                                    favourable=favourable)
    ap = _tier_params(tier, "adversarial_robustness", AdversarialParams())
    try:
        out["adversarial"] = adversarial_search(model, frame, protected=attrs, budget=ap.budget, threshold=threshold,
                                                sample=ap.sample, time_budget=ap.time_budget,
                                                on_progress=step("adversarial search"))
    except DataValidationError as exc:  # every input is immutable: nothing a person could change to game it
        out["adversarial_skipped"] = str(exc)
