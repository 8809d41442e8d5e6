"""The standards report as CSV (one row per model and rule), Markdown (for people and chat), and the
weekly digest posted to a webhook. All three are drawn from the one JSON report, so they agree."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
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


# Text from users (sign-off comments, alert subjects, incident titles, contacts) goes into Markdown that chat
# webhooks render: on one line (a line break could start a heading or a fake "resolved" line), with no link,
# image, HTML tag or chat control sequence such as Slack's <!channel> (a "<" is written as &lt;).
_MARKUP = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]", "<": "&lt;"})
_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _text(value: Any) -> str:
    return _BREAKS.sub(" ", "" if value is None else str(value)).translate(_MARKUP)


def _cell(value: Any) -> str:
    return _text(value).replace("|", "\\|")


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
             + (f", team {_text(report['team'])}" if report["team"] else "") + ".", "",
             f"**{s['models']} model{'' if s['models'] == 1 else 's'}: {s['falls_short']} fall short, {s['due_soon']} due soon, {s['met']} meet the "
             f"standards.** Shortfalls by severity: "
             + ", ".join(f"{k} {v}" for k, v in s["by_severity"].items()) + ".", ""]
    changes = report.get("changes")
    if changes is not None:
        lines += [f"## Since {changes['since'][:10]}", ""]
        lines += [f"- new: **{_text(x['model'])}** — {_text(x['title'])}: {_text(x['why'])}"
                  for x in changes["new_shortfalls"]]
        lines += [f"- resolved: {_text(x['model'])} — {_text(x['title'])}" for x in changes["resolved"]]
        lines += [f"- adoption of {_text(x['title'])}: {_rate(x['before'])} → {_rate(x['rate'])}"
                  for x in changes["adoption"]]
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
    """``scheme://host[:port]/...`` of a URL, without its path (where a webhook's secret often is); a
    :class:`StewardError` when it is no http(s) URL with a host and a valid port."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError:  # a port out of range, an unclosed [IPv6 address
        scheme = host = port = None
    if scheme not in ("http", "https") or not host:
        raise StewardError("--webhook: the URL is not an http(s) URL with a host and a port from 1 to 65535; give the "
                           "address the digest is posted to, e.g. https://hooks.example.org/...")
    return f"{scheme}://{host}{':' + str(port) if port else ''}/..."


def post_digest(url: str, digest: dict[str, Any], *, timeout: float = 10.0) -> int:
    """POST the digest as JSON ``{"text": markdown, "digest": report}`` to ``url``; the HTTP status.

    With ``STEWARD_WEBHOOK_SECRET`` set, the body is signed: ``X-Steward-Signature: sha256=<HMAC of the body>``,
    so the receiver can tell the digest came from this registry."""
    import httpx

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise StewardError(f"--webhook: {url!r} is not an http(s) URL; give the address the digest is posted to")
    where = _site(url)  # chat webhooks carry their secret in the path: errors name the site only
    body = json.dumps({"text": to_markdown(digest), "digest": digest}, allow_nan=False).encode()
    headers = {"Content-Type": "application/json"}
    secret = os.environ.get(WEBHOOK_SECRET_ENV)
    if secret:
        headers["X-Steward-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    try:
        r = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a host name IDNA refuses
        raise StewardError(f"--webhook: posting the digest to {where} failed: {type(exc).__name__}") from None
    if not 200 <= r.status_code < 300:
        raise StewardError(f"--webhook: {where} answered HTTP {r.status_code}: {r.text[:200]}")
    return r.status_code
