"""``steward standards``: every model and team against the standards, for people (a Rich summary) and for
scripts (JSON, CSV, Markdown, all drawn from the one report), the weekly digest and its webhook.

Read only: it works on the local database or, with ``--server``, on a team's Steward server (any reading
role, the central team's ``governance`` role among them). The digest is posted from this machine.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from rich.markup import escape
from rich.table import Table

from steward.cli._console import Console
from steward.cli._governance import backend_options
from steward.cli._stages import stage
from steward.errors import StewardError

__all__ = ["register_commands", "standards_command", "render_table"]

SEVERITIES = ("critical", "high", "medium", "low")
_SEVERITY_STYLE = {"critical": "red bold", "high": "red", "medium": "yellow", "low": "cyan"}
_STATUS_STYLE = {"falls_short": "red", "due_soon": "yellow", "met": "green", "not_applicable": "dim"}
BAR_WIDTH = 20


def _check_at(at: str | None) -> str | None:
    """--at as given, once it is known to be a date or an ISO datetime (said here, naming the option)."""
    if at is None:
        return None
    try:
        datetime.fromisoformat(at)
    except ValueError:
        raise StewardError(f"--at {at!r} is not a date or ISO datetime; give e.g. --at 2026-12-01 or "
                           f"--at 2026-12-01T09:00:00+00:00") from None
    return at


def _where(url: str) -> str:
    """Where a webhook URL points, without its path and query (a chat webhook's path is its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" + ("/…" if parts.path.strip("/") or parts.query else "")


def _cell(value: Any) -> str:
    return escape(str(value)) if value not in (None, "") else "-"


def _age(days: float | None) -> str:
    if days is None:
        return "-"
    return f"{days * 24:.0f} h" if days < 2 else f"{days:.0f} days"


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.0f}%"


def _bar(rate: float | None) -> str:
    if rate is None:
        return "[dim]" + "·" * BAR_WIDTH + "[/dim]"
    filled = round(rate * BAR_WIDTH)
    return f"[green]{'█' * filled}[/green][dim]{'·' * (BAR_WIDTH - filled)}[/dim]"


def render_table(report: dict[str, Any], console: Console) -> None:
    """The report for people: counts, what falls short and why, the teams, and practice adoption."""
    s = report["summary"]
    p = report["policy"]
    console.print(f"[bold]Steward standards[/bold] as of {escape(report['at'])} under policy {escape(repr(p['name']))} "
                  f"version {escape(str(p['version']))}" + (f", team {escape(report['team'])}" if report["team"] else ""),
                  highlight=False)
    console.print(f"{s['models']} models: [red]{s['falls_short']} fall short[/red], [yellow]{s['due_soon']} due "
                  f"soon[/yellow], [green]{s['met']} meet the standards[/green], {s['not_applicable']} not applicable. "
                  f"Shortfalls: {s['shortfalls']} ("
                  + ", ".join(f"{k} {v}" for k, v in s["by_severity"].items()) + ")", highlight=False)
    changes = report.get("changes")
    if changes is not None:
        _print_changes(changes, console)
    if report["shortfalls"]:
        t = Table(title="Falls short", title_justify="left")
        for col in ("severity", "model", "team", "tier", "standard", "age", "why"):
            t.add_column(col, justify="right" if col == "age" else "left")
        for x in report["shortfalls"]:
            sev = x["severity"] or "medium"
            t.add_row(f"[{_SEVERITY_STYLE.get(sev, 'red')}]{escape(sev)}[/]", _cell(x["model"]), _cell(x["team"]),
                      _cell(x["tier"]), _cell(x["title"]), _age(x["age_days"]), _cell(x["why"]))
        console.print(t)
    elif s["models"]:
        console.print("[green]Every model meets the standards.[/green]")
    else:
        console.print("no models registered" + (f" in team {escape(report['team'])}" if report["team"] else ""))
    if report["teams"]:
        t = Table(title="Teams", title_justify="left")
        for col in ("team", "contact", "models", "falling short", "due soon", "shortfalls", "practice adoption"):
            t.add_column(col, justify="left" if col in ("team", "contact") else "right")
        for row in report["teams"]:
            short = f"[red]{row['falls_short']}[/red]" if row["falls_short"] else "0"
            t.add_row(_cell(row["team"] or "(no team)"), _cell(row["contact"]), str(row["models"]), short,
                      str(row["due_soon"]), str(row["shortfalls"]), _rate(row["adoption"]))
        console.print(t)
    _print_adoption(report["adoption"], console)


def _print_changes(changes: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]Since {escape(changes['since'][:10])}[/bold]", highlight=False)
    for x in changes["new_shortfalls"]:
        console.print(f"  [red]new[/red] {escape(x['model'])} — {escape(x['title'])}: {escape(x['why'])}",
                      highlight=False)
    for x in changes["resolved"]:
        console.print(f"  [green]resolved[/green] {escape(x['model'])} — {escape(x['title'])}", highlight=False)
    for x in changes["adoption"]:
        console.print(f"  adoption of {escape(x['title'])}: {_rate(x['before'])} → {_rate(x['rate'])}",
                      highlight=False)
    if not any(changes[k] for k in ("new_shortfalls", "resolved", "adoption")):
        console.print("  nothing changed", highlight=False)


