"""`steward trail`: verify and show the tamper-evident trail (thin over steward.governance)."""

from __future__ import annotations

import click
from rich.table import Table
from rich.console import Console

from steward.cli._governance import backend_options

console = Console()


@click.group("trail")
def trail_group() -> None:
    """The tamper-evident trail of every change."""


@trail_group.command("verify")
@backend_options
@click.pass_context
def trail_verify(ctx, backend, actor):
    """Recompute the hash chain; exit 1 when an entry was edited or deleted."""
    report = backend.verify_trail()
    report = report if isinstance(report, dict) else report.to_dict()
    if report["ok"]:
        console.print(f"[green]trail intact[/green]: {report['entries']} entries, head #{report['head_seq']} "
                      f"{report['head_hash']}", highlight=False)
        return
    console.print(f"[red bold]trail tampered[/red bold]: {len(report['problems'])} problem(s)")
    for p in report["problems"]:
        console.print(f"  - {p}", highlight=False)
    ctx.exit(1)


@trail_group.command("show")
@click.option("--subject", help="e.g. model:credit-scoring, version:credit-scoring:1.2, incident:3")
@click.option("--limit", default=50, show_default=True)
@backend_options
def trail_show(backend, actor, subject, limit):
    t = Table("#", "when", "who", "action", "subject")
    for e in backend.trail(subject=subject, limit=limit):
        t.add_row(str(e["seq"]), e["created_at"], e["actor"], e["action"], e["subject"])
    console.print(t)
