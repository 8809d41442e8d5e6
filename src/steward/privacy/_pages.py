"""The HTML of the inference attacks (membership, attribute): a verdict, a chart, what was done, the tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from steward._html import table
from steward.debug._pages import _chart, _p, _section, _verdict
from steward.debug._probe_charts import bars

__all__ = ["membership_html", "attribute_html"]

_NAMES = {"baseline": "baseline (ignores the model)", "loss_threshold": "loss threshold (Steward)",
          "rule_based": "rule-based (ART)", "black_box": "black-box forest (ART)"}


def membership_html(rep: Any, heading: int = 2) -> str:
    s = rep.strongest()
    limit = rep.max_advantage
    bad = limit is not None and s["advantage"] > limit
    said = (f"The strongest attack, {_NAMES.get(s['attack'], s['attack'])}, tells training rows from unseen ones "
            f"with AUC {s['auc']:.3f} and advantage {s['advantage']:.3f} (TPR {s['tpr']:.1%} at FPR {s['fpr']:.1%})")
    verdict = (_verdict("bad", said + f", above the policy's {limit:g}.") if bad else
               _verdict("ok", said + (f", within the policy's {limit:g}." if limit is not None else ".")))
    a = rep.attacks
    chart = bars([_NAMES.get(x, x) for x in a["attack"]], a["advantage"].clip(lower=0).to_numpy(),
                 lo=a["advantage_low"].clip(lower=0).to_numpy(), hi=a["advantage_high"].clip(lower=0).to_numpy(),
                 limit=limit, title="Membership advantage of each attack (TPR - FPR)",
                 xlabel=f"advantage ({rep.confidence:.0%} interval); 0 = no better than ignoring the model",
                 xmax=max(0.1, float(np.nanmax(a["advantage_high"].to_numpy()))))
    parts = [verdict, _p(
        f"{rep.rows:,} training rows and {rep.rows:,} unseen rows were attacked (balanced, so a guess is right half "
        f"the time by chance); each attack was fitted on another {rep.rows:,} of each. The model is right on "
        f"{rep.train_accuracy:.1%} of its training rows and {rep.test_accuracy:.1%} of unseen rows; the gap is what "
        "the rule-based attack exploits." + (" " + " ".join(n[0].upper() + n[1:] + "." for n in rep.notes)
                                             if rep.notes else "")), _chart(chart),
        _section(heading, "Attacks", table(a.drop(columns=["threshold"]), limit=len(a)))]
    g = rep.groups
    if len(g):
        best = g[g["attack"] == s["attack"]]
        judged = best[best["judged"]]
        if len(judged):
            parts.append(_chart(bars([f"{r.attribute}={r.group}" for r in judged.itertuples()],
                                     judged["advantage"].clip(lower=0).to_numpy(),
                                     lo=judged["advantage_low"].clip(lower=0).to_numpy(),
                                     hi=judged["advantage_high"].clip(lower=0).to_numpy(), limit=limit,
                                     title=f"Membership advantage per group ({_NAMES.get(s['attack'], s['attack'])})",
                                     xlabel="advantage on the group's rows")))
        parts.append(_section(heading, "Per protected group", table(
            g, limit=12, summary="every attack on each group's rows (groups with fewer than "
                                 f"{rep.min_group_size} rows on a side are shown, not judged)")))
    return "\n".join(parts)


def attribute_html(rep: Any, heading: int = 2) -> str:
    t = rep.table
    limit = rep.max_advantage
    worst = t.loc[t["advantage"].idxmax()] if len(t) else None
    if worst is None:
        verdict = _verdict("ok", "No attribute was attacked.")
    else:
        said = (f"Querying the model raises an attacker's accuracy at guessing {worst['attribute']} from "
                f"{worst['baseline']:.1%} (the other features alone) to {worst['attack']:.1%}: an advantage of "
                f"{worst['advantage']:.3f}")
        bad = limit is not None and worst["advantage"] > limit
        verdict = _verdict("bad" if bad else "ok", said + (f", above the policy's {limit:g}." if bad else
                                                           (f", within the policy's {limit:g}." if limit is not None
                                                            else ".")))
    chart = bars(list(t["attribute"]), t["advantage"].clip(lower=0).to_numpy(),
                 lo=t["advantage_low"].clip(lower=0).to_numpy(), hi=t["advantage_high"].clip(lower=0).to_numpy(),
                 limit=limit, title="What the model's output adds to guessing each protected attribute",
                 xlabel="attack accuracy - baseline accuracy") if len(t) else ""
    return "\n".join([verdict, _p(
        "Two random forests were trained on half of the rows to guess each attribute: one from the other features "
        "and the model's predicted class (ART's AttributeInferenceBlackBox), one from the other features alone "
        "(ART's AttributeInferenceBaseline); both were judged on the other half. 'majority' is the share of the "
        "most common value, what guessing it for everyone achieves."), _chart(chart),
        _section(heading, "Per attribute", table(t, limit=len(t))),
        _section(heading, "Per group: how often each attacker names it", table(rep.groups, limit=12))])
