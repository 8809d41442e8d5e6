"""JUnit XML of a policy's findings: one test case per finding, one suite per check.

``fail`` findings are failures; ``not_applicable`` and ``insufficient_data`` are skipped (with
the reason); ``warn`` passes but carries its sentence in ``system-out`` so CI pages show it.
The output validates against the Jenkins/Surefire ``junit-10.xsd`` schema (a test checks it).
"""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from steward.audit._findings import BLOCKING

if TYPE_CHECKING:
    from steward.audit._result import AuditResult

__all__ = ["render_junit"]


def render_junit(result: "AuditResult") -> str:
    findings = result.findings or []
    root = ET.Element("testsuites", name="steward audit", tests=str(len(findings)),
                      failures=str(sum(f.status in BLOCKING for f in findings)), errors="0", time="0")
    policy = result.policy or {}
    by_check: dict[str, list] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    for check, items in by_check.items():
        suite = ET.SubElement(
            root, "testsuite", name=f"steward.{check}", tests=str(len(items)),
            failures=str(sum(f.status in BLOCKING for f in items)), errors="0",
            skipped=str(sum(f.status in ("not_applicable", "insufficient_data") for f in items)),
            time="0", timestamp=result.created or "", hostname=platform.node() or "localhost",
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (("policy", policy.get("name")), ("policy_version", policy.get("version")),
                            ("policy_sha256", policy.get("sha256")), ("tier", policy.get("tier")),
                            ("data_sha256", result.source.get("sha256")), ("rows", result.source.get("rows"))):
            if value is not None:
                ET.SubElement(props, "property", name=name, value=str(value))
        for f in items:
            case = ET.SubElement(suite, "testcase", classname=f"steward.{check}", name=f.subject, time="0")
            if f.status == "fail":
                failure = ET.SubElement(case, "failure", type="policy", message=f.message)
                failure.text = _details(f)
            elif f.status == "not_evidenced":
                failure = ET.SubElement(case, "failure", type="not_evidenced",
                                        message=f"{f.message} Would run with: {f.needs}.")
                failure.text = _details(f)
            elif f.status in ("not_applicable", "insufficient_data"):
                ET.SubElement(case, "skipped", type=f.status, message=f.message)
            elif f.status == "warn":
                out = ET.SubElement(case, "system-out")
                out.text = "WARNING: " + f.message + "\n" + _details(f)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _details(f) -> str:
    d = f.to_dict()  # undefined numbers are None there
    parts = [f"check: {f.check}", f"status: {f.status} (severity {f.severity})"]
    if d["value"] is not None:
        parts.append(f"value: {d['value']:.6g}")
    if d["ci"] is not None:
        parts.append(f"interval: {d['ci'][0]:.6g} to {d['ci'][1]:.6g}")
    if d["p_value"] is not None:
        parts.append(f"p-value: {d['p_value']:.3g}")
    if f.threshold:
        parts.append("threshold: " + ", ".join(f"{k}={v}" for k, v in f.threshold.items() if v is not None))
    if f.needs:
        parts.append(f"would run with: {f.needs}")
    if f.source:
        parts.append(f"source: {f.source}")
    return "\n".join(parts)
