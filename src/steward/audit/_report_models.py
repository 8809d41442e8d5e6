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
