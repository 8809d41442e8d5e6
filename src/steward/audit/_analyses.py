"""The model-in-the-loop part of an audit: score the data with a model, then the analyses that need
the model or its errors (slices, residuals, benchmark comparison, churn against a previous version).

The core audit only needs decision columns; this module is what ``steward audit --model`` and
``--features`` add. Analysis settings come from the policy tier's checks when it has them, so the
search the check judges is the search the policy asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.audit._inputs import MODEL_SCORE, CheckedInputs
from steward.data import Roles, open_source
from steward.data._source import load_frame
from steward.errors import DataValidationError, RoleError

__all__ = ["MODEL_SCORE", "read_frame", "load_any_model", "score_with_model", "run_analyses"]


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


# The explanations' Shapley values (and the reason codes, importances, effect curves and surrogate tree built
# on them) are computed for at most this many rows. Exact TreeSHAP costs about trees x leaves x depth² per
# row (half a millisecond a row for a 100-tree LightGBM model on Adult, far more than scoring it), and what
# the report shows of them (global importance, how often each feature is cited, examples) is settled well
# within 2,000 rows. The checks' own samples (monotonicity, explanation stability) are drawn as before from
# up to ``explain_rows`` rows, so their findings do not depend on this number.
SHAPLEY_ROWS = 2_000


class _Stages:
    """Reports each stage to ``on_progress`` as it starts (fraction 0) and ends (1), with the stage's own
    progress in between, named ``"stage: step"``."""

    def __init__(self, on_progress: Callable[[str, float], None] | None) -> None:
        self.on_progress = on_progress

    @contextmanager
    def __call__(self, name: str) -> Iterator[Callable[[str, float], None] | None]:
        report = self.on_progress
        if report is None:
            yield None
            return
        report(name, 0.0)
        yield lambda step, frac: report(f"{name}: {step}", frac)
        report(name, 1.0)


def run_analyses(
    frame: pd.DataFrame,
    *,
    roles: Roles,
    y: np.ndarray,
    decision: np.ndarray,
    score: np.ndarray | None,
    inputs: CheckedInputs,
    tier: Any = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    references: dict[str, Any] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    explain_rows: int = 10_000,
) -> dict[str, Any]:
    """Run every analysis the inputs allow; return them by name.

    With a model, its explanations run on a random sample of the rows (see ``SHAPLEY_ROWS``; a few
    hundred when only the sampling Shapley estimator fits the model), the monotonicity and stability
    checks on their own samples of at most ``explain_rows``. Without the ``explain`` extra for a model
    that needs ``shap``, the explanations are skipped and ``explanations_skipped`` says why.
    """
    from steward.audit.checks._models import SliceParams
    from steward.debug import compare_models, prediction_churn, residual_analysis, train_benchmark
    from steward.slices import find_slices

    out: dict[str, Any] = {}
    features = list(roles.features)
    protected = list(roles.attributes)
    threshold = roles.threshold if roles.threshold is not None else 0.5
    model = inputs.model
    stage = _Stages(on_progress)
    if features:
        sp = _tier_params(tier, "slices", SliceParams())
        with stage("slices") as step:
            out["slices"] = find_slices(frame, (decision != y).astype(float), features=features, k=sp.k,
                                        max_level=sp.max_level, alpha=sp.alpha, min_support=sp.min_support,
                                        on_progress=step)
        if score is not None and ((score >= 0) & (score <= 1)).all():
            with stage("residuals"):
                out["residuals"] = residual_analysis(frame, y, score, features=features, loss="log_loss",
                                                     min_support=sp.min_support)
    if inputs.train is not None:
        with stage("benchmark: training"):
            bench = train_benchmark(inputs.train, label=roles.label, features=features, kind=inputs.benchmark,
                                    positive_label=roles.positive_label)
        with stage("benchmark: comparison") as step:
            out["benchmark"] = compare_models(model, bench, frame, label=roles.label,
                                              positive_label=roles.positive_label, protected=protected,
                                              threshold=threshold, confidence=confidence,
                                              reference_name=f"{inputs.benchmark} benchmark",
                                              reference_kind="benchmark", slice_features=features,
                                              min_group_size=min_group_size, on_progress=step)
    if model is not None:
        with stage("explanations") as step:
            _explanations(out, frame, y, model, protected, roles.favourable, threshold, inputs, explain_rows, step)
    if features:
        _probes(out, frame, decision, model, features, protected, references or {}, roles.favourable, threshold,
                inputs.scenarios, tier, confidence, stage)
    from steward.audit._privacy import privacy_probes

    if frame is not None and not frame.empty:
        privacy_probes(out, frame, roles=roles, features=features, model=model, train=inputs.train, tier=tier,
                       confidence=confidence, stage=stage)
    if inputs.previous is not None:
        with stage("churn"):
            old = inputs.previous.predict(frame, threshold=threshold)
            out["churn"] = prediction_churn(decision, old, data=frame, protected=protected,
                                            favourable=roles.favourable, confidence=confidence,
                                            min_group_size=min_group_size)
            out["churn"].previous = inputs.previous.describe()
    return out


def _explanations(out: dict[str, Any], frame: pd.DataFrame, y: np.ndarray, model: Any, protected: Sequence[str],
                  favourable: int, threshold: float, inputs: CheckedInputs, rows: int,
                  on_progress: Callable[[str, float], None] | None) -> None:
    from steward.errors import MissingExtraError
    from steward.explain import check_monotonicity, explanation_quality
    from steward.explain._quality import quality_rows
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
    pool = np.arange(len(frame))
    if len(frame) > rows:
        pool = np.sort(np.random.default_rng(0).choice(len(frame), rows, replace=False))
    part = frame.iloc[pool]
    sample = pool
    if exact and len(pool) > SHAPLEY_ROWS:
        # the sample holds the rows the stability check explains, so their Shapley values are computed once
        checked = quality_rows(len(pool))
        rest = np.setdiff1d(np.arange(len(pool)), checked)
        extra = np.random.default_rng(1).choice(rest, SHAPLEY_ROWS - len(checked), replace=False)
        sample = pool[np.sort(np.concatenate([checked, extra]))]
    shown = frame.iloc[sample]
    options = {} if exact else {"background_size": 30, "max_evals": 100}
    labels = y[sample]
    steps = None if on_progress is None else (  # explain_model's own steps fill the first 80%
        lambda step, frac: None if step == "done" else on_progress(step, 0.8 * frac))
    try:
        exp = explain_model(
            model, shown, reasons=inputs.reasons, threshold=threshold, adverse="high" if favourable == 0 else "low",
            label=labels if len(np.unique(labels)) == 2 else None, on_progress=steps, quality=False, **options)
        if inputs.monotone is not None:
            if on_progress is not None:
                on_progress("monotonicity", 0.85)
            exp.monotonicity = check_monotonicity(model, part, inputs.monotone)
        if exact:
            if on_progress is not None:
                on_progress("explanation quality", 0.9)
            exp.quality = explanation_quality(model, part, k=4, reasons=inputs.reasons, shapley=exp.shapley,
                                              **options)
        out["explanations"] = exp
    except MissingExtraError as exc:
        out["explanations_skipped"] = str(exc)


def _probes(out: dict[str, Any], frame: pd.DataFrame, decision: np.ndarray, model: Any, features: Sequence[str],
            protected: Sequence[str], references: dict[str, Any], favourable: int, threshold: float, scenarios: Any,
            tier: Any, confidence: float, stage: _Stages) -> None:
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
        with stage(f"situation testing ({attr})") as step:
            try:
                reports.append(situation_testing(frame, decision, attribute=attr, reference=ref, features=feats,
                                                 k=sp.k, t=sp.t, favourable=favourable, confidence=confidence,
                                                 on_progress=step))
            except DataValidationError:  # a reference group smaller than k: the check says it did not run
                pass
    out["situation_testing"] = SituationTests(reports)
    pp = _tier_params(tier, "proxies", ProxyParams())
    feats = [f for f in features if f not in attrs]
    if feats and attrs:
        with stage("proxies"):
            rows = frame if len(frame) <= 50_000 else frame.sample(50_000, random_state=0)
            out["proxies"] = proxy_detection(rows, attrs, feats, max_auc=pp.max_auc, max_cramers_v=pp.max_cramers_v)
    if model is None:
        return
    with stage("flip test"):
        out["flip_test"] = flip_test(model, frame, attrs, threshold=threshold, favourable=favourable,
                                     confidence=confidence)
    with stage("sensitivity"):
        out["sensitivity"] = sensitivity_analysis(model, frame, by=attrs[0] if attrs else None, threshold=threshold,
                                                  favourable=favourable, sample=500)
    if scenarios is not None:
        with stage("stress scenarios"):
            out["stress"] = stress_test(model, frame, scenarios, by=attrs[0] if attrs else None,
                                        threshold=threshold, favourable=favourable)
    ap = _tier_params(tier, "adversarial_robustness", AdversarialParams())
    with stage("adversarial search") as step:
        try:
            out["adversarial"] = adversarial_search(model, frame, protected=attrs, budget=ap.budget,
                                                    threshold=threshold, sample=ap.sample,
                                                    time_budget=ap.time_budget, on_progress=step)
        except DataValidationError as exc:  # every input is immutable: nothing a person could change to game it
            out["adversarial_skipped"] = str(exc)