def _print_adoption(adoption: dict[str, Any], console: Console) -> None:
    trend = adoption.get("trend") or []
    t = Table(title="Practice adoption (from evidence)", title_justify="left")
    for col in ("practice", "adopted", "rate", ""):
        t.add_column(col, justify="right" if col in ("adopted", "rate") else "left")
    if len(trend) > 1:
        step = datetime.fromisoformat(trend[1]["at"]) - datetime.fromisoformat(trend[0]["at"])
        t.add_column(f"trend (every {step.days} days)")
    for a in adoption["practices"]:
        row = [escape(a["title"]), f"{a['adopted']} of {a['applicable']}", _rate(a["rate"]), _bar(a["rate"])]
        if len(trend) > 1:
            row.append(" ".join(_rate(point["rates"].get(a["practice"])) for point in trend))
        t.add_row(*row)
    console.print(t)


def _render(report: dict[str, Any], fmt: str, file=None) -> None:
    """The report in ``fmt`` on stdout, or into the open ``file``."""
    if fmt == "table":
        render_table(report, Console(file=file) if file is not None else Console())
        return
    if fmt == "json":
        text = json.dumps(report, indent=2, default=str) + "\n"
    else:
        from steward.governance._standards_report import to_csv, to_markdown

        text = to_csv(report) if fmt == "csv" else to_markdown(report)
    if file is not None:
        file.write(text)
    else:
        click.echo(text, nl=False)


def _write(report: dict[str, Any], fmt: str, out: Path) -> None:
    try:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            _render(report, fmt, fh)
    except OSError as exc:
        raise StewardError(f"--out {str(out)!r} cannot be written: {exc.strerror or exc}; give a file in a folder "
                           f"that exists and that you may write to") from None
    Console(stderr=True).print(f"wrote the standards {'digest' if report.get('kind') == 'digest' else 'report'} "
                               f"({fmt}) to {out}", highlight=False, markup=False)


def _failing(report: dict[str, Any], fail_on: str) -> list[dict[str, Any]]:
    """The shortfalls of severity ``fail_on`` or worse (a shortfall without a severity counts as medium)."""
    worst = SEVERITIES.index(fail_on)
    return [x for x in report["shortfalls"] if SEVERITIES.index(x["severity"] or "medium") <= worst]


@click.command("standards")
@click.option("--team", help="Only this team's models.")
@click.option("--at", metavar="DATE", help="Judge as of this date or ISO datetime [default: now].")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "md"]), default="table",
              show_default=True, help="table: a summary for people; json, csv, md: the same report for scripts.")
@click.option("--digest", is_flag=True, help="The weekly digest: the report with what changed over the last --days.")
@click.option("--days", type=click.IntRange(1, 366), default=None, help="With --digest: the days it looks back [default: 7].")
@click.option("--webhook", metavar="URL", help="Post the digest to URL as JSON {text, digest} (signed when "
              "STEWARD_WEBHOOK_SECRET is set); prints one line, and writes the output only to --out.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the output to FILE, not stdout.")
@click.option("--fail-on", type=click.Choice(list(SEVERITIES)),
              help="Exit 1 when a shortfall of this severity or worse exists [default: never].")
@backend_options
def standards_command(backend, actor, team, at, fmt, digest, days, webhook, out, fail_on):
    """Which models and teams fall short of which standard and why, and practice adoption from evidence.

    \b
    Exit codes: 0 done (or no shortfall as bad as --fail-on), 1 a shortfall of
    --fail-on's severity or worse exists, 2 bad input or the webhook failed.
    """
    at = _check_at(at)
    if days is not None and not (digest or webhook):
        raise StewardError("--days sets how far the digest looks back: give --digest (or --webhook) too")
    with stage("judging the models against the standards"):
        if digest or webhook:
            report = backend.standards_digest(at=at, team=team, days=days or 7)
        else:
            report = backend.standards(at=at, team=team)
    if webhook:
        from steward.governance._standards_report import post_digest

        with stage("posting the digest"):
            status = post_digest(webhook, report)
        if out is not None:
            _write(report, fmt, out)
        changes = report["changes"]
        Console().print(f"posted the standards digest to {_where(webhook)}: HTTP {status} "
                        f"({report['summary']['shortfalls']} shortfalls, {len(changes['new_shortfalls'])} new, "
                        f"{len(changes['resolved'])} resolved)", highlight=False, markup=False)
    elif out is not None:
        _write(report, fmt, out)
    else:
        _render(report, fmt)
    if fail_on is not None:
        failing = _failing(report, fail_on)
        if failing:
            Console(stderr=True).print(f"{len(failing)} shortfall(s) of severity {fail_on} or worse (--fail-on "
                                       f"{fail_on})", highlight=False, markup=False)
            sys.stdout.flush()
            raise SystemExit(1)


def register_commands(cli: click.Group) -> None:
    from steward.cli._teams import teams_group

    cli.add_command(standards_command)
    cli.add_command(teams_group)
