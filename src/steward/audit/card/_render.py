"""The model card's content, following "Model Cards for Model Reporting" (Mitchell et al., 2019).

Everything Steward can derive (data fingerprint, groups, metrics with intervals, findings) is
filled in; what it cannot comes from the card-info file and is marked "not provided" when absent.
The content is built once (:func:`card_sections`) and drawn twice: as Markdown (``model_card.md``)
and as a section of the HTML report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from steward.audit._findings import worst_first
from steward.audit._summary import pct
from steward.audit.card._info import CardInfo

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["Section", "card_sections", "render_model_card", "NOT_PROVIDED"]

NOT_PROVIDED = "not provided"


@dataclass
class Section:
    title: str
    fields: list[tuple[str, str | list[str]]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)


def _text(v: Any) -> str | list[str]:
    if v is None:
        return NOT_PROVIDED
    return [str(x) for x in v] if isinstance(v, list) else str(v)


def _bullets(v: Any) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def _num(x: Any, digits: int = 2) -> str:
    return "undefined" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _ci(lo: Any, hi: Any, as_pct: bool = False) -> str:
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    return f" ({100 * lo:.1f}–{100 * hi:.1f}%)" if as_pct else f" ({lo:.2f}–{hi:.2f})"


def _group_table(result: "AuditResult", attribute: str) -> dict[str, Any]:
    g = result.groups[result.groups["attribute"] == attribute]
    columns = ["group", "rows", "favourable rate", "adverse impact ratio", "false positive rate",
               "false negative rate", "accuracy", "SMD"]
    rows = []
    for r in g.to_dict(orient="records"):
        name = str(r["group"]) + (" (reference)" if r["is_reference"] else "") + (" — too small to judge" if r["too_small_to_judge"] else "")
        rows.append([
            name, f"{int(r['rows']):,}" if r["rows"] == r["rows"] else "suppressed",
            pct(r["favourable_rate"]) + _ci(r["favourable_rate_ci_low"], r["favourable_rate_ci_high"], True),
            "—" if r["is_reference"] else _num(r["adverse_impact_ratio"]) + _ci(r["adverse_impact_ratio_ci_low"], r["adverse_impact_ratio_ci_high"]),
            pct(r["false_positive_rate"]), pct(r["false_negative_rate"]), pct(r["accuracy"]),
            "—" if r["is_reference"] else _num(r["smd"]),
        ])
    return {"title": f"{attribute} (reference: {g['reference'].iloc[0]})", "columns": columns, "rows": rows}


def card_sections(result: "AuditResult") -> tuple[str, list[Section]]:
    """The card's title and its sections, in the order of Mitchell et al."""
    from steward import __version__

    card = result.card or CardInfo()
    m, roles, src = card.model, result.roles, result.source
    title = m.name or "(model name not provided)"
    sections: list[Section] = []

    details = Section("Model details", fields=[
        ("Name", _text(m.name)), ("Version", _text(m.version)), ("Type", _text(m.type)),
        ("Description", _text(m.description)), ("Owner", _text(m.owner)),
        ("Accountable executive", _text(m.accountable_executive)), ("Developers", _text(m.developers)),
        ("Date", _text(m.date)), ("Licence", _text(m.licence)), ("Contact", _text(m.contact)),
        ("Citation", _text(m.citation)),
        ("Decision audited", f"{roles.to_dict()['decision']}; the favourable decision is {roles.favourable}"),
        ("Card generated", f"by Steward {__version__} on {result.created}"),
    ])
    sections.append(details)
    u = card.intended_use
    sections.append(Section("Intended use", fields=[
        ("Primary intended uses", _text(u.primary_uses)), ("Primary intended users", _text(u.primary_users)),
        ("Out-of-scope uses", _text(u.out_of_scope)),
    ]))
    refs = {r["attribute"]: r for r in result.references}
    factors = []
    for attribute in dict.fromkeys(result.groups["attribute"]):
        groups = result.groups.loc[result.groups["attribute"] == attribute, "group"].astype(str).tolist()
        ref = refs.get(attribute, {})
        factors.append(f"{attribute}: {len(groups)} groups ({', '.join(groups)}); reference {ref.get('group')} ({ref.get('chosen')})")
    sections.append(Section("Factors", fields=[
        ("Relevant factors", _text(card.factors.relevant) if card.factors.relevant else factors),
        ("Evaluation factors", _text(card.factors.evaluation) if card.factors.evaluation else
         "Each group of each protected attribute, and of their intersection, compared with its reference group"),
    ]))
    sections.append(Section("Metrics", fields=[
        ("Performance measures", "accuracy, true and false positive rates, false negative rate, precision, per group"),
        ("Discrimination measures", "adverse impact ratio (four-fifths rule), marginal effect, standardized mean "
                                    "difference of the score, false positive and false negative rate ratios"),
        ("Decision threshold", f"1 when {roles.score} >= {roles.threshold:g}" if roles.threshold is not None else f"as given in {roles.prediction}"),
        ("Variation approaches", f"{round(result.settings['confidence'] * 100)}% intervals (Wilson for rates, Katz for "
                                 f"ratios, Newcombe for differences); Fisher's exact or two-proportion z tests; Welch's t for the SMD"),
        *([("Notes", _text(card.metrics))] if card.metrics else []),
    ]))
    ev = card.evaluation_data
    sections.append(Section("Evaluation data", fields=[
        ("Dataset", f"{src.get('kind')}" + (f" {src['path']}" if src.get("path") else "") + f", {src.get('rows', 0):,} rows"),
        ("SHA-256", f"{src.get('sha256') or 'not computed'}" + (f" (of the {src['sha256_of']})" if src.get("sha256_of") else "")),
        ("Description", _text(ev.description)), ("Motivation", _text(ev.motivation)),
        ("Preprocessing", _text(ev.preprocessing)),
    ]))
    tr = card.training_data
    sections.append(Section("Training data", fields=[
        ("Description", _text(tr.description)), ("Source", _text(tr.source)), ("Preprocessing", _text(tr.preprocessing)),
    ]))
    attributes = list(dict.fromkeys(result.groups["attribute"]))
    quant = Section("Quantitative analyses")
    unitary = [a for a in attributes if "*" not in a]
    inter = [a for a in attributes if "*" in a]
    quant.tables = [dict(_group_table(result, a), kind="Unitary results") for a in unitary] + \
                   [dict(_group_table(result, a), kind="Intersectional results") for a in inter]
    if not inter:
        quant.paragraphs.append("Intersectional results: not computed (only one protected attribute, or intersections were turned off).")
    sections.append(quant)

    verdict = Section("Policy verdict")
    if result.findings is None:
        verdict.paragraphs.append("This audit was not held to a policy (give --policy and --tier).")
    else:
        p = result.policy
        fails = [f for f in result.findings if f.status == "fail"]
        warns = [f for f in result.findings if f.status == "warn"]
        verdict.paragraphs.append(
            f"{'PASSED' if result.passed else 'FAILED'}: policy {p['name']} (version {p['version']}), tier {p['tier']} "
            f"({p['tier_reason']}); {len(fails)} finding(s) fail and {len(warns)} warn, of {len(result.findings)}.")
        verdict.bullets = [f"{f.status.upper()}: {f.message}" for f in worst_first(fails + warns)]
    sections.append(verdict)

    ethics = Section("Ethical considerations", bullets=_bullets(card.ethical_considerations))
    disadvantaged = [s.text for s in result.statements() if s.severity == 2]
    if disadvantaged:
        ethics.paragraphs.append(f"The audit found {len(disadvantaged)} group comparison(s) of disadvantage beyond the benchmark:")
        ethics.bullets += disadvantaged
    if not ethics.bullets:
        ethics.paragraphs.append(NOT_PROVIDED)
    sections.append(ethics)

    caveats = Section("Caveats and recommendations", bullets=_bullets(card.caveats))
    caveats.bullets += list(result.notes)
    undefined = sum(bool(u) for u in result.groups["undefined"])
    if undefined:
        caveats.bullets.append(f"{undefined} group row(s) have values that cannot be computed; the report gives each reason.")
    caveats.bullets.append("Error rates are measured against the observed labels; where a label records a past "
                           "decision (an arrest, a past approval), it can carry the bias this audit looks for.")
    sections.append(caveats)
    return title, sections


