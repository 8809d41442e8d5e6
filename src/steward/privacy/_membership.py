"""Membership inference: how well can someone who sees the model's outputs tell the rows it was trained on
from rows it never saw? Privacy law treats "this person was in the data" as personal data (a model for a
clinic's patients reveals who is a patient), and the risk falls unevenly: groups the model fits worst leak
most (Shokri et al., S&P 2017; Yeom et al., CSF 2018; Kulynych et al., 2022, "disparate vulnerability").

Every attack is judged on the same rows, apart from those it was fitted on, beside the trivial baseline:

- ``baseline``: an attacker who ignores the model (calls everyone a member): AUC 0.5, advantage 0.
- ``loss_threshold`` (Steward's probe, Yeom et al.): a row whose loss under the model is small is called a
  member; the threshold is the one an attacker with a labelled half of the rows would pick.
- ``loss_ratio`` (Steward's probe): the same loss, read within each true class as a likelihood ratio: the
  attacker's half is cut into quantile bins of the loss per class, and a row's signal is the share of members
  in its bin (a Neyman-Pearson reading of the loss; it can set a different threshold for each class, as a
  trained attack model does, at the cost of a histogram).
- ``rule_based``: a row the model classifies correctly is called a member (ART's
  ``MembershipInferenceBlackBoxRuleBased``); its advantage is the generalisation gap.
- ``black_box``: ART's ``MembershipInferenceBlackBox``, a random forest trained on the model's class
  probabilities and the true labels of the attacker's half.

The figures are the attack's AUC (Hanley-McNeil interval) and membership advantage, TPR - FPR at the chosen
threshold (Wald interval), overall and per protected group. The members and non-members are balanced, so a
guess is right half the time by chance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError
from steward.privacy._attack import (
    advantage,
    art,
    auc,
    auc_interval,
    best_threshold,
    binary_label,
    class_probabilities,
)

__all__ = ["MembershipReport", "membership_inference", "rule_based_guesses", "ATTACKS"]

ATTACKS = ("loss_threshold", "loss_ratio", "rule_based", "black_box")
RATIO_BINS = 50
_EPS = 1e-12


@dataclass
class MembershipReport(HtmlView):
    """``attacks``: one row per attack (``baseline`` first) with ``auc`` (and interval), ``advantage`` (TPR - FPR,
    and interval), ``tpr``, ``fpr``, ``seconds``; ``groups``: the same per protected attribute and group on that
    group's rows (``judged`` False when either side has fewer than ``min_group_size`` rows); ``rows``: members
    and non-members judged (each); ``train_accuracy``/``test_accuracy``: the model's accuracy on the members and
    the non-members (their gap bounds the rule-based attack's advantage)."""

    attacks: pd.DataFrame
    groups: pd.DataFrame
    rows: int
    members: int
    non_members: int
    train_accuracy: float
    test_accuracy: float
    confidence: float = 0.95
    min_group_size: int = 30
    max_advantage: float | None = None
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    page_title = "Membership inference"
    page_kind = "probe"

    def strongest(self) -> pd.Series:
        """The attack with the largest advantage (the baseline never is, unless every attack fails)."""
        real = self.attacks[self.attacks["attack"] != "baseline"]
        return real.loc[real["advantage"].idxmax()]

    def to_frame(self) -> pd.DataFrame:
        return self.attacks

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        s = self.strongest()
        return {"rows": self.rows, "members": self.members, "non_members": self.non_members,
                "train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "confidence": self.confidence, "min_group_size": self.min_group_size, "seed": self.seed,
                "strongest": {"attack": s["attack"], "auc": float(s["auc"]), "advantage": float(s["advantage"])},
                "attacks": json_rows(self.attacks, limit=len(self.attacks)),
                "groups": json_rows(self.groups, limit=len(self.groups)), "notes": list(self.notes)}

    def html(self, heading: int = 2) -> str:
        from steward.privacy._pages import membership_html

        return membership_html(self, heading)


def rule_based_guesses(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 (member) where the model's most likely class is the true label, as ART's rule-based attack guesses."""
    return (np.argmax(proba, axis=1) == y).astype(np.int64)


def _loss_signal(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Minus the cross-entropy loss of each row: larger for rows the model fits well (members, if it overfits)."""
    return np.log(np.clip(proba[np.arange(len(y)), y], _EPS, 1.0))


def _unseen(members: pd.DataFrame, non_members: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The non-members that are not also members (the same values in every column both have): a row the model
    was trained on is not unseen, whatever file it comes from. Refused when too few are left."""
    common = [c for c in non_members.columns if c in members.columns]
    seen = set(pd.util.hash_pandas_object(members[common].astype(str), index=False).tolist())
    mine = pd.util.hash_pandas_object(non_members[common].astype(str), index=False).to_numpy()
    repeat = np.fromiter((h in seen for h in mine.tolist()), dtype=bool, count=len(mine))
    kept = non_members[~repeat]
    if len(kept) < 20:
        raise DataValidationError(f"non_members: {int(repeat.sum()):,} of {len(non_members):,} rows are also among the "
                                  f"training rows (members), so they are not unseen; give rows the model was not "
                                  f"trained on (a held-out split)")
    return kept, int(repeat.sum())


def _loss_ratio(l_m: np.ndarray, y_m: np.ndarray, l_n: np.ndarray, y_n: np.ndarray, fit_m: np.ndarray,
                fit_n: np.ndarray, bins: int = RATIO_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Each row's share of members among the attacker's rows of its true class and loss bin (quantile bins of
    the attacker's half, per class; one pseudo-row of each side per bin keeps empty bins at 1/2)."""
    s_m, s_n = np.full(len(l_m), 0.5), np.full(len(l_n), 0.5)
    for c in (0, 1):
        fm, fn = l_m[fit_m & (y_m == c)], l_n[fit_n & (y_n == c)]
        pool = np.concatenate([fm, fn])
        if not len(pool):
            continue
        edges = np.unique(np.quantile(pool, np.linspace(0, 1, bins + 1)[1:-1]))
        members = np.bincount(np.searchsorted(edges, fm, side="right"), minlength=len(edges) + 1) + 1.0
        others = np.bincount(np.searchsorted(edges, fn, side="right"), minlength=len(edges) + 1) + 1.0
        share = members / (members + others)
        sel_m, sel_n = y_m == c, y_n == c
        s_m[sel_m] = share[np.searchsorted(edges, l_m[sel_m], side="right")]
        s_n[sel_n] = share[np.searchsorted(edges, l_n[sel_n], side="right")]
    return s_m, s_n


def _sample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= n:
        return frame.reset_index(drop=True)
    return frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))].reset_index(drop=True)


