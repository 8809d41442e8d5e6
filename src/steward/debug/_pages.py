"""The HTML of the model-debugging results: the body of each result's page and notebook view, and
of its section in the audit report (``heading`` is the level of the result's own sub-headings).

Pictures first, then a sentence of what was done, then the figures behind them; long tables are
summarised with every row folded below (``steward._html.table``)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from steward._html import count, number, pct, table

__all__ = ["adversarial_html", "churn_html", "comparison_html", "flip_html", "proxies_html", "residuals_html",
           "sensitivity_html", "situation_html", "stress_html"]


def _h(level: int, text: str) -> str:
    return f"<h{level}>{html.escape(text)}</h{level}>"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _chart(svg: str) -> str:
    return f'<div class="chart">{svg}</div>' if svg else ""


def _verdict(kind: str, text: str) -> str:
    return f'<div class="verdict {kind}">{html.escape(text)}</div>'


def _section(level: int, title: str, body: str) -> str:
    return _h(level, title) + body if body else ""


def _examples(title: str, frame: Any, first: Sequence[str] = ()) -> str:
    """Example rows, folded whole: they back the figures above and are read only when wanted."""
    if frame is None or not len(frame):
        return ""
    return (f"<details><summary>{html.escape(title)} ({count(len(frame))})</summary>"
            f"{table(_lead(frame, list(first)), limit=len(frame))}</details>")


def _lead(frame: Any, first: list[str]) -> Any:
    """``frame`` with the columns that say what happened (scores, decisions) before the row's features."""
    lead = [c for c in first if c in frame.columns]
    return frame[lead + [c for c in frame.columns if c not in lead]]


def flip_html(rep: Any, heading: int = 2, limit: float | None = None) -> str:
    from steward.debug._probe_charts import flip_chart

    overall = ", ".join(f"{k} {pct(v)}" for k, v in rep.overall.items()) or "none (no attribute could be tested)"
    parts = [_p("Every row was scored again as a member of each other group, all else equal. Share of people "
                f"whose decision changes: {overall}.")]
    parts += [_p(f"{attr}: {why}.") for attr, why in rep.skipped.items()]
    parts.append(_chart(flip_chart(rep, limit)))
    parts.append(_section(heading, "Per group", table(rep.groups, limit=12)))
    parts.append(_section(heading, "Per pair of groups", table(
        rep.table, limit=8, order="share", summary="the pairs of groups with the largest share of flips")))
    parts.append(_examples("Examples of flipped decisions", rep.examples,
                           ["attribute", "group", "as_group", "score", "score_as_group"]))
    return "\n".join(parts)


def situation_html(reports: list[Any], heading: int = 2, limit: float | None = None) -> str:
    """Situation testing of one or more protected attributes: one chart, then a section each."""
    from steward.debug._probe_charts import situation_chart

    reports = [r for r in reports if r is not None]
    if not reports:
        return ""
    r0 = reports[0]
    parts = [_p(f"For each person of a protected group, the {r0.k} most similar people of the reference group and "
                f"the {r0.k} most similar of their own group (Luong, Ruggieri and Turini, 2011; similarity on the "
                f"standardised features {', '.join(map(str, r0.features))}). A person with an unfavourable decision "
                f"is flagged when the reference neighbours got the favourable decision at least "
                f"{pct(r0.t, 0)} more often than their own group's."),
             _chart(situation_chart(reports, limit))]
    for r in reports:
        parts.append(_h(heading, f"{r.attribute} against {r.reference}"))
        parts.append(_p(f"{pct(r.share_flagged)} of the unfavourable decisions of the groups other than "
                        f"{r.reference} are flagged."))
        # the interval columns are named after "share"; beside their estimate, they need its name
        parts.append(table(r.table.rename(columns={"share_ci_low": "share_flagged_ci_low",
                                                   "share_ci_high": "share_flagged_ci_high"}), limit=12))
        if len(r.flagged):
            parts.append(f"<details><summary>A sample of the flagged people ({count(len(r.flagged))})</summary>"
                         f"{table(r.flagged, limit=len(r.flagged))}</details>")
    return "\n".join(parts)


def _learners(rep: Any) -> str:
    """The proxy adversary's learner(s), as recorded (logistic regression on small data, boosting on large)."""
    a = rep.adversary
    names = list(dict.fromkeys(a["model"].dropna())) if "model" in a.columns else []
    return ", ".join(map(str, names)) or "gradient boosting"


def proxies_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._probe_charts import proxy_chart

    found = rep.proxies()
    names = ", ".join(f"{r.feature} for {r.attribute}" for r in found.itertuples())
    many = len(found) != 1
    verdict = (_verdict("bad", f"{len(found)} feature{'s' if many else ''} stand{'' if many else 's'} in for a "
                               f"protected attribute: {names}.") if len(found) else
               _verdict("ok", "No single feature stands in for a protected attribute at these thresholds."))
    parts = [verdict, _p(
        "Each feature alone: the AUC of telling the best-separated group from the rest (out-of-fold group shares "
        "for categories), Cramér's V and mutual information; all features together: a cross-validated "
        f"adversary ({_learners(rep)}). A feature is a proxy when its AUC is at least {rep.max_auc:g} or its V at "
        f"least {rep.max_cramers_v:g}."), _chart(proxy_chart(rep))]
    parts.append(_section(heading, "Each feature alone", table(
        rep.table, limit=10, order="auc", summary="the features that predict a protected attribute best")))
    parts.append(_section(heading, "All features together", table(rep.adversary)))
    return "\n".join(parts)


