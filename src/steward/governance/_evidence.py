"""The registry re-derives an uploaded audit's verdict instead of trusting it.

A ``report.json`` is a claim. From its own cell statistics the registry recomputes every group
metric and re-runs the checks it can (the group checks and the model card) under the policy the
report names — the registry's stored copy, found by SHA-256 — and the model's recorded tier. A
report whose cells are missing or inconsistent, or whose findings or group rows disagree with the
recomputation, is refused naming the first disagreement. Checks the registry cannot recompute
(those that need the model) are taken from the client only when they follow from the report's own
analysis values and the policy's thresholds; a required check with no finding is ``not_evidenced``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.audit import evaluate, result_from_cells
from steward.audit._findings import BLOCKING, STATUSES, Finding
from steward.audit._gate import evidenced
from steward.audit.card import CardInfo
from steward.audit.checks import CHECKS
from steward.audit.policy import Policy
from steward.data import Roles, parse_protected
from steward.engine import CellTable
from steward.errors import StewardError, StewardWarning
from steward.governance._evidence_privacy import complete, privacy_follows

__all__ = ["Verdict", "rederive", "RECOMPUTED", "compare_reports"]

# Checks whose findings follow from the cells and the card info alone: the registry recomputes them.
RECOMPUTED = frozenset({"adverse_impact_ratio", "standardized_mean_difference", "false_positive_rate_ratio",
                        "false_negative_rate_ratio", "group_size", "model_card"})
# The analysis (report.json "analyses" key) each model check reads.
ANALYSIS_OF = {
    "slices": "slices", "benchmark": "benchmark", "residual_concentration": "residuals",
    "prediction_churn": "churn", "reason_codes": "explanations", "monotonicity": "explanations",
    "explanation_stability": "explanations", "flip_test": "flip_test", "situation_testing": "situation_testing",
    "proxies": "proxies", "stress_scenarios": "stress", "adversarial_robustness": "adversarial",
    "membership_inference": "membership_inference", "attribute_inference": "attribute_inference",
    "extraction_resistance": "extraction", "pii_in_features": "pii", "reidentification": "reidentification",
}
# Analyses' tables are written with ten decimal places (pandas' to_json), so a finding's full-precision value
# may differ from its table's copy by up to 5e-11: the tolerance is that rounding, not a looser judgement.
_RTOL, _ATOL = 1e-9, 1e-10


class EvidenceError(StewardError):
    """An uploaded report that does not hold up: refused, nothing stored."""


@dataclass
class Verdict:
    """The registry's own verdict on a report: its findings (each marked ``derived_by``)."""

    findings: list[dict[str, Any]]
    tier: str | None
    policy: Policy | None

    @property
    def passed(self) -> bool | None:
        if self.policy is None:
            return None
        return not any(f["status"] in BLOCKING for f in self.findings)

    def count(self, status: str) -> int:
        return sum(f["status"] == status for f in self.findings)


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=_RTOL, abs_tol=_ATOL)
    return a == b


def _fail(message: str) -> None:
    raise EvidenceError(message)


# --- the cells ------------------------------------------------------------------------------