def _row(attack: str, pos_signal: np.ndarray, neg_signal: np.ndarray, pos_guess: np.ndarray, neg_guess: np.ndarray,
         confidence: float, seconds: float, threshold: float | None) -> dict[str, Any]:
    a = auc(pos_signal, neg_signal)
    lo, hi = auc_interval(a, len(pos_signal), len(neg_signal), confidence)
    adv, alo, ahi, tpr, fpr = advantage(pos_guess, neg_guess, confidence)
    return {"attack": attack, "members": len(pos_signal), "non_members": len(neg_signal), "auc": a, "auc_low": lo,
            "auc_high": hi, "advantage": adv, "advantage_low": alo, "advantage_high": ahi, "tpr": tpr, "fpr": fpr,
            "threshold": threshold, "seconds": seconds}


def membership_inference(
    model: Any,
    members: pd.DataFrame,
    non_members: pd.DataFrame,
    *,
    label: str,
    protected: Sequence[str] = (),
    positive_label: Any = None,
    attacks: Sequence[str] = ATTACKS,
    max_rows: int = 20_000,
    min_group_size: int = 30,
    confidence: float = 0.95,
    max_advantage: float | None = None,
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
) -> MembershipReport:
    """Attack ``model`` (a Steward model or anything :func:`steward.models.wrap_model` wraps) with
    ``members`` (rows it was trained on, with the ``label`` column) against ``non_members`` (rows it never saw).

    At most ``max_rows`` rows are used, half from each side (the smaller side sets the size, so guessing is
    right half the time); each side is split in two, the attacker fits on one half and is judged on the other.
    ``protected``: columns whose groups get their own figures (they need not be model features)."""
    from steward.audit._analyses import load_any_model

    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise DataValidationError(f"attacks: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(ATTACKS)}")
    for what, frame in (("members", members), ("non_members", non_members)):
        if label not in frame.columns:
            raise RoleError(f"{what}: the label column {label!r} is not in the data; its columns are: "
                            f"{', '.join(map(str, frame.columns[:30]))}")
        missing = [p for p in protected if p not in frame.columns]
        if missing:
            raise RoleError(f"{what}: protected column(s) {', '.join(map(repr, missing))} are not in the data")
    non_members, dropped = _unseen(members, non_members)
    per_side = min(len(members), len(non_members), max_rows // 2)
    if per_side < 20:
        raise DataValidationError(f"membership inference needs at least 20 rows on each side; members has "
                                  f"{len(members)}, non_members {len(non_members)}")
    if "black_box" in attacks:
        art()
    model = load_any_model(model)
    rng = np.random.default_rng(seed)
    mem, non = _sample(members, per_side, rng), _sample(non_members, per_side, rng)
    say = on_progress or (lambda step, frac: None)
    say("scoring members and non-members", 0.0)
    p_mem, p_non = class_probabilities(model, mem), class_probabilities(model, non)
    y_mem = binary_label(mem[label], label, positive_label)
    y_non = binary_label(non[label], label, positive_label)
    # the attacker's half (fit) and the judged half, on each side
    fit_m = np.zeros(per_side, dtype=bool)
    fit_m[rng.choice(per_side, per_side // 2, replace=False)] = True
    fit_n = np.zeros(per_side, dtype=bool)
    fit_n[rng.choice(per_side, per_side // 2, replace=False)] = True
    jm, jn = ~fit_m, ~fit_n
    rows = []
    signals: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    one_m, one_n = np.ones(int(jm.sum()), dtype=np.int64), np.ones(int(jn.sum()), dtype=np.int64)
    rows.append(_row("baseline", one_m.astype(float), one_n.astype(float), one_m, one_n, confidence, 0.0, None))
    if "loss_threshold" in attacks:
        say("loss-threshold attack", 0.2)
        t0 = time.perf_counter()
        s_m, s_n = _loss_signal(p_mem, y_mem), _loss_signal(p_non, y_non)
        t = best_threshold(s_m[fit_m], s_n[fit_n])
        g_m, g_n = (s_m >= t).astype(np.int64), (s_n >= t).astype(np.int64)
        signals["loss_threshold"] = (s_m, s_n, g_m, g_n)
        rows.append(_row("loss_threshold", s_m[jm], s_n[jn], g_m[jm], g_n[jn], confidence,
                         time.perf_counter() - t0, t))
    if "loss_ratio" in attacks:
        t0 = time.perf_counter()
        l_m, l_n = _loss_signal(p_mem, y_mem), _loss_signal(p_non, y_non)
        s_m, s_n = _loss_ratio(l_m, y_mem, l_n, y_non, fit_m, fit_n)
        t = best_threshold(s_m[fit_m], s_n[fit_n])
        g_m, g_n = (s_m >= t).astype(np.int64), (s_n >= t).astype(np.int64)
        signals["loss_ratio"] = (s_m, s_n, g_m, g_n)
        rows.append(_row("loss_ratio", s_m[jm], s_n[jn], g_m[jm], g_n[jn], confidence, time.perf_counter() - t0, t))
    if "rule_based" in attacks:
        t0 = time.perf_counter()
        g_m, g_n = rule_based_guesses(p_mem, y_mem), rule_based_guesses(p_non, y_non)
        signals["rule_based"] = (g_m.astype(float), g_n.astype(float), g_m, g_n)
        rows.append(_row("rule_based", g_m[jm].astype(float), g_n[jn].astype(float), g_m[jm], g_n[jn], confidence,
                         time.perf_counter() - t0, None))
    if "black_box" in attacks:
        say("black-box attack (ART, random forest)", 0.4)
        t0 = time.perf_counter()
        s_m, s_n = _black_box(p_mem, y_mem, p_non, y_non, fit_m, fit_n, seed)
        g_m, g_n = (s_m >= 0.5).astype(np.int64), (s_n >= 0.5).astype(np.int64)
        signals["black_box"] = (s_m, s_n, g_m, g_n)
        rows.append(_row("black_box", s_m[jm], s_n[jn], g_m[jm], g_n[jn], confidence, time.perf_counter() - t0, 0.5))
    say("per group", 0.9)
    groups = _groups(mem[jm].reset_index(drop=True), non[jn].reset_index(drop=True), protected, signals, jm, jn,
                     confidence, min_group_size)
    return MembershipReport(
        attacks=pd.DataFrame(rows), groups=groups, rows=int(jm.sum()), members=len(members),
        non_members=len(non_members), train_accuracy=float(rule_based_guesses(p_mem, y_mem).mean()),
        test_accuracy=float(rule_based_guesses(p_non, y_non).mean()), confidence=confidence,
        min_group_size=min_group_size, max_advantage=max_advantage, seed=seed,
        notes=[f"{dropped:,} unseen row(s) were also among the training rows and were left out"] if dropped else [])


def _black_box(p_mem: np.ndarray, y_mem: np.ndarray, p_non: np.ndarray, y_non: np.ndarray, fit_m: np.ndarray,
               fit_n: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """ART's black-box attack on the class probabilities (given, so ART never calls the model): fitted on the
    attacker's half, the probability of "member" for every row."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import BlackBoxClassifier
    from sklearn.ensemble import RandomForestClassifier

    def never(x: np.ndarray) -> np.ndarray:  # ART gets the probabilities; a call would be a bug
        raise AssertionError("ART asked the model for predictions it was given")

    est = BlackBoxClassifier(never, input_shape=(1,), nb_classes=2)
    attack = MembershipInferenceBlackBox(est, input_type="prediction", attack_model_type="rf")
    if isinstance(attack.attack_model, RandomForestClassifier):  # ART's own forest, seeded for repeatable figures
        attack.attack_model.set_params(random_state=seed)
    onehot = np.eye(2)
    attack.fit(x=None, y=onehot[y_mem[fit_m]], test_x=None, test_y=onehot[y_non[fit_n]],
               pred=p_mem[fit_m].astype(np.float32), test_pred=p_non[fit_n].astype(np.float32))

    def member_probability(p: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = attack.infer(None, onehot[y], pred=p.astype(np.float32), probabilities=True)
        out = np.asarray(out, dtype=float)
        return out[:, 1] if out.ndim == 2 and out.shape[1] == 2 else out.reshape(-1)

    return member_probability(p_mem, y_mem), member_probability(p_non, y_non)


def _groups(mem: pd.DataFrame, non: pd.DataFrame, protected: Sequence[str],
            signals: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], jm: np.ndarray, jn: np.ndarray,
            confidence: float, min_group_size: int) -> pd.DataFrame:
    rows = []
    for attr in protected:
        gm = mem[attr].astype(object).where(mem[attr].notna(), "(missing)").astype(str).to_numpy()
        gn = non[attr].astype(object).where(non[attr].notna(), "(missing)").astype(str).to_numpy()
        for g in sorted(set(gm) | set(gn)):
            im, inn = gm == g, gn == g
            for name, (s_m, s_n, g_m, g_n) in signals.items():
                judged = bool(im.sum() >= min_group_size and inn.sum() >= min_group_size)
                r = _row(name, s_m[jm][im], s_n[jn][inn], g_m[jm][im], g_n[jn][inn], confidence, 0.0, None)
                r.pop("seconds")
                r.pop("threshold")
                rows.append({"attribute": attr, "group": g, **r, "judged": judged})
    cols = ["attribute", "group", "attack", "members", "non_members", "auc", "auc_low", "auc_high", "advantage",
            "advantage_low", "advantage_high", "tpr", "fpr", "judged"]
    return pd.DataFrame(rows, columns=cols)
