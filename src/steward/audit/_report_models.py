"""Report sections for the analyses run with the model: slices, benchmark, residuals, churn, probes,
explanations. Each section's body is the result's own ``html()`` (the same as its page and notebook
view), with sub-headings one level below the section's title."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["analysis_sections"]

_SUB = 3  # the report's sections are <h2>; their parts are <h3>


def _section(id_: str, title: str, body: str = "", paragraphs: list[str] | None = None) -> dict[str, Any]:
    return {"id": id_, "title": title, "paragraphs": paragraphs or [], "body": body, "chart": "", "tables": []}


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
        out.append(_section("model", "The model", paragraphs=text))
    if "slices" in a:
        out.append(_section("slices", "Slices where the model is most often wrong", a["slices"].html(_SUB)))
    if "benchmark" in a:
        c = a["benchmark"]
        out.append(_section("benchmark", f"Against a transparent benchmark ({c.reference_name})", c.html(_SUB)))
    if "residuals" in a:
        out.append(_section("residuals", "Residuals", a["residuals"].html(_SUB)))
    if "churn" in a:
        out.append(_section("churn", "Prediction churn against the previous version", a["churn"].html(_SUB)))
    out += _probe_sections(a)
    out += _privacy_sections(a)
    if "explanations" in a:
        out.append(_section("explanations", "Explanations", a["explanations"].html(_SUB)))
    elif "explanations_skipped" in a:
        out.append(_section("explanations", "Explanations",
                            paragraphs=[f"The model was not explained: {a['explanations_skipped']}"]))
    return out


def _probe_sections(a: dict[str, Any]) -> list[dict[str, Any]]:
    """Flip test, situation testing, proxies, sensitivity, stress scenarios, adversarial search."""
    out: list[dict[str, Any]] = []
    if a.get("flip_test") is not None:
        out.append(_section("flip_test", "Counterfactual flip test", a["flip_test"].html(_SUB)))
    if a.get("situation_testing"):
        out.append(_section("situation_testing", "Situation testing", a["situation_testing"].html(_SUB)))
    if a.get("proxies") is not None:
        out.append(_section("proxies", "Proxies of protected attributes", a["proxies"].html(_SUB)))
    if a.get("sensitivity") is not None:
        out.append(_section("sensitivity", "Sensitivity", a["sensitivity"].html(_SUB)))
    if a.get("stress") is not None:
        out.append(_section("stress", "Stress scenarios", a["stress"].html(_SUB)))
    if a.get("adversarial") is not None:
        out.append(_section("adversarial", "Adversarial search", a["adversarial"].html(_SUB)))
    return out


_PRIVACY = (("pii", "Direct identifiers in the data (PII scan)"), ("reidentification", "Re-identification risk"),
            ("membership_inference", "Membership inference"), ("attribute_inference", "Attribute inference"),
            ("extraction", "Model extraction"))


def _privacy_sections(a: dict[str, Any]) -> list[dict[str, Any]]:
    """The privacy and security probes, or why each did not run."""
    out: list[dict[str, Any]] = []
    for key, title in _PRIVACY:
        if a.get(key) is not None:
            out.append(_section(key, title, a[key].html(_SUB)))
        elif a.get(f"{key}_skipped"):
            out.append(_section(key, title, paragraphs=[f"Not run: {a[f'{key}_skipped']}."]))
    return out
