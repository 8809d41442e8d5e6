"""Attribute inference: do the model's outputs, with the other features, reveal a protected attribute better
than the other features alone? A model that answers "what do you infer about this person" leaks what the
person did not disclose (Fredrikson et al., CCS 2014; Jayaraman and Evans, 2022, on "distributional
inference" and its baseline).

Two attackers are trained on the same half of the rows and judged on the other half: ART's
``AttributeInferenceBlackBox`` (the other features plus the model's predicted class) and ART's
``AttributeInferenceBaseline`` (the other features only), both random forests. The finding is the
difference of their accuracies (the *advantage* of querying the model), with a Wald interval of a paired
difference; the share of the most common value is shown as the floor anyone reaches by guessing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.privacy._attack import Encoded, art, black_box, class_probabilities

__all__ = ["AttributeInferenceReport", "attribute_inference"]

MAX_VALUES = 20  # an attribute with more distinct values is a number to bin before it is attacked


@dataclass
class AttributeInferenceReport(HtmlView):
    """``table``: one row per protected attribute: ``rows`` judged, ``majority`` (the share of its most common
    value), ``baseline`` and ``attack`` accuracies, ``advantage`` = attack - baseline with its interval, and
    ``seconds``; ``groups``: per attribute and value, how often each attacker names it correctly (recall)."""

    table: pd.DataFrame
    groups: pd.DataFrame
    confidence: float = 0.95
    max_advantage: float | None = None
    seed: int = 0

    page_title = "Attribute inference"
    page_kind = "probe"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"confidence": self.confidence, "seed": self.seed,
                "attributes": json_rows(self.table, limit=len(self.table)),
                "groups": json_rows(self.groups, limit=len(self.groups))}

    def html(self, heading: int = 2) -> str:
        from steward.privacy._pages import attribute_html

        return attribute_html(self, heading)


def _paired_difference(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """mean(a) - mean(b) of two 0/1 vectors on the same rows, with the Wald interval of a paired difference
    (the variance from the discordant pairs, as McNemar's test reads them)."""
    n = len(a)
    d = float(a.mean() - b.mean())
    only_a = float(np.mean((a == 1) & (b == 0)))
    only_b = float(np.mean((a == 0) & (b == 1)))
    var = (only_a + only_b - (only_a - only_b) ** 2) / n
    half = float(norm.ppf(0.5 + confidence / 2)) * math.sqrt(max(var, 0.0))
    return d, d - half, d + half


def _seeded(attack: Any, seed: int) -> None:
    model = getattr(attack, "attack_model", None)
    if model is not None and "random_state" in model.get_params():
        model.set_params(random_state=seed)


def attribute_inference(
    model: Any,
    data: pd.DataFrame,
    *,
    attributes: Sequence[str],
    features: Sequence[str] | None = None,
    max_rows: int = 10_000,
    confidence: float = 0.95,
    max_advantage: float | None = None,
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> AttributeInferenceReport:
    """Attack each protected attribute of ``data`` through ``model`` (a Steward model or anything
    :func:`steward.models.wrap_model` wraps). ``features``: what the attacker knows besides the model's output
    besides the model's own features (which it is assumed to know, as anyone who fills in the model's form
    does); the attribute itself is never among them. At most ``max_rows`` rows."""
    from steward.audit._analyses import load_any_model

    art()
    from art.attacks.inference.attribute_inference import AttributeInferenceBaseline, AttributeInferenceBlackBox

    model = load_any_model(model)
    feats = list(features) if features is not None else list(model.features or [])
    if not feats:
        raise RoleError("attribute inference needs the features the attacker knows: give features=[...] or a model "
                        "that names its features")
    if not attributes:
        raise RoleError("name the protected attributes to attack: attributes=['sex', ...]")
    missing = [c for c in [*feats, *attributes] if c not in data.columns]
    if missing:
        raise RoleError(f"column(s) {', '.join(map(repr, missing))} are not in the data; its columns are: "
                        f"{', '.join(map(str, data.columns[:30]))}")
    rng = np.random.default_rng(seed)
    frame = data if len(data) <= max_rows else data.iloc[np.sort(rng.choice(len(data), max_rows, replace=False))]
    frame = frame.reset_index(drop=True)
    if len(frame) < 40:
        raise DataValidationError(f"attribute inference needs at least 40 rows; the data has {len(frame)}")
    say = on_progress or (lambda step, frac: None)
    rows, groups = [], []
    model_cols = list(model.features or feats)
    for i, attr in enumerate(attributes):
        say(f"attacking {attr}", i / len(attributes))
        values = frame[attr]
        if values.isna().any():
            raise DataValidationError(f"protected attribute {attr!r} has {int(values.isna().sum())} missing values; "
                                      f"drop or fill them before the attribute-inference probe")
        if values.nunique() > MAX_VALUES:
            raise DataValidationError(f"protected attribute {attr!r} has {values.nunique()} distinct values; bin it "
                                      f"into at most {MAX_VALUES} groups (e.g. age bands) before attacking it")
        known = [f for f in dict.fromkeys([*model_cols, *feats]) if f != attr]
        columns = [*known, attr]
        enc = Encoded(frame, columns)
        # the attacked column is coded as a category even when it is stored as a number
        enc.categories.setdefault(attr, sorted(pd.unique(values).tolist(), key=str))
        x = enc.matrix(frame)
        at = columns.index(attr)
        fit = np.zeros(len(frame), dtype=bool)
        fit[rng.choice(len(frame), len(frame) // 2, replace=False)] = True
        judged = ~fit
        t0 = time.perf_counter()
        attack = AttributeInferenceBlackBox(black_box(model, enc), attack_model_type="rf", attack_feature=at)
        _seeded(attack, seed)
        attack.fit(x[fit])
        pred = np.argmax(class_probabilities(model, frame.iloc[np.flatnonzero(judged)]), axis=1).reshape(-1, 1)
        codes = sorted(np.unique(x[:, at]).tolist())
        guess_attack = attack.infer(np.delete(x[judged], at, axis=1), pred=pred.astype(np.float32),
                                    values=codes)
        base = AttributeInferenceBaseline(attack_model_type="rf", attack_feature=at)
        _seeded(base, seed)
        base.fit(x[fit])
        guess_base = base.infer(np.delete(x[judged], at, axis=1), values=codes)
        truth = x[judged, at]
        right_a = (np.asarray(guess_attack, dtype=float).reshape(-1) == truth).astype(np.int64)
        right_b = (np.asarray(guess_base, dtype=float).reshape(-1) == truth).astype(np.int64)
        adv, lo, hi = _paired_difference(right_a, right_b, confidence)
        counts = pd.Series(truth).value_counts()
        rows.append({"attribute": attr, "rows": int(judged.sum()), "values": len(codes),
                     "majority": float(counts.iloc[0] / counts.sum()), "baseline": float(right_b.mean()),
                     "attack": float(right_a.mean()), "advantage": adv, "advantage_low": lo, "advantage_high": hi,
                     "seconds": time.perf_counter() - t0})
        names = enc.categories[attr]
        for code in codes:
            sel = truth == code
            groups.append({"attribute": attr, "group": str(names[int(code)]), "rows": int(sel.sum()),
                           "baseline_recall": float(right_b[sel].mean()), "attack_recall": float(right_a[sel].mean())})
    say("done", 1.0)
    return AttributeInferenceReport(table=pd.DataFrame(rows), groups=pd.DataFrame(groups), confidence=confidence,
                                    max_advantage=max_advantage, seed=seed)

