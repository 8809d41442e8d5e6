"""Each window's signals, from its statistics and the reference.

Every signal is a dict: ``signal`` (the rule it is judged by), ``subject`` (a feature, a group, a key...),
``value`` (the measure the rule's threshold applies to), ``threshold``, ``breach``, ``judged`` (False when
the window or the group is too small, or the reference lacks what the measure needs: such a signal is
shown, never counted as a pass), ``why`` when not judged, and ``measures`` (everything else computed,
p-values among them as evidence, never as the trigger).

The distances, on the reference's bins:

* PSI: sum over the reference's decile bins of (c - r) ln(c / r), proportions floored at 1e-4;
* Wasserstein: SciPy's ``wasserstein_distance`` of the two binned distributions, each bin's mass at the mean
  of the values that fell in it (the reference's and the window's own: both are kept as sums that merge),
  divided by the reference's standard deviation;
* Jensen-Shannon: SciPy's ``jensenshannon`` (natural log) of the category proportions;
* KS: the largest gap between the two binned CDFs, its p-value from Kolmogorov's distribution for
  n*m/(n+m) rows (as SciPy's ``ks_2samp`` computes it asymptotically); chi-square: SciPy's
  ``chi2_contingency`` of the two rows of category counts. Above 20,000 for n*m/(n+m), the p-value is
  Kolmogorov's limiting distribution's (``kstwobign``), which the finite-n one converges to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.spatial import distance

from steward.metrics._inference import katz_ratio_interval, wilson_interval, z_value
from steward.monitoring._reference import SCORE_BINS, FeatureReference, Reference
from steward.monitoring._settings import MonitorSettings
from steward.monitoring._window import WindowStats, group_table

__all__ = ["evaluate", "psi", "binned_wasserstein", "binned_ks", "auc_from_bins", "signal"]

EPS = 1e-4
KS_LIMIT = 20_000  # above n*m/(n+m), the KS p-value is Kolmogorov's limiting one (evidence, never the trigger)
EXAMPLE_MIN = 10  # an unseen category is named as an example once this many rows of the window hold it
# the families whose values describe the window's rows: shown only for a window large enough to be judged
_ROW_FAMILIES = {"feature_drift", "data_quality", "prediction_drift", "performance", "estimated_performance",
                 "fairness"}


def psi(reference: Sequence[float], current: Sequence[float], eps: float = EPS) -> float:
    """Population stability index of two count (or proportion) vectors on the same bins."""
    r, c = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    if r.sum() <= 0 or c.sum() <= 0:
        return float("nan")
    r, c = np.maximum(r / r.sum(), eps), np.maximum(c / c.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def binned_wasserstein(points: np.ndarray, reference: Sequence[float], current: Sequence[float],
                       current_points: np.ndarray | None = None) -> float:
    """SciPy's Wasserstein distance between the reference's mass at ``points`` and the window's at
    ``current_points`` (default: the same points), bin by bin."""
    r, c = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    if r.sum() <= 0 or c.sum() <= 0:
        return float("nan")
    cp = points if current_points is None else current_points
    return float(sps.wasserstein_distance(points[r > 0], cp[c > 0], u_weights=r[r > 0], v_weights=c[c > 0]))


def binned_ks(reference: Sequence[float], current: Sequence[float]) -> tuple[float, float]:
    """(D, p): the largest gap between the binned CDFs, and its asymptotic two-sample p-value."""
    r, c = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    n, m = r.sum(), c.sum()
    if n <= 0 or m <= 0:
        return float("nan"), float("nan")
    d = float(np.max(np.abs(np.cumsum(r) / n - np.cumsum(c) / m)))
    en = n * m / (n + m)
    if en > KS_LIMIT:  # Kolmogorov's limiting distribution: kstwo's exact sf costs up to 0.4 s a call at this size
        return d, float(sps.kstwobign.sf(d * np.sqrt(en)))
    return d, float(sps.kstwo.sf(d, np.round(en)))


def auc_from_bins(pos: Sequence[float], neg: Sequence[float]) -> float:
    """The area under the ROC curve of scores counted on ordered bins (ties within a bin count half)."""
    p, q = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    P, N = p.sum(), q.sum()
    if P <= 0 or N <= 0:
        return float("nan")
    below = np.cumsum(q) - q  # negatives in lower bins
    return float((p * (below + 0.5 * q)).sum() / (P * N))


def _wilson(x: float, n: float, confidence: float) -> tuple[float, float]:
    lo, hi = wilson_interval([x], [n], confidence)
    return float(lo[0]), float(hi[0])


def _hanley_mcneil(auc: float, n_pos: float, n_neg: float) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc ** 2) + (n_neg - 1) * (q2 - auc ** 2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def signal(name: str, subject: str, value: float | None, threshold: float | None, breach: bool, *,
           judged: bool = True, why: str = "", **measures: Any) -> dict[str, Any]:
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in measures.items()}
    v = None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)
    return {"signal": name, "subject": subject, "value": v, "threshold": threshold,
            "breach": bool(breach and judged and v is not None), "judged": bool(judged and v is not None),
            "why": why if not (judged and v is not None) else "", "measures": clean}


# --- drift and quality ------------------------------------------------------------------------------


def _feature_signals(f: FeatureReference, cur: dict[str, Any], rows: int, s: MonitorSettings,
                     judged: bool, why: str) -> list[dict[str, Any]]:
    rule, dq = s.feature_drift, s.data_quality
    out = []
    missing_rate = cur["missing"] / rows if rows else float("nan")
    if f.kind == "number":
        bins = np.asarray(cur["bins"], dtype=np.float64)
        ref = np.asarray(f.counts, dtype=np.float64)
        present = bins.sum()
        if len(ref) != len(bins):  # no finite value in the reference
            ref = np.zeros_like(bins)
        dec = f.decile_of_bin() if f.edges else np.zeros(len(bins), dtype=np.int64)
        k = int(dec.max()) + 1 if len(dec) else 1
        p = psi(np.bincount(dec, weights=ref, minlength=k), np.bincount(dec, weights=bins, minlength=k))
        atoms = f.atoms()
        here = atoms  # the window's own mean in each bin it fills
        if cur.get("sums") is not None:
            here = np.where(bins > 0, np.asarray(cur["sums"], dtype=np.float64) / np.maximum(bins, 1), atoms)
        wd = binned_wasserstein(atoms, ref, bins, here)
        norm = wd / f.std if f.std else (0.0 if wd == 0 else float("inf"))
        d, ks_p = binned_ks(ref, bins)
        value, threshold = (p, rule.psi) if rule.trigger == "psi" else (norm, rule.wasserstein)
        out.append(signal("feature_drift", f.name, value, threshold, value >= threshold, judged=judged and present > 0,
                          why=why or "no value of the feature in the window", psi=p, wasserstein=norm, ks_d=d,
                          ks_p_value=ks_p, rows=int(present)))
        oor = (cur["below"] + cur["above"]) / present if present else float("nan")
        out.append(signal("data_quality", f"{f.name}:out_of_range", oor, dq.out_of_range_rate,
                          oor >= dq.out_of_range_rate, judged=judged and present > 0, why=why or "no value",
                          below=cur["below"], above=cur["above"]))
    else:
        cats = sorted(set(f.counts) | set(cur["counts"]))
        ref = np.array([f.counts.get(c, 0) for c in cats], dtype=np.float64)
        now = np.array([cur["counts"].get(c, 0) for c in cats], dtype=np.float64)
        present = now.sum()
        p = psi(ref, now)
        js = float(distance.jensenshannon(ref / ref.sum(), now / present)) if present and ref.sum() else float("nan")
        keep = (ref + now) > 0
        chi_p = float("nan")
        if present and ref.sum() and keep.sum() > 1:
            chi_p = float(sps.chi2_contingency(np.vstack([ref[keep], now[keep]]), correction=False)[1])
        value, threshold = (p, rule.psi) if rule.trigger == "psi" else (js, rule.jensen_shannon)
        out.append(signal("feature_drift", f.name, value, threshold, value >= threshold, judged=judged and present > 0,
                          why=why or "no value of the feature in the window", psi=p, jensen_shannon=js,
                          chi2_p_value=chi_p, rows=int(present)))
        unseen = sum(v for c, v in cur["counts"].items() if c not in f.counts)
        rate = unseen / present if present else float("nan")
        out.append(signal("data_quality", f"{f.name}:unseen_category", rate, dq.unseen_rate, rate >= dq.unseen_rate,
                          judged=judged and present > 0, why=why or "no value", unseen=int(unseen),
                          # only values many rows share: a value one person sent is theirs, not an example
                          examples=[c for c, n in cur["counts"].items() if c not in f.counts and n >= EXAMPLE_MIN][:5]))
    change = missing_rate - f.missing_rate
    out.append(signal("data_quality", f"{f.name}:missing", change, dq.missing_rate_increase,
                      change >= dq.missing_rate_increase, judged=judged, why=why, missing_rate=missing_rate,
                      reference_missing_rate=f.missing_rate))
    return out


def _score_deciles(counts: Sequence[float]) -> np.ndarray:
    """For each of the 1,000 score bins, its decile bin in the reference's score distribution."""
    c = np.asarray(counts, dtype=np.float64)
    cum = np.cumsum(c) / c.sum()
    return np.minimum((cum * 10 - 1e-9).astype(np.int64).clip(0), 9)