def sensitivity_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._probe_charts import sensitivity_chart

    s = rep.summary
    overall = s[s["group"] == "all"] if "group" in s.columns else s
    parts = [_p(f"Each feature was moved across its range for {count(rep.rows)} sampled rows: the swing of the mean "
                "score, and the share of rows whose decision changes somewhere along it."),
             _chart(sensitivity_chart(rep)),
             _section(heading, "Per feature, all rows", table(overall.drop(columns=["group"], errors="ignore"),
                                                              limit=10, order="score_swing",
                                                              summary="the features that move the score most"))]
    if len(overall) < len(s):
        parts.append(f"<details><summary>Per feature and group ({count(len(s))} rows)</summary>"
                     f"{table(s, limit=len(s))}</details>")
    return "\n".join(parts)


def stress_html(rep: Any, heading: int = 2) -> str:
    return "\n".join([_p("Decisions changed by each scenario, overall and per group."),
                      table(rep.table, limit=12, summary="the first scenarios")])


def adversarial_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._probe_charts import adversarial_chart

    text = (f"For {count(rep.rows)} sampled rows, the cheapest allowed change that flips the decision (cost: "
            f"standard deviations of each changed number, 1 per changed category; never changing "
            f"{', '.join(map(str, rep.immutable)) or 'nothing'}). {pct(rep.flip_rate)} flip within a cost of "
            f"{number(rep.budget)}."
            + (" The search ran out of time before trying every pair of changes." if rep.timed_out else ""))
    flipped = rep.examples[rep.examples["flipped"]].drop(columns=["moves", "flipped"], errors="ignore")
    return "\n".join([_p(text), _chart(adversarial_chart(rep)),
                      _section(heading, "Features in the cheapest flips", table(rep.features, limit=12)),
                      _section(heading, "The cheapest flips", table(flipped, limit=8, order="cost", ascending=True,
                                                                     summary="the cheapest changes"))])


def residuals_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._charts import residual_chart

    w = rep.worst_share
    parts = [_p(f"Per-row {rep.loss.replace('_', ' ')} of the score against the label (residual = label − score; "
                f"mean {number(rep.mean_loss)} over {count(rep.rows)} rows). The worst 1% of rows carry "
                f"{pct(w['top_1pct'])} of the total loss, the worst 10% {pct(w['top_10pct'])}."),
             _chart(residual_chart(rep))]
    bf = rep.by_feature
    if len(bf):
        # the values that matter: enough rows to be more than noise, then the highest mean loss
        floor = max(30, int(0.01 * rep.rows))
        big = bf[bf["rows"] >= floor]
        big = big if len(big) else bf
        parts.append(_section(heading, "Feature values with the highest loss", table(
            big, limit=10, order="mean_loss", detail=bf,
            summary=f"the feature values of at least {count(floor)} rows with the highest mean loss")))
    if rep.slices is not None and len(rep.slices):
        parts.append(_section(heading, "Slices with the highest loss", table(
            rep.slices.table, ["slice", "size", "share", "error_rate", "rest_error_rate", "error_ratio"],
            formats={"error_rate": "number", "rest_error_rate": "number", "errors": "number"},
            labels={"error_rate": "mean loss", "rest_error_rate": "mean loss of the rest"}, limit=5,
            summary="the slices with the highest score")))
    parts.append(_examples("The rows with the largest loss", rep.largest,
                           ["label", "score", "residual", "loss"]))
    return "\n".join(parts)


def churn_html(rep: Any, heading: int = 2) -> str:
    from steward.debug._charts import churn_chart

    return "\n".join([
        _p(f"{pct(rep.overall)} of decisions differ from the previous version's on the same rows (Wilson intervals). "
           "People notice when a decision they had is gone."),
        _chart(churn_chart(rep)),
        _section(heading, "Flips by group", table(rep.table, limit=12)),
        _examples("Examples of flipped decisions", rep.examples,
                  ["decision", "previous_decision", "model_score"])])


def comparison_html(rep: Any, heading: int = 2) -> str:
    d, s = rep.disagreements, rep.settings
    m = rep.metrics
    overall = m[m["scope"] == "all"].drop(columns=["scope"])
    numbers = {"model": "number", "reference": "number", "difference": "number"}
    parts = [_p(f"Both models scored the same {count(rep.rows)} rows; intervals are paired percentile bootstrap "
                f"({count(s['draws'])} resamples, {pct(s['confidence'], 0)})."),
             _p(f"The model is wrong where the {rep.reference_name} is right on "
                f"{count(d['model_wrong_reference_right'])} rows, and right where it is wrong on "
                f"{count(d['reference_wrong_model_right'])}; both are wrong on {count(d['both_wrong'])}."),
             _chart(rep.chart()),
             _section(heading, "Differences over all rows", table(
                 overall, limit=len(overall), formats=numbers))]
    if len(m) > len(overall):
        parts.append(f"<details><summary>Per group ({count(len(m))} rows)</summary>"
                     f"{table(m, limit=len(m), formats=numbers)}"
                     "</details>")
    if rep.slices is not None and len(rep.slices):
        parts.append(_section(heading, f"Slices where the model is wrong and the {rep.reference_name} right", table(
            rep.slices.table, ["slice", "size", "share", "error_rate", "rest_error_rate", "error_ratio"], limit=5,
            summary="the slices with the highest score")))
    parts.append(_examples(f"Rows where the model is wrong and the {rep.reference_name} right, the largest score "
                           "gaps first", rep.model_only_wrong, ["label", "model_score", "reference_score"]))
    return "\n".join(parts)
