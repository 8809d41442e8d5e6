"""The standards report as CSV (one row per model and rule), Markdown (for people and chat), and the
weekly digest posted to a webhook. All three are drawn from the one JSON report, so they agree."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
from typing import Any

from steward.errors import StewardError

__all__ = ["to_csv", "to_markdown", "post_digest", "CSV_COLUMNS", "WEBHOOK_SECRET_ENV"]

CSV_COLUMNS = ("model", "team", "tier", "model_status", "rule", "status", "severity", "since", "lapses_at", "why")
WEBHOOK_SECRET_ENV = "STEWARD_WEBHOOK_SECRET"


def _safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return) gets a
    leading apostrophe (OWASP's advice on CSV injection); names and comments come from users."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for row in report["models"]:
        for r in row["rules"]:
            w.writerow([_safe(x) for x in (row["model"], row["team"] or "", row["tier"] or "", row["status"], r["rule"],
                                           r["status"], r["severity"] or "", r["since"] or "", r["lapses_at"] or "",
                                           r["why"])])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _rate(r: float | None) -> str:
    return "—" if r is None else f"{100 * r:.0f}%"


def to_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    title = "Steward weekly standards digest" if report.get("kind") == "digest" else "Steward standards report"
    lines = [f"# {title}", "",
             f"As of {report['at']} under policy {report['policy']['name']} version {report['policy']['version']}"
             + (f", team {report['team']}" if report["team"] else "") + ".", "",
             f"**{s['models']} model{'' if s['models'] == 1 else 's'}: {s['falls_short']} fall short, {s['due_soon']} due soon, {s['met']} meet the "
             f"standards.** Shortfalls by severity: "
             + ", ".join(f"{k} {v}" for k, v in s["by_severity"].items()) + ".", ""]
    changes = report.get("changes")
    if changes is not None:
        lines += [f"## Since {changes['since'][:10]}", ""]
        lines += [f"- new: **{x['model']}** — {x['title']}: {x['why']}" for x in changes["new_shortfalls"]]
        lines += [f"- resolved: {x['model']} — {x['title']}" for x in changes["resolved"]]
        lines += [f"- adoption of {x['title']}: {_rate(x['before'])} → {_rate(x['rate'])}" for x in changes["adoption"]]
        if not any(changes[k] for k in ("new_shortfalls", "resolved", "adoption")):
            lines.append("- nothing changed")
        lines.append("")
    lines += ["## Falls short", ""]
    if report["shortfalls"]:
        lines += _table(["Severity", "Model", "Team", "Tier", "Standard", "Since", "Age (days)", "Why"],
                        [[x["severity"], x["model"], x["team"] or "—", x["tier"] or "—", x["title"],
                          (x["since"] or "")[:10], x["age_days"], x["why"]] for x in report["shortfalls"]])
    else:
        lines.append("Every model meets the standards.")
    lines += ["", "## Teams", ""]
    lines += _table(["Team", "Contact", "Models", "Falling short", "Due soon", "Shortfalls", "Practice adoption"],
                    [[t["team"] or "(no team)", t["contact"] or "—", t["models"], t["falls_short"], t["due_soon"],
                      t["shortfalls"], _rate(t["adoption"])] for t in report["teams"]])
    lines += ["", "## Practice adoption (from evidence)", ""]
    lines += _table(["Practice", "Adopted", "Of", "Rate"],
                    [[a["title"], a["adopted"], a["applicable"], _rate(a["rate"])] for a in report["adoption"]["practices"]])
    lines.append("")
    return "\n".join(lines)


def _site(url: str) -> str:
    """``scheme://host[:port]/...`` of a URL, without its path (where a webhook's secret often is)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}/..."


def post_digest(url: str, digest: dict[str, Any], *, timeout: float = 10.0) -> int:
    """POST the digest as JSON ``{"text": markdown, "digest": report}`` to ``url``; the HTTP status.

    With ``STEWARD_WEBHOOK_SECRET`` set, the body is signed: ``X-Steward-Signature: sha256=<HMAC of the body>``,
    so the receiver can tell the digest came from this registry."""
    import httpx

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise StewardError(f"--webhook: {url!r} is not an http(s) URL; give the address the digest is posted to")
    body = json.dumps({"text": to_markdown(digest), "digest": digest}, allow_nan=False).encode()
    headers = {"Content-Type": "application/json"}
    secret = os.environ.get(WEBHOOK_SECRET_ENV)
    if secret:
        headers["X-Steward-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    where = _site(url)  # chat webhooks carry their secret in the path: errors name the site only
    try:
        r = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise StewardError(f"--webhook: posting the digest to {where} failed: {type(exc).__name__}") from None
    if not 200 <= r.status_code < 300:
        raise StewardError(f"--webhook: {where} answered HTTP {r.status_code}: {r.text[:200]}")
    return r.status_code