def _prediction_signals(ref: Reference, w: WindowStats, s: MonitorSettings, judged: bool, why: str) -> list:
    rule = s.prediction_drift
    out = []
    scored = np.asarray(w.score, dtype=np.float64)
    if ref.score_counts and sum(ref.score_counts) > 0:
        dec = _score_deciles(ref.score_counts)
        p = psi(np.bincount(dec, weights=np.asarray(ref.score_counts, dtype=np.float64), minlength=10),
                np.bincount(dec, weights=scored, minlength=10))
        out.append(signal("prediction_drift", "score", p, rule.psi, p >= rule.psi, judged=judged and scored.sum() > 0,
                          why=why or "no score in the window", psi=p))
    else:
        out.append(signal("prediction_drift", "score", None, rule.psi, False, judged=False,
                          why="the reference has no scores (give a reference file with a score column)"))
    g = group_table(w, ref.protected, [])
    decided, fav = (float(g["decided"].sum()), float(g["favourable"].sum())) if len(g) else (0.0, 0.0)
    rate = fav / decided if decided else float("nan")
    if ref.decision_rate is not None:
        change = abs(rate - ref.decision_rate)
        lo, hi = _wilson(fav, decided, 0.95)
        out.append(signal("prediction_drift", "decision_rate", change, rule.decision_rate_change,
                          change >= rule.decision_rate_change, judged=judged and decided > 0,
                          why=why or "no decision in the window", rate=rate, ci_low=float(lo), ci_high=float(hi),
                          reference_rate=ref.decision_rate))
    else:
        out.append(signal("prediction_drift", "decision_rate", None, rule.decision_rate_change, False, judged=False,
                          why="the reference has no decisions", rate=rate))
    return out


