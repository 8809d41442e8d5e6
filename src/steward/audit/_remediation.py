"""Before/after evidence: the original and the remediated model audited on the same held-out rows.

It lives with the audit (not in :mod:`steward.remediate`) because it audits both models under the
policy; the remedies themselves are in the analytic core.

Every group metric with its interval, the quality (AUC, accuracy), the policy verdict before and
after, and which groups gained or lost favourable decisions: a fix can move harm to another group.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, RoleError

__all__ = ["METHODS", "RemediationReport", "constraint_from_policy", "remediate"]

METHODS = ("reweighing", "disparate_impact_remover", "reductions", "thresholds", "reject_option", "selection")

_METRICS = ["rows", "selection_rate", "selection_rate_ci_low", "selection_rate_ci_high", "favourable_rate",
            "favourable_rate_ci_low", "favourable_rate_ci_high", "adverse_impact_ratio", "adverse_impact_ratio_ci_low",
            "adverse_impact_ratio_ci_high", "false_positive_rate", "false_positive_rate_ci_low",
            "false_positive_rate_ci_high", "false_negative_rate", "false_negative_rate_ci_low",
            "false_negative_rate_ci_high", "fpr_ratio", "fpr_ratio_ci_low", "fpr_ratio_ci_high", "fnr_ratio",
            "fnr_ratio_ci_low", "fnr_ratio_ci_high", "accuracy", "accuracy_ci_low", "accuracy_ci_high"]


@dataclass
class RemediationReport(HtmlView):
    """The evidence of one remediation (see the module docstring)."""

    method: str
    description: dict[str, Any]
    before: Any  # AuditResult
    after: Any
    groups: pd.DataFrame
    quality: pd.DataFrame
    review: dict[str, Any] | None = None

    @property
    def verdict(self) -> dict[str, Any]:
        return {"before": self.before.passed, "after": self.after.passed}

    def to_frame(self) -> pd.DataFrame:
        """One row per group: each metric before and after, the change in favourable rate and the outcome."""
        return self.groups

    page_kind = "remediation"

    @property
    def page_title(self) -> str:
        return f"Remediation: {self.method.replace('_', ' ')}"

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"method": self.method, "remediation": self.description, "verdict": self.verdict,
                "groups": json_rows(self.groups, limit=len(self.groups)),
                "quality": json_rows(self.quality, limit=len(self.quality)), "review": self.review,
                "findings_before": [f.to_dict() for f in self.before.findings or []],
                "findings_after": [f.to_dict() for f in self.after.findings or []]}

    def chart(self) -> str:
        from steward._svg import legend_outside, pyplot, to_svg

        g = self.groups[~self.groups["is_reference"].astype(bool)]
        if g.empty:
            return ""
        plt = pyplot()
        labels = [f"{a}={v}" for a, v in zip(g["attribute"], g["group"])]
        y = np.arange(len(g))[::-1]
        fig, ax = plt.subplots(figsize=(8, 1 + 0.45 * len(g)))
        for off, when, colour in ((0.18, "before", "#95a5a6"), (-0.18, "after", "#2c6fbb")):
            v = g[f"adverse_impact_ratio_{when}"].to_numpy(float)
            lo = g[f"adverse_impact_ratio_ci_low_{when}"].to_numpy(float)
            hi = g[f"adverse_impact_ratio_ci_high_{when}"].to_numpy(float)
            err = np.nan_to_num(np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)]))
            ax.barh(y + off, np.nan_to_num(v), height=0.34, color=colour, xerr=err, ecolor="#555", capsize=2,
                    label=when)
        ax.axvline(0.8, color="#c0392b", ls="--", lw=1, label="four-fifths rule")
        ax.axvline(1.0, color="#7f8c8d", lw=0.8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("adverse impact ratio against the reference group (95% interval)")
        ax.set_title(f"Before and after {self.method.replace('_', ' ')}", fontsize=10)
        legend_outside(ax)
        return to_svg(fig)

    def html(self, heading: int = 2) -> str:
        """Page body: the verdicts, the chart, quality, each group before and after, the findings that moved."""
        from steward._html import count, pct, table

        esc = html.escape
        d, v = self.description, self.verdict
        said = {True: "passes", False: "fails", None: "is not judged"}
        kind = "ok" if v["after"] else ("bad" if v["after"] is False else "info")
        parts = [f'<div class="verdict {kind}">Under the policy, the original model <b>{said[v["before"]]}</b>; the '
                 f'remediated model <b>{said[v["after"]]}</b>. Method: {esc(str(d.get("method", self.method)))}.</div>']
        if d.get("uses_protected_at_decision"):
            parts.append('<div class="verdict warn"><b>This method uses the protected attribute at decision time</b>, '
                         "which can be unlawful in regulated settings (for example US credit decisions under ECOA): "
                         f"check before deploying it.{' ' + esc(d['note']) + '.' if d.get('note') else ''}</div>")
        else:
            parts.append("<p>The remediated model does not use the protected attribute at decision time.</p>")
        if self.review:
            r = self.review
            parts.append(f"<p>{count(r['to_review'])} decisions ({pct(r['share_to_review'])}) within {r['band']:g} of "
                         f"the threshold were sent to human review instead of being decided; the metrics after are "
                         f"over the decided rows.</p>")
        parts.append(f'<div class="chart">{self.chart()}</div>')
        h = f"h{heading}"
        parts += [f"<{h}>Quality</{h}>", table(self.quality, formats={"accuracy": "pct"})]
        g = self.groups.copy()
        g["group"] = [f"{a}={x}" + (" (reference)" if ref else "")
                      for a, x, ref in zip(g["attribute"], g["group"], g["is_reference"])]
        g = g.drop(columns=["attribute"])
        key = ["group", "rows_before", "favourable_rate_before", "favourable_rate_after",
               "favourable_change", "adverse_impact_ratio_before", "adverse_impact_ratio_after", "outcome"]
        parts += [f"<{h}>Groups before and after</{h}>",
                  "<p>Favourable rates and adverse impact ratios with their 95% intervals; every metric of every "
                  "group (error rates and their ratios, accuracy) is in the full table below it.</p>",
                  table(g.drop(columns=["is_reference"]), key, limit=12,
                        formats={"favourable_change": "pp"},
                        labels={"rows_before": "rows", "favourable_change": "change"})]
        parts.append(self._findings_html(heading))
        if d.get("chart"):
            parts += [f"<{h}>The model selection behind it</{h}>", f'<div class="chart">{d["chart"]}</div>']
        return "\n".join(p for p in parts if p)

    def _findings_html(self, heading: int) -> str:
        """The policy's findings before and after, the ones that changed or fail first."""
        from steward._html import badge, number, table

        def value(v: Any) -> str:  # a check without a number (a model-card field) shows nothing, not "undefined"
            return "" if v is None or pd.isna(v) else number(v)

        def frame(result: Any) -> pd.DataFrame:
            rows = [{"id": f.id, "finding": f"{f.check.replace('_', ' ')} — {f.subject}", "status": f.status,
                     "value": f.value} for f in result.findings or []]
            out = pd.DataFrame(rows, columns=["id", "finding", "status", "value"])
            return out.assign(nth=out.groupby("id").cumcount())  # the same check twice stays two rows

        b, a = frame(self.before), frame(self.after)
        if b.empty and a.empty:
            return ""
        both = b.merge(a.drop(columns=["finding"]), on=["id", "nth"], how="outer", suffixes=("_before", "_after"))
        both["finding"] = both["finding"].fillna(both["id"])
        rank = {"fail": 0, "not_evidenced": 1, "warn": 2}
        both["changed"] = both["status_before"].fillna("") != both["status_after"].fillna("")
        both["_order"] = [(-int(c), rank.get(s, 3)) for c, s in zip(both["changed"], both["status_after"])]
        both = both.sort_values("_order", kind="stable").drop(columns=["_order"])
        moved = int(both["changed"].sum())
        h = f"h{heading}"
        return (f"<{h}>Findings before and after</{h}><p>{moved} of {len(both)} findings changed status.</p>"
                + table(both[["finding", "status_before", "value_before", "status_after", "value_after"]],
                        formats={"status_before": badge, "status_after": badge, "value_before": value,
                                 "value_after": value}, limit=max(moved, 8),
                        summary="the findings that changed status, then the failing ones"))


