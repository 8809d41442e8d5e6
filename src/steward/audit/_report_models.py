"""Report sections for the analyses run with the model: slices, benchmark, residuals, churn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["analysis_sections"]


def _table(frame: pd.DataFrame, columns: list[str] | None = None, limit: int = 20) -> str:
    if frame is None or frame.empty:
        return ""
    f = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    # pandas escapes cell text; the class matches the report's table style
    return f.head(limit).to_html(index=False, classes="data", border=0, na_rep="undefined",
                                 float_format=lambda x: f"{x:.4g}")


def analysis_sections(result: "AuditResult") -> list[dict[str, Any]]:
    a = result.analyses
    out: list[dict[str, Any]] = []
    if result.model:
        m = result.model
        art = m.get("artifact") or {}
        text = [f"Decisions were made by scoring the data with the model ({m.get('kind')}, {m.get('class_name', '')}) "
                f"at threshold {m.get('threshold')}."]
        if art:
            text.append(f"Model file {art.get('path')} ({art.get('format')}), SHA-256 {art.get('sha256')}.")
        prev = (m.get("previous") or {}).get("artifact")
        if prev:
            text.append(f"Previous version: {prev.get('path')}, SHA-256 {prev.get('sha256')}.")
        out.append({"id": "model", "title": "The model", "paragraphs": text, "chart": "", "tables": []})
    if "slices" in a:
        r = a["slices"]
        s = r.settings
        out.append({"id": "slices", "title": "Slices where the model is most often wrong", "chart": r.chart(),
                    "paragraphs": [
                        f"SliceLine (Sagadeeva and Boehm, 2021) searched every conjunction of up to {s['max_level']} "
                        f"feature values with at least {s['min_support']:,} rows, scoring each by how much worse the "
                        f"error inside is than overall (alpha {s['alpha']}), and kept the top {s['k']}. Overall error "
                        f"rate: {r.mean_error:.1%} of {r.rows:,} rows; {r.candidates_evaluated:,} slices were evaluated.",
                        "Numbers were cut into quantile bins; a missing value is a value of its own."],
                    "tables": [("Top slices", _table(r.table, ["slice", "size", "share", "error_rate",
                                                              "rest_error_rate", "error_ratio", "score"]))]})
    if "benchmark" in a:
        c = a["benchmark"]
        d = c.disagreements
        tables = [("Model against the benchmark, all rows and per group", _table(
            c.metrics, ["scope", "rows", "metric", "model", "reference", "difference", "difference_ci_low",
                        "difference_ci_high", "better", "too_small_to_judge"], limit=200))]
        if c.slices is not None and len(c.slices):
            tables.append(("Slices where the model is wrong and the benchmark right", _table(
                c.slices.table, ["slice", "size", "error_rate", "rest_error_rate", "error_ratio"])))
        tables.append(("Rows where the model is wrong and the benchmark right (largest score gap first)",
                       _table(c.model_only_wrong, limit=10)))
        out.append({"id": "benchmark", "title": f"Against a transparent benchmark ({c.reference_name})",
                    "chart": c.chart(), "tables": tables, "paragraphs": [
                        f"Both models scored the same {c.rows:,} rows; intervals are paired percentile bootstrap "
                        f"({c.settings['draws']} resamples, {round(c.settings['confidence'] * 100)}%).",
                        f"The model is wrong where the benchmark is right on {d['model_wrong_reference_right']:,} rows, "
                        f"and right where it is wrong on {d['reference_wrong_model_right']:,}; both are wrong on "
                        f"{d['both_wrong']:,}."]})
    if "residuals" in a:
        r = a["residuals"]
        tables = [("Largest residuals", _table(r.largest, limit=15)),
                  ("Mean residual and loss by feature value", _table(r.by_feature, limit=400))]
        if r.slices is not None and len(r.slices):
            tables.append(("Slices with the highest loss", _table(
                r.slices.table, ["slice", "size", "error_rate", "rest_error_rate", "error_ratio"])))
        out.append({"id": "residuals", "title": "Residuals", "chart": r.chart(), "tables": tables, "paragraphs": [
            f"Per-row {r.loss} of the score against the label (residual = label - score). The worst 1% of rows carry "
            f"{r.worst_share['top_1pct']:.1%} of the total loss, the worst 10% {r.worst_share['top_10pct']:.1%}."]})
    if "churn" in a:
        c = a["churn"]
        out.append({"id": "churn", "title": "Prediction churn against the previous version", "chart": c.chart(),
                    "paragraphs": [f"{c.overall:.1%} of decisions differ from the previous version's on the same rows "
                                   f"(Wilson intervals). People notice when a decision they had is gone."],
                    "tables": [("Flips by group", _table(c.table, limit=100)),
                               ("Examples of flipped decisions", _table(c.examples, limit=10))]})
    out += _probe_sections(a)
    if "explanations" in a:
        e = a["explanations"]
        sv = e.shapley
        out.append({"id": "explanations", "title": "Explanations", "chart": e.html(), "tables": [], "paragraphs": [
            f"Shapley values of {len(sv.values):,} rows ({sv.method}), in {sv.space} space: how much each feature "
            f"moved each score away from the reference, {sv.base_value:.4g}."]})
    elif "explanations_skipped" in a:
        out.append({"id": "explanations", "title": "Explanations", "chart": "", "tables": [],
                    "paragraphs": [f"The model was not explained: {a['explanations_skipped']}"]})
    return out


def _probe_sections(a: dict[str, Any]) -> list[dict[str, Any]]:
    """Flip test, situation testing, proxies, sensitivity, stress scenarios, adversarial search."""
    from steward.debug import _probe_charts as charts

    out: list[dict[str, Any]] = []
    f = a.get("flip_test")
    if f is not None:
        text = [f"Every row was scored again as a member of each other group, all else equal. Share of people "
                f"whose decision changes: " + (", ".join(f"{k} {v:.1%}" for k, v in f.overall.items()) or "none")
                + "."]
        text += [f"{attr}: {why}." for attr, why in f.skipped.items()]
        out.append({"id": "flip_test", "title": "Counterfactual flip test", "chart": charts.flip_chart(f),
                    "paragraphs": text,
                    "tables": [("Per group", _table(f.groups, limit=100)), ("Per pair of groups", _table(f.table, limit=100)),
                               ("Examples", _table(f.examples, limit=10))]})
    st = a.get("situation_testing")
    if st:
        tables = []
        for r in st.reports:
            tables += [(f"{r.attribute} against {r.reference}", _table(r.table, limit=100)),
                       (f"Flagged people ({r.attribute}), a sample", _table(r.flagged, limit=10))]
        r0 = st.reports[0]
        out.append({"id": "situation_testing", "title": "Situation testing", "chart": charts.situation_chart(st.reports),
                    "tables": tables,
                    "paragraphs": [
                        f"For each person of a protected group, the {r0.k} most similar people (standardised "
                        f"features: {', '.join(r0.features)}) of the reference group and of their own group "
                        f"(Luong, Ruggieri and Turini, 2011). A person with an unfavourable decision is flagged when "
                        f"the reference neighbours got favourable decisions at least {r0.t:.0%} more often."]})
    p = a.get("proxies")
    if p is not None:
        found = p.proxies()
        out.append({"id": "proxies", "title": "Proxies of protected attributes", "chart": charts.proxy_chart(p),
                    "paragraphs": [
            f"Each feature alone: AUC separating the best-separated group from the rest (out-of-fold group shares "
            f"for categories), Cramér's V and mutual information; all features together: a cross-validated "
            f"gradient-boosted adversary. Proxies (AUC ≥ {p.max_auc} or V ≥ {p.max_cramers_v}): "
            + (", ".join(f"{r.feature} for {r.attribute}" for r in found.itertuples()) or "none") + "."],
            "tables": [("Features", _table(p.table, limit=200)), ("All features together", _table(p.adversary))]})
    s = a.get("sensitivity")
    if s is not None:
        out.append({"id": "sensitivity", "title": "Sensitivity", "chart": charts.sensitivity_chart(s), "paragraphs": [
            f"Each feature moved across its range for {s.rows:,} sampled rows: the swing of the mean score and the "
            f"share of rows whose decision changes somewhere along it, overall and per group."],
            "tables": [("Per feature", _table(s.summary, limit=200))]})
    t = a.get("stress")
    if t is not None:
        out.append({"id": "stress", "title": "Stress scenarios", "chart": "", "paragraphs": [
            "Decisions changed by each scenario, overall and per group."], "tables": [("Scenarios", _table(t.table, limit=200))]})
    v = a.get("adversarial")
    if v is not None:
        out.append({"id": "adversarial", "title": "Adversarial search", "chart": charts.adversarial_chart(v),
                    "paragraphs": [
            f"For {v.rows} sampled rows, the cheapest allowed change that flips the decision (cost: standard "
            f"deviations of each changed number, 1 per changed category; never changing "
            f"{', '.join(v.immutable) or 'nothing'}). {v.flip_rate:.1%} flip within a cost of {v.budget:g}."
            + (" The search ran out of time before trying every pair of changes." if v.timed_out else "")],
            "tables": [("Features in the cheapest flips", _table(v.features)),
                       ("Examples", _table(v.examples[v.examples["flipped"]].drop(columns=["moves"]), limit=10))]})
    return out