# --- performance ------------------------------------------------------------------------------------


def _performance_signals(ref: Reference, w: WindowStats, s: MonitorSettings, judged: bool, why: str,
                         confidence: float) -> list:
    out = []
    g = group_table(w, ref.protected, [])
    tot = g.sum(numeric_only=True) if len(g) else None
    labelled = float(tot["labelled"]) if tot is not None else 0.0
    z = z_value(confidence)
    if labelled > 0:
        correct = float(tot["tp"] + tot["tn"])
        acc = correct / labelled
        lo, hi = _wilson(correct, labelled, confidence)
        drop = (ref.accuracy - acc) if ref.accuracy is not None else None
        out.append(signal("performance", "accuracy", drop, s.performance.accuracy_drop,
                          drop is not None and drop >= s.performance.accuracy_drop and float(hi) < ref.accuracy,
                          judged=judged and ref.accuracy is not None,
                          why=why or "the reference has no accuracy", accuracy=acc, ci_low=float(lo),
                          ci_high=float(hi), reference=ref.accuracy, labelled=int(labelled)))
        pos, neg = np.asarray(w.score_pos, dtype=np.float64), np.asarray(w.score_neg, dtype=np.float64)
        auc = auc_from_bins(pos, neg)
        if math.isfinite(auc):
            se = _hanley_mcneil(auc, pos.sum(), neg.sum())
            drop = (ref.auc - auc) if ref.auc is not None else None
            out.append(signal("performance", "auc", drop, s.performance.auc_drop,
                              drop is not None and drop >= s.performance.auc_drop and auc + z * se < ref.auc,
                              judged=judged and ref.auc is not None, why=why or "the reference has no AUC",
                              auc=auc, ci_low=max(auc - z * se, 0.0), ci_high=min(auc + z * se, 1.0),
                              reference=ref.auc))
            # calibration: expected calibration error on ten equal score bins
            b = np.arange(SCORE_BINS) // (SCORE_BINS // 10)
            centre = (np.arange(SCORE_BINS) + 0.5) / SCORE_BINS
            n10 = np.bincount(b, weights=pos + neg, minlength=10)
            p10 = np.bincount(b, weights=pos, minlength=10)
            s10 = np.bincount(b, weights=(pos + neg) * centre, minlength=10)
            ok = n10 > 0
            ece = float(np.sum(np.abs(p10[ok] - s10[ok])) / n10.sum())
            out.append(signal("performance", "calibration", ece, None, False, judged=False,
                              why="shown, not judged", expected_calibration_error=ece))
    # the label-free estimate (confidence-based performance estimation), judged while labels are missing
    scored = float(tot["scored_decided"]) if tot is not None else 0.0
    no_labels = labelled == 0
    if scored > 0:
        est = float(tot["expected"]) / scored
        drop = (ref.accuracy - est) if ref.accuracy is not None else None
        est_rule = s.estimated_performance
        out.append(signal("estimated_performance", "accuracy", drop, est_rule.accuracy_drop,
                          drop is not None and drop >= est_rule.accuracy_drop, judged=judged and no_labels
                          and ref.accuracy is not None,
                          why=why or ("labels arrived: the realised performance is judged" if not no_labels
                                      else "the reference has no accuracy"), accuracy=est, reference=ref.accuracy))
        sc = np.asarray(w.score, dtype=np.float64)
        centre = (np.arange(SCORE_BINS) + 0.5) / SCORE_BINS
        est_auc = auc_from_bins(sc * centre, sc * (1 - centre))
        drop = (ref.auc - est_auc) if ref.auc is not None else None
        out.append(signal("estimated_performance", "auc", drop, est_rule.auc_drop,
                          drop is not None and drop >= est_rule.auc_drop, judged=judged and no_labels
                          and ref.auc is not None,
                          why=why or ("labels arrived: the realised performance is judged" if not no_labels
                                      else "the reference has no AUC"), auc=est_auc, reference=ref.auc))
    return out