def constraint_from_policy(policy: Any = "default", tier: str = "high") -> tuple[str, float | None]:
    """(constraint name, ratio bound) from a policy tier: the AIR floor if the tier checks it, else
    the FPR/FNR ratio ceiling (as its inverse), else demographic parity at 0.8."""
    from steward.audit.policy import load_policy

    pol = load_policy(policy)
    if tier not in pol.tiers:
        raise DataValidationError(f"tier {tier!r} is not in the policy; its tiers are: {', '.join(pol.tiers)}")
    checks = pol.tiers[tier].checks
    if "adverse_impact_ratio" in checks:
        return "demographic_parity", float(checks["adverse_impact_ratio"].min)
    for name in ("false_positive_rate_ratio", "false_negative_rate_ratio"):
        if name in checks:
            return "equalized_odds", 1.0 / float(checks[name].max)
    return "demographic_parity", 0.8


def _quality(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    ok = ~np.isnan(score)
    auc = float(roc_auc_score(y[ok], score[ok])) if len(np.unique(y[ok])) == 2 else float("nan")
    return {"rows": int(ok.sum()), "auc": auc, "accuracy": float(np.mean((score[ok] >= threshold) == y[ok]))}


def _baseline(train: pd.DataFrame, y: np.ndarray, features: list[str]) -> Any:
    import lightgbm as lgb

    X = train[features]
    X = X.astype({c: "category" for c in features if not pd.api.types.is_numeric_dtype(X[c].dtype)})
    return lgb.LGBMClassifier(n_estimators=200, num_leaves=15, learning_rate=0.05, verbose=-1, random_state=0).fit(X, y)


def remediate(
    method: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    label: str,
    features: list[str],
    protected: Mapping[str, Any],
    positive_label: Any = None,
    favourable: int = 1,
    threshold: float = 0.5,
    model: Any = None,
    policy: Any = "default",
    tier: str = "high",
    repair_level: float = 1.0,
    constraint: str | None = None,
    band: float = 0.05,
    candidates: Any = None,
    tolerance: float = 0.01,
    card_info: Any = None,
    on_progress: Callable[[str, float], None] | None = None,
) -> RemediationReport:
    """Remediate with ``method`` on ``train`` and audit before and after on ``test``.

    ``model`` is the original (a path or object); without it a LightGBM model is trained on
    ``train`` as the original. The first protected attribute is the one remediated; all are audited.
    ``card_info`` (a model_card.yaml path or dict) is given to both audits, so that a policy requiring
    a filled-in model card can pass.
    """
    from steward.audit._run import audit
    from steward.data import check_feature_values, check_training_label
    from steward.engine._columns import binary_array
    from steward.models import wrap_model
    from steward.remediate import (
        DisparateImpactRemover,
        ReweighingClassifier,
        group_thresholds,
        reduction,
        reject_option,
        select_model,
    )

    if method not in METHODS:
        raise DataValidationError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    attrs = list(protected)
    if not attrs:
        raise RoleError("name the protected attribute to remediate")
    attr = attrs[0]
    features = [f for f in features if f not in attrs]
    missing = [c for c in [label, *attrs, *features] if c not in train.columns or c not in test.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} are missing from the training or the "
                                  f"held-out data")
    for a, ref in protected.items():  # said before anything is trained, not after
        if ref is not None and str(ref) not in set(test[a].astype(str)):
            raise DataValidationError(f"reference group {ref!r} of protected attribute {a!r} does not occur in the "
                                      f"held-out data; the groups are: {', '.join(sorted(set(test[a].astype(str))))}")
    y_train = binary_array(train[label], column=label, role="label", positive=positive_label).astype(int)
    y_test = binary_array(test[label], column=label, role="label", positive=positive_label).astype(int)
    check_training_label(y_train, column=label, what="the training data")
    for frame, what in ((train, "training data column"), (test, "held-out data column")):
        check_feature_values(frame, features, what=what)
    groups = train[attr].dropna().astype(str).unique()
    if len(groups) < 2:
        raise DataValidationError(f"protected attribute {attr!r} has {len(groups)} group(s) in the training data "
                                  f"({', '.join(groups) or 'none'}); remediation needs at least two to compare")
    step = on_progress or (lambda *_: None)
    step("original model", 0.0)
    if model is None:
        original = wrap_model(_baseline(train, y_train, features), features=features)
    else:
        from steward.audit._analyses import load_any_model

        original = load_any_model(model, features=features)
    step(method, 0.3)
    review = None
    if method == "reweighing":
        import lightgbm as lgb

        est = lgb.LGBMClassifier(n_estimators=200, num_leaves=15, learning_rate=0.05, verbose=-1, random_state=0)
        Xt = train[[*features, attr]].astype({c: "category" for c in features
                                              if not pd.api.types.is_numeric_dtype(train[c].dtype)})
        fitted = ReweighingClassifier(est, sensitive=attr).fit(Xt, y_train)
        cats = {c: Xt[c].dtype for c in features if isinstance(Xt[c].dtype, pd.CategoricalDtype)}
        fixed = wrap_model(lambda d: fitted.predict_proba(d[[*features, attr]].astype(cats))[:, 1],
                           features=[*features, attr])
        desc = {"method": "reweighing (Kamiran and Calders, 2012), LightGBM", "uses_protected_at_decision": False,
                "protected": attr}
    elif method == "disparate_impact_remover":
        from sklearn.pipeline import make_pipeline

        import lightgbm as lgb

        numeric = [f for f in features if pd.api.types.is_numeric_dtype(train[f].dtype)]
        if not numeric:
            raise RoleError("disparate impact removal repairs numeric features; none is numeric")
        pipe = make_pipeline(DisparateImpactRemover(attr, repair_level, features=numeric),
                             lgb.LGBMClassifier(n_estimators=200, num_leaves=15, learning_rate=0.05, verbose=-1,
                                                random_state=0))
        Xt = train[[*features, attr]].astype({c: "category" for c in features if c not in numeric})
        pipe.fit(Xt, y_train)
        cats = {c: Xt[c].dtype for c in features if c not in numeric}
        fixed = wrap_model(lambda d: pipe.predict_proba(d[[*features, attr]].astype(cats))[:, 1],
                           features=[*features, attr])
        desc = {"method": f"disparate impact removal (Feldman et al., 2015), repair level {repair_level}, LightGBM",
                "uses_protected_at_decision": True, "protected": attr,
                "note": "the repair of a new row needs its group, so the deployed pipeline reads the attribute"}
    elif method == "reductions":
        name, bound = (constraint, 0.8) if constraint else constraint_from_policy(policy, tier)
        r = reduction(train, label=label, features=features, protected=attr, positive_label=positive_label,
                      constraint=name, ratio_bound=bound)
        fixed, desc = r.model, r.describe()
    elif method == "thresholds":
        r = group_thresholds(original, train, label=label, protected=attr, positive_label=positive_label,
                             constraint=constraint or "demographic_parity")
        fixed, desc = r.model, r.describe()
    elif method == "selection":
        sel = select_model(train, label=label, features=features, protected=attr, reference=protected[attr],
                           positive_label=positive_label, candidates=candidates, tolerance=tolerance,
                           favourable=favourable, threshold=threshold,
                           on_progress=None if on_progress is None else
                           (lambda stage, frac: on_progress(f"selection: {stage}", 0.3 + 0.4 * frac)))
        import lightgbm as lgb

        params = sel.table.loc[sel.chosen, "params"]
        Xt = train[features].astype({c: "category" for c in features if not pd.api.types.is_numeric_dtype(train[c].dtype)})
        chosen = lgb.LGBMClassifier(verbose=-1, random_state=0, **params).fit(Xt, y_train)
        fixed = wrap_model(chosen, features=features)
        desc = {"method": f"fairness-aware model selection: candidate {sel.chosen} of {len(sel.table)} "
                          f"(most accurate: {sel.most_accurate}; tolerance {tolerance} {sel.metric})",
                "uses_protected_at_decision": False, "selection": sel.to_dict(), "chart": sel.chart()}
    else:  # reject_option
        fixed = original
        rej = reject_option(original.score(test), threshold=threshold, band=band, groups=test[attr])
        review = rej.to_dict()
        desc = {"method": f"reject option: decisions within {band} of the threshold go to human review",
                "uses_protected_at_decision": False}
    step("auditing before and after", 0.7)
    s_before = original.score(test)
    s_after = fixed.score(test)
    keep = np.ones(len(test), dtype=bool) if review is None else np.abs(s_after - threshold) >= band
    common = dict(label=label, score="__score", threshold=threshold, favourable=favourable, positive_label=positive_label,
                  protected=dict(protected), policy=policy, tier=tier, card_info=card_info)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = audit(test.assign(__score=s_before), **common)
        after = audit(test.assign(__score=s_after)[keep], **common)
    quality = pd.DataFrame([{"model": "before", **_quality(y_test, s_before, threshold)},
                            {"model": "after", **_quality(y_test[keep], s_after[keep], threshold)}])
    b = before.to_frame().set_index(["attribute", "group"])
    a = after.to_frame().set_index(["attribute", "group"])
    cols = [c for c in _METRICS if c in b.columns]
    groups = b[["is_reference"]].join(b[cols].add_suffix("_before")).join(a[cols].add_suffix("_after"), how="left")
    groups = groups.reset_index()
    change = groups["favourable_rate_after"] - groups["favourable_rate_before"]
    groups["favourable_change"] = change
    groups["outcome"] = np.where(change > 0.005, "gained", np.where(change < -0.005, "lost", "unchanged"))
    step("done", 1.0)
    return RemediationReport(method, desc, before, after, groups, quality, review)