def render_model_card(result: "AuditResult") -> str:
    """The model card as Markdown."""
    title, sections = card_sections(result)
    out = [f"# Model card: {_md(title)}", ""]
    if result.card is None:
        out += ["> No card-info file was given: fields marked *not provided* need one (`steward init` writes a "
                "starter `model_card.yaml`; pass it with `--card-info`).", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for label, value in s.fields:
            if isinstance(value, list):
                out.append(f"- **{label}:**")
                out += [f"  - {_md(v)}" for v in value]
            else:
                out.append(f"- **{label}:** {'*not provided*' if value == NOT_PROVIDED else _md(value)}")
        if s.fields:
            out.append("")
        for p in s.paragraphs:
            out += ["*not provided*" if p == NOT_PROVIDED else _md(p), ""]
        if s.bullets:
            out += [f"- {_md(b)}" for b in s.bullets] + [""]
        kind = None
        for t in s.tables:
            if t.get("kind") != kind:
                kind = t.get("kind")
                out += [f"### {kind}", ""]
            out += [f"**{_md(t['title'])}**", "", "| " + " | ".join(t["columns"]) + " |",
                    "|" + "|".join("---" if i == 0 else "---:" for i in range(len(t["columns"]))) + "|"]
            out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in t["rows"]]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    """Escape what Markdown would misread in data values (table pipes, emphasis markers)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