# --- fairness -----------------------------------------------------------------------------------------


def _sets(protected: Sequence[str], intersections: bool) -> list[tuple[str, ...]]:
    out = [(a,) for a in protected]
    if intersections:
        for k in range(2, len(protected) + 1):
            out.extend(combinations(protected, k))
    return out


def fairness_rows(ref: Reference, w: WindowStats, s: MonitorSettings, confidence: float,
                  min_group_size: int) -> list[dict[str, Any]]:
    """Per attribute (and intersection) and group: the favourable rate, the adverse impact ratio against the
    reference group with Katz's interval, and with labels the true positive rate ratio."""
    out = []
    for attrs in _sets(ref.protected, s.fairness.intersections):
        if any(a not in ref.reference_groups for a in attrs):
            continue
        g = group_table(w, ref.protected, list(attrs)).set_index("group")
        ref_group = "*".join(ref.reference_groups[a] for a in attrs)
        if ref_group not in g.index:
            continue
        r = g.loc[ref_group]
        lo, hi = wilson_interval(g["favourable"], g["decided"], confidence)
        air_lo, air_hi = katz_ratio_interval(g["favourable"], g["decided"], r["favourable"], r["decided"], confidence)
        pos = g["tp"] + g["fn"]
        tpr_lo, tpr_hi = katz_ratio_interval(g["tp"], pos, r["tp"], r["tp"] + r["fn"], confidence)
        ref_rate = r["favourable"] / r["decided"] if r["decided"] else float("nan")
        ref_tpr = r["tp"] / (r["tp"] + r["fn"]) if (r["tp"] + r["fn"]) else float("nan")
        for i, (name, row) in enumerate(g.iterrows()):
            rate = row["favourable"] / row["decided"] if row["decided"] else float("nan")
            tpr = row["tp"] / pos.iloc[i] if pos.iloc[i] else float("nan")
            out.append({"attribute": "*".join(attrs), "group": str(name), "reference": name == ref_group,
                        "reference_group": ref_group, "decided": int(row["decided"]),
                        "favourable": int(row["favourable"]), "rate": rate, "rate_ci_low": float(lo[i]),
                        "rate_ci_high": float(hi[i]), "air": rate / ref_rate if ref_rate else float("nan"),
                        "air_ci_low": float(air_lo[i]), "air_ci_high": float(air_hi[i]),
                        "positives": int(pos.iloc[i]), "tpr": tpr,
                        "tpr_ratio": tpr / ref_tpr if ref_tpr else float("nan"),
                        "tpr_ratio_ci_low": float(tpr_lo[i]), "tpr_ratio_ci_high": float(tpr_hi[i]),
                        "reference_air": _reference_air(ref, attrs, str(name), ref_group),
                        "large_enough": bool(row["decided"] >= min_group_size and r["decided"] >= min_group_size)})
    return out