def cells_of(report: dict[str, Any]) -> tuple[CellTable, Roles]:
    """The report's cell statistics and roles, checked for internal consistency."""
    raw_roles = report.get("roles")
    if not isinstance(raw_roles, dict):
        _fail("report.roles is missing: send the report.json that steward audit wrote")
    try:
        protected = parse_protected({p["column"]: p.get("reference") for p in raw_roles["protected"]})
        roles = Roles(label=raw_roles["label"], prediction=raw_roles.get("prediction"), score=raw_roles.get("score"),
                      threshold=raw_roles.get("threshold"), favourable=int(raw_roles.get("favourable", 1)),
                      positive_label=raw_roles.get("positive_label"), protected=protected,
                      weight=raw_roles.get("weight"), features=tuple(raw_roles.get("features") or ()))
    except (KeyError, TypeError, ValueError, StewardError) as exc:
        _fail(f"report.roles is malformed ({exc}); send the report.json that steward audit wrote")
    cells = report.get("cells")
    if not isinstance(cells, list) or not cells:
        _fail("report.cells is missing or empty: the registry re-derives the verdict from the cell statistics, "
              "so a report without them cannot be recorded")
    attributes = tuple(p.column for p in roles.protected)
    has_score = roles.score is not None
    stats = ["rows", "n", "n_sq"] + (["score_sum", "score_sq"] if has_score else [])
    need = [*attributes, "label", "decision", *stats]
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            _fail(f"report.cells[{i}] is not an object")
        missing = [k for k in need if k not in cell]
        if missing:
            _fail(f"report.cells[{i}] lacks {', '.join(missing)}")
        if cell["label"] not in (0, 1) or cell["decision"] not in (0, 1):
            _fail(f"report.cells[{i}]: label and decision must be 0 or 1")
        for k in stats:
            v = cell[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                _fail(f"report.cells[{i}].{k} is {v!r}, not a finite number")
        if cell["rows"] < 1 or cell["rows"] != int(cell["rows"]):
            _fail(f"report.cells[{i}].rows is {cell['rows']!r}: a cell holds a whole number of rows, at least 1")
        if cell["n"] < 0 or cell["n_sq"] < 0 or (has_score and cell["score_sq"] < 0):
            _fail(f"report.cells[{i}] has a negative count or sum of squares")
        if roles.weight is None and not (cell["n"] == cell["rows"] and cell["n_sq"] == cell["rows"]):
            _fail(f"report.cells[{i}]: without weights n and n_sq must equal rows ({cell['rows']}), "
                  f"got {cell['n']} and {cell['n_sq']}")
        if has_score and cell["n"] > 0 and cell["score_sum"] ** 2 > cell["score_sq"] * cell["n"] * (1 + 1e-9) + 1e-9:
            _fail(f"report.cells[{i}]: its score sums are impossible (the squared mean exceeds the mean square)")
        if any(not isinstance(cell[a], str) for a in attributes):
            _fail(f"report.cells[{i}]: group names must be text")
    frame = pd.DataFrame(cells)[need]
    if frame.duplicated(subset=[*attributes, "label", "decision"]).any():
        _fail("report.cells has the same cell twice")
    table = CellTable._normalised(attributes, frame, has_score)
    source_rows = (report.get("source") or {}).get("rows")
    if source_rows != table.total_rows:
        _fail(f"report.source.rows is {source_rows!r} but the cells hold {table.total_rows} rows: they do not add up")
    return table, roles


# --- recomputation --------------------------------------------------------------------------

def recompute(report: dict[str, Any], policy: Policy | None, tier: str | None) -> Any:
    """An AuditResult rebuilt from the report's cells (and held to ``policy``/``tier`` when given)."""
    table, roles = cells_of(report)
    settings = report.get("settings") or {}
    intersections = bool(settings.get("intersections", True))
    if policy is not None:
        chosen = policy.tier(tier)
        wanted = [name for name, p in chosen.checks.items() if getattr(p, "intersections", False)]
        if not intersections and len(roles.protected) > 1 and wanted:
            _fail(f"the report leaves out the intersection of the protected attributes, which tier {tier!r} "
                  f"judges ({', '.join(wanted)}); audit again without --no-intersections")
        min_group, confidence = chosen.min_group_size, chosen.confidence
    else:
        min_group, confidence = settings.get("min_group_size", 30), settings.get("confidence", 0.95)
        if not isinstance(min_group, int) or not isinstance(confidence, float) or not 0 < confidence < 1:
            _fail("report.settings: min_group_size and confidence are malformed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StewardWarning)
        try:
            result = result_from_cells(table, roles, source_info=dict(report.get("source") or {}),
                                       intersections=intersections, min_group_size=min_group,
                                       confidence=confidence)
        except StewardError as exc:
            _fail(f"the report's cells do not make an audit: {exc}")
        if policy is None:
            return result
        card = None
        if report.get("card_info") is not None:
            try:
                card = CardInfo.model_validate(report["card_info"])
            except ValueError as exc:
                _fail(f"report.card_info is malformed: {str(exc).splitlines()[0]}")
        return evaluate(result, policy, tier=tier, card_info=card)


def _compare_groups(claimed: Any, result: Any) -> None:
    if not isinstance(claimed, list):
        _fail("report.groups is missing")
    mine = {(r["attribute"], r["group"]): r for r in result.group_rows()}
    theirs = {}
    for r in claimed:
        if not isinstance(r, dict) or "attribute" not in r or "group" not in r:
            _fail("report.groups has a row without attribute and group")
        theirs[(r["attribute"], r["group"])] = r
    for key in mine.keys() - theirs.keys():
        _fail(f"report.groups lacks the group {key[0]}={key[1]} that its cells contain")
    for key in theirs.keys() - mine.keys():
        _fail(f"report.groups has a group {key[0]}={key[1]} that its cells do not contain")
    for key, row in mine.items():
        for name, value in row.items():
            if name in ("undefined",) or name not in theirs[key]:
                continue
            other = theirs[key][name]
            same = (_close(value[0], other[0]) and _close(value[1], other[1])) if (
                isinstance(value, list) and isinstance(other, list) and len(value) == len(other) == 2) else _close(value, other)
            if not same:
                _fail(f"report.groups {key[0]}={key[1]}: {name} is {other!r} but the report's own cells give {value!r}")


# What each model check's finding compares, with the policy parameter it is judged against: a
# finding's value must sit under one of these fields of the check's own analysis, and its status
# must follow from the REGISTRY's policy parameter (the client's `threshold` is never believed).
# (field names in the analysis, policy parameter or a fixed bound, direction); None: not judged here.
_JUDGED: dict[tuple[str, str], tuple[tuple[str, ...], str | float, str]] = {
    ("slices", "error_ratio"): (("error_ratio",), "max_error_ratio", "max"),
    ("residual_concentration", "top_1pct_loss_share"): (("top_1pct",), "max_top_1pct_share", "max"),
    ("prediction_churn", "churn"): (("churn",), "max", "max"),
    ("reason_codes", "adverse_without_reason"): ((), "max_without_reason", "max"),
    ("reason_codes", "cites_protected"): ((), 0.0, "max"),
    ("monotonicity", "violating_share"): (("share",), "max_violating_share", "max"),
    ("explanation_stability", "top1_agreement"): (("top1_agreement",), "min_top1_agreement", "min"),
    ("flip_test", "flip_share"): (("any_flip",), "max_share", "max"),
    ("situation_testing", "flagged_share"): (("share_flagged",), "max_flagged_share", "max"),
    ("proxies", "proxy_auc"): (("auc",), "max_auc", "max"),
    ("proxies", "adversary_auc"): (("auc",), "max_adversary_auc", "max"),
    ("stress_scenarios", "share_changed"): (("share_changed",), "max_share_changed", "max"),
    ("adversarial_robustness", "flip_rate"): (("flip_rate",), "max_flip_rate", "max"),
    ("membership_inference", "membership_advantage"): (("advantage",), "max_advantage", "max"),
    ("attribute_inference", "attribute_advantage"): (("advantage",), "max_advantage", "max"),
    ("extraction_resistance", "hours_to_copy"): (("time_needed_hours",), "min_hours", "min"),
    ("reidentification", "share_below_k"): (("share_below_k",), "max_share_below_k", "max"),
}
# Findings whose breach may come from a second measure (a proxy's Cramér's V) or that only warn.
_ONE_WAY = {("proxies", "proxy_auc"), ("reason_codes", "protected_inputs")}
# A pass that may carry no value: nothing of the kind was measured (no slice big enough, no proxy).
_PASS_WITHOUT_VALUE = {"slices", "proxies", "extraction_resistance", "pii_in_features"}
# A pass of zero with nothing of the kind in the analysis: the model reads no protected attribute.
_NOTHING_FOUND = {"flip_test"}
# Privacy findings follow their probe and the tier's settings (governance/_evidence_privacy.py).
_PRIVACY_RULES = {"membership_inference", "attribute_inference", "extraction_resistance", "reidentification"}
# A check that judges each group may say a group was too small to judge.
_PER_GROUP = {"situation_testing", "membership_inference"}


def _fields(obj: Any, names: tuple[str, ...], out: list[float]) -> list[float]:
    """Every finite number stored under one of ``names`` anywhere in ``obj`` (all numbers if no names)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if (not names or k in names) and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out.append(float(v))
            else:
                _fields(v, names, out)
    elif isinstance(obj, list):
        for v in obj:
            _fields(v, names, out)
    return out


def _client_findings(check: str, params: Any, claimed: list[dict[str, Any]], analyses: dict[str, Any],
                     context: dict[str, Any] | None = None) -> list[Finding]:
    """A model check's findings as the client reported them, refused unless each follows from the
    report's own analysis values and the registry's policy parameters."""
    key = ANALYSIS_OF.get(check)
    analysis = analyses.get(key) if key else None
    allowed = {"pass", params.severity, "not_evidenced", "not_applicable"} | (
        {"insufficient_data"} if check in _PER_GROUP else set())
    if check == "pii_in_features":
        allowed.add("warn")  # an identifier column that is not a feature is a warning whatever the severity
    out = []
    for f in claimed:
        fid = f.get("id", check)
        status, value, metric = f["status"], f.get("value"), f.get("metric")
        if check in _PRIVACY_RULES:
            privacy_follows(check, fid, f, params, analysis, context or {})
        if check == "pii_in_features" and status in ("pass", "fail", "warn"):
            _pii_follows(fid, f, params, analysis, analyses.get("pii_features"))
            if status == "warn" and params.severity != "warn":
                f = dict(f, severity=params.severity)  # judged by _pii_follows; the severity is the policy's
        if status not in allowed:
            _fail(f"finding {fid} says {status}, which check {check} under this policy never gives "
                  f"(a breach is {params.severity!r})")
        if f.get("severity") != params.severity:
            _fail(f"finding {fid}: severity {f.get('severity')!r} is not the policy's {params.severity!r}")
        judged = status in ("pass", "fail", "warn")
        if judged and analysis is None:
            _fail(f"finding {fid} says {status} but the report has no {key!r} analysis to support it")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
            _fail(f"finding {fid}: its value {value!r} is not a finite number")
        if judged and value is None and not (status == "pass" and check in _PASS_WITHOUT_VALUE):
            _fail(f"finding {fid} says {status} without a value")
        rule = _JUDGED.get((check, metric))
        threshold = dict(f.get("threshold") or {}) if isinstance(f.get("threshold"), dict) else {}
        if judged and value is not None:
            names = rule[0] if rule else ()
            values = _fields(analysis, names, [])
            # "Nothing of the kind was found" (the model reads no protected attribute, no reason cites one):
            # a zero with no measurement of that kind in the analysis.
            nothing_found = status == "pass" and value == 0 and not values and check in _NOTHING_FOUND
            if (rule is None or names) and not nothing_found:
                if not any(math.isclose(value, x, rel_tol=_RTOL, abs_tol=_ATOL) for x in values):
                    where = f"the {'/'.join(names)} of " if names else ""
                    _fail(f"finding {fid}: its value {value!r} is not {where}the report's {key!r} analysis")
            if rule is not None:
                bound = rule[1] if isinstance(rule[1], float) else getattr(params, rule[1], None)
                if check == "prediction_churn" and f.get("attribute") is not None and getattr(params, "max_group", None):
                    bound = params.max_group
                if bound is not None:
                    breach = value > bound if rule[2] == "max" else value < bound
                    if breach and status == "pass":
                        _fail(f"finding {fid} says pass but its value {value:g} breaches the policy's "
                              f"{rule[1] if isinstance(rule[1], str) else 'limit'} {bound:g}")
                    if not breach and status != "pass" and (check, metric) not in _ONE_WAY and value != bound:
                        _fail(f"finding {fid} says {status} but its value {value:g} is within the policy's {bound:g}")
                    threshold[rule[1] if isinstance(rule[1], str) else rule[2]] = bound
        if judged and check == "benchmark":
            _benchmark_follows(fid, status, value, metric, params, analysis)
        elif (judged and value is None and metric is not None and (check, metric) not in _JUDGED
              and check not in _PASS_WITHOUT_VALUE):
            _fail(f"finding {fid}: metric {metric!r} is not one check {check} reports")
        ci = f.get("ci")
        out.append(Finding(
            check=check, status=status, severity=params.severity, message=str(f.get("message") or ""),
            attribute=_text(f.get("attribute")), group=_text(f.get("group")), reference=_text(f.get("reference")),
            metric=_text(metric), value=value, ci=tuple(ci) if isinstance(ci, list) and len(ci) == 2 else None,
            p_value=f.get("p_value") if isinstance(f.get("p_value"), (int, float)) else None,
            significant=f.get("significant") if isinstance(f.get("significant"), bool) else None,
            threshold=threshold, rows=f.get("rows") if isinstance(f.get("rows"), int) else None,
            source=params.source, needs=_text(f.get("needs"))))
    return out


def _pii_follows(fid: str, f: dict[str, Any], params: Any, analysis: Any, features: Any) -> None:
    """A PII finding must name a column the report's own scan found (its share that column's), breach the
    policy's severity exactly when that column is among the recorded features, and warn otherwise; a pass must
    come with no identifier column found."""
    rows = [r for r in ((analysis or {}).get("findings") or []) if isinstance(r, dict) and r.get("identifier")]
    share = (analysis or {}).get("min_share")
    if share is not None and share != params.min_share:
        _fail(f"finding {fid}: the report's scan used min_share {share!r}, not the policy's {params.min_share:g}")
    feats = {str(x) for x in features} if isinstance(features, list) else set()
    if f["status"] == "pass":
        if rows:
            _fail(f"finding {fid} says pass but the report's own scan found identifiers in "
                  f"{', '.join(sorted({str(r.get('column')) for r in rows}))}")
        return
    column = f.get("group")
    mine = [r for r in rows if str(r.get("column")) == str(column)]
    if not mine:
        _fail(f"finding {fid}: column {column!r} is not an identifier column of the report's own scan")
    if not any(_close(r.get("share"), f.get("value")) for r in mine):
        _fail(f"finding {fid}: its value {f.get('value')!r} is not the share the scan found in {column!r}")
    want = params.severity if str(column) in feats else "warn"
    if f["status"] != want:
        _fail(f"finding {fid} says {f['status']} but column {column!r} is {'' if str(column) in feats else 'not '}a "
              f"feature, which gives {want}")


def _benchmark_follows(fid: str, status: str, value: float, metric: Any, params: Any, analysis: Any) -> None:
    """The benchmark finding must be the policy's metric, its value the analysis's overall difference,
    and its status the check's own rule applied to that row."""
    from steward.audit.checks._models import benchmark_passes
    from steward.debug._bootstrap import LOWER_IS_BETTER  # a constant; steward.debug itself needs the models extra

    if metric != params.metric:
        _fail(f"finding {fid} judges {metric!r} but the policy's benchmark metric is {params.metric!r}")
    rows = [r for r in (analysis.get("metrics") if isinstance(analysis, dict) else None) or []
            if isinstance(r, dict) and r.get("metric") == metric and r.get("scope") == "all"]
    if not rows or not _close(rows[0].get("difference"), value):
        _fail(f"finding {fid}: its value {value!r} is not the overall {metric} difference in the report's benchmark analysis")
    try:
        ok = benchmark_passes(rows[0], metric in LOWER_IS_BETTER, params.margin, params.use_interval)
    except (KeyError, TypeError):
        _fail(f"finding {fid}: the benchmark analysis's {metric} row lacks its interval")
    if ok != (status == "pass"):
        _fail(f"finding {fid} says {status} but the benchmark analysis's own numbers give "
              f"{'pass' if ok else params.severity} under the policy's margin {params.margin:g}")


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def rederive(report: dict[str, Any], policy: Policy | None, tier: str | None) -> Verdict:
    """The registry's verdict on ``report`` under ``policy`` and ``tier`` (both the registry's own),
    or :class:`EvidenceError` naming the first way the report does not hold up."""
    result = recompute(report, policy, tier)
    _compare_groups(report.get("groups"), result)
    if policy is None:
        return Verdict(findings=[], tier=None, policy=None)
    claimed: dict[str, list[dict[str, Any]]] = {}
    for f in report.get("findings") or []:
        if f.get("check") not in CHECKS:
            _fail(f"finding {f.get('id')!r} is of an unknown check {f.get('check')!r}")
        if not str(f.get("id", "")).startswith(f"{f['check']}["):
            _fail(f"finding {f.get('id')!r} does not name its check {f['check']!r}")
        claimed.setdefault(f["check"], []).append(f)
    chosen = policy.tier(tier)
    for check in claimed.keys() - chosen.checks.keys():
        _fail(f"the report has findings of {check!r}, which tier {tier!r} of the policy does not require")
    mine: dict[str, list[Finding]] = {}
    for f in result.findings:
        mine.setdefault(f.check, []).append(f)
    out: list[dict[str, Any]] = []
    analyses = report.get("analyses") if isinstance(report.get("analyses"), dict) else {}
    if "pii" in analyses:  # which columns are features is the report's roles, not the client's word in the analysis
        feats = (report.get("roles") or {}).get("features")
        analyses = dict(analyses, pii_features=list(feats) if isinstance(feats, list) else [])
    context = {"min_group_size": chosen.min_group_size, "throttle": (chosen.guard or {}).get("throttle") or {}}
    for check, params in chosen.checks.items():
        if check in RECOMPUTED:
            _agree(check, mine.get(check, []), claimed.get(check, []))
            out += [dict(f.to_dict(), derived_by="registry") for f in mine.get(check, [])]
        else:
            if check in _PRIVACY_RULES and claimed.get(check):
                complete(check, claimed[check], analyses.get(ANALYSIS_OF[check]))
            found = _client_findings(check, params, claimed.get(check, []), analyses, context)
            if all(f.status in ("not_evidenced", "not_applicable", "insufficient_data") for f in found):
                # Nothing judged by the client: what the registry itself finds (not evidenced).
                out += [dict(f.to_dict(), derived_by="registry") for f in mine.get(check, [])]
            else:
                out += [dict(f.to_dict(), derived_by="client") for f in evidenced(check, params, found)]
    out.sort(key=lambda d: STATUSES.index(d["status"]))  # worst first, stable within a status
    return Verdict(findings=out, tier=tier, policy=policy)


def _agree(check: str, mine: list[Finding], theirs: list[dict[str, Any]]) -> None:
    """The client's findings of a recomputed check must be the registry's, one for one."""
    by_id = {f.get("id"): f for f in theirs}
    for f in mine:
        other = by_id.pop(f.id, None)
        if other is None:
            _fail(f"finding {f.id} is missing from the report, but the report's own cells give {f.status}"
                  + (f" with value {f.value:.4g}" if f.value is not None and np.isfinite(f.value) else ""))
        d = f.to_dict()
        if other.get("status") != d["status"]:
            _fail(f"finding {f.id} says {other.get('status')} but the report's own cells give {d['status']}"
                  + (f" (value {d['value']:.4g})" if d["value"] is not None else ""))
        if not _close(other.get("value"), d["value"]):
            _fail(f"finding {f.id}: its value {other.get('value')!r} is not what the report's own cells give "
                  f"({d['value']!r})")
    if by_id:
        _fail(f"finding {next(iter(by_id))} of {check} is not one the report's own cells give")


def compare_reports(stored: dict[str, Any], rerun: dict[str, Any]) -> str | None:
    """The first difference between a stored audit and an independent re-run (None when they agree)."""
    a, _ = cells_of(stored)
    b, _ = cells_of(rerun)
    if not a.equals(b):
        diff = a.frame.merge(b.frame, how="outer", on=a.keys, suffixes=("_stored", "_rerun"), indicator=True)
        bad = diff[(diff["_merge"] != "both") | (diff["rows_stored"] != diff["rows_rerun"])]
        where = bad.iloc[0] if len(bad) else None
        if where is not None:
            cell = ", ".join(f"{k}={where[k]}" for k in a.keys)
            return f"the cell {cell} has {where.get('rows_stored')} rows in the stored audit, {where.get('rows_rerun')} in the re-run"
        return "the cells' weighted sums differ"
    stored_f = {f["id"]: f for f in stored.get("findings") or []}
    for f in rerun.get("findings") or []:
        s = stored_f.pop(f["id"], None)
        if s is None:
            return f"finding {f['id']} ({f['status']}) is not in the stored audit"
        # Model analyses with a time budget may search a little further on another machine: their
        # verdicts must agree, the recomputable values exactly.
        exact = f.get("check") in RECOMPUTED
        if s["status"] != f["status"] or (exact and not _close(s.get("value"), f.get("value"))):
            return (f"finding {f['id']}: stored {s['status']} with value {s.get('value')!r}, "
                    f"re-run {f['status']} with value {f.get('value')!r}")
    if stored_f:
        return f"finding {next(iter(stored_f))} of the stored audit did not come out of the re-run"
    return None