def _reference_air(ref: Reference, attrs: tuple[str, ...], group: str, ref_group: str) -> float | None:
    gs = ref.groups.get("*".join(attrs))  # an intersection's groups are under "a*b" when the reference has them
    if not gs:
        return None
    if group not in gs or ref_group not in gs or not gs[ref_group][1] or not gs[group][0]:
        return None
    return (gs[group][1] / gs[group][0]) / (gs[ref_group][1] / gs[ref_group][0])


def _fairness_signals(rows: list[dict[str, Any]], s: MonitorSettings, judged: bool, why: str,
                      min_group_size: int) -> list:
    out = []
    rule = s.fairness
    for r in rows:
        if r["reference"]:
            continue
        subject = f"{r['attribute']}={r['group']}"
        small = "" if r["large_enough"] else f"fewer than {min_group_size} decisions in the group or its reference"
        out.append(signal("fairness", f"{subject}:air", r["air"], rule.min_air,
                          r["air"] < rule.min_air and r["air_ci_high"] < 1.0,
                          judged=judged and r["large_enough"], why=why or small, **r))
        if r["positives"] >= min_group_size:
            out.append(signal("fairness", f"{subject}:tpr_ratio", r["tpr_ratio"], rule.min_error_ratio,
                              r["tpr_ratio"] < rule.min_error_ratio and r["tpr_ratio_ci_high"] < 1.0,
                              judged=judged, why=why, tpr=r["tpr"], ci_low=r["tpr_ratio_ci_low"],
                              ci_high=r["tpr_ratio_ci_high"], positives=r["positives"]))
    return out


# --- security and oversight ------------------------------------------------------------------------


def _security_signals(ref: Reference, w: WindowStats, s: MonitorSettings) -> list:
    out = []
    if w.flags or w.routes:
        rows = w.rows or 1
        sc = s.screening
        for subject, count, threshold in (("screened", w.screened, sc.max_rate),
                                          ("training_rows", w.training_rows, sc.max_training_row_rate),
                                          ("duplicates", w.duplicates, sc.max_duplicate_rate)):
            rate = count / rows
            out.append(signal("screening", subject, rate, threshold, rate >= threshold, judged=w.rows >= s.min_rows,
                              why=f"{w.rows:,} rows, fewer than the {s.min_rows:,} a window needs to be judged",
                              rows=count, flags=w.flags if subject == "screened" else None))
    kv = s.key_volume
    for key, n in sorted(w.keys.items()):
        out.append(signal("key_volume", key, float(n), float(kv.max_rows), n > kv.max_rows, judged=kv.enabled,
                          why="" if kv.enabled else "key volume alerts are off in the policy", rows=n))
    return out


def _oversight_signals(ref: Reference, w: WindowStats, s: MonitorSettings, confidence: float,
                       min_group_size: int) -> list:
    out = []
    if not w.oversight:
        return out
    rule = s.oversight
    k = len(ref.protected)
    for i, a in enumerate(ref.protected or [None]):
        per: dict[str, list[int]] = {}
        for row in w.oversight:
            g = row[i] if a is not None else "all"
            acc = per.setdefault(g, [0, 0, 0, 0])
            for j in range(4):
                acc[j] += row[k + j]
        for g, (rev, over, app, app_over) in sorted(per.items()):
            for what, x, n, th in (("override_rate", over, rev, rule.max_override_rate),
                                   ("appeal_success_rate", app_over, app, rule.max_appeal_success_rate)):
                rate = x / n if n else float("nan")
                lo, hi = _wilson(x, n, confidence)
                out.append(signal("oversight", f"{a or 'all'}={g}:{what}", rate, th, rate >= th and float(lo) > 0,
                                  judged=n >= min_group_size, why=f"fewer than {min_group_size} cases",
                                  cases=n, count=x, ci_low=float(lo), ci_high=float(hi)))
    return out


def evaluate(ref: Reference, w: WindowStats, s: MonitorSettings, *, confidence: float = 0.95,
             min_group_size: int = 30) -> dict[str, Any]:
    """The signals of one window (``signals``) and its fairness table (``fairness``)."""
    judged = w.rows >= s.min_rows
    why = "" if judged else f"{w.rows:,} rows, fewer than the {s.min_rows:,} a window needs to be judged"
    sig: list[dict[str, Any]] = []
    if s.feature_drift.enabled or s.data_quality.enabled:
        for name, f in ref.features.items():
            sig.extend(x for x in _feature_signals(f, w.features[name], w.rows, s, judged, why)
                       if getattr(s, x["signal"]).enabled)
    if s.prediction_drift.enabled:
        sig.extend(_prediction_signals(ref, w, s, judged, why))
    sig.extend(x for x in _performance_signals(ref, w, s, judged, why, confidence) if getattr(s, x["signal"]).enabled)
    rows = fairness_rows(ref, w, s, confidence, min_group_size)
    if s.fairness.enabled:
        sig.extend(_fairness_signals(rows, s, judged, why, min_group_size))
        sig.extend(_reference_groups_present(ref, w, s, judged, why, min_group_size))
    sig.extend(x for x in _security_signals(ref, w, s) if getattr(s, x["signal"]).enabled)
    if s.oversight.enabled:
        sig.extend(_oversight_signals(ref, w, s, confidence, min_group_size))
    if not judged:  # a small window's values could single people out: shown once the window is large enough
        sig = [dict(x, value=None, measures={}) if x["signal"] in _ROW_FAMILIES else x for x in sig]
        rows = []
    return {"rows": w.rows, "judged": judged, "why": why, "signals": sig, "fairness": _clean(rows)}


def _reference_groups_present(ref: Reference, w: WindowStats, s: MonitorSettings, judged: bool, why: str,
                              min_group_size: int) -> list[dict[str, Any]]:
    """A judged window where a protected attribute's reference group has too few decisions to compare with
    (the attribute missing, or recoded upstream) is a breach: fairness that cannot be measured has failed."""
    out = []
    for a, ref_group in ref.reference_groups.items():
        g = group_table(w, ref.protected, [a]).set_index("group")
        n = int(g["decided"].get(ref_group, 0)) if len(g) else 0
        seen = [str(x) for x in g.sort_values("decided", ascending=False).index[:5]] if len(g) else []
        out.append(signal("fairness", f"{a}:reference_group", float(n), float(min_group_size), n < min_group_size,
                          judged=judged, why=why, reference_group=ref_group, groups_seen=seen,
                          missing=int(g["decided"].get("(missing)", 0)) if len(g) else 0))
    return out


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows]
