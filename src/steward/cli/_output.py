"""Formatting audit results for the terminal (Rich)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from steward.audit import AuditResult
from steward.audit._summary import format_p, pct

__all__ = ["print_result"]


def _n(x: float, digits: int = 2) -> str:
    return "undef." if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def print_result(result: AuditResult, console: Console) -> None:
    g = result.groups
    src = result.source
    console.print(
        f"[bold]Steward audit[/bold] of {src['rows']:,} rows"
        + (f" from {src['path']}" if src.get("path") else f" ({src['kind']})")
        + f"; favourable decision = {result.roles.favourable}"
    )
    for attribute in dict.fromkeys(g["attribute"]):
        rows = g[g["attribute"] == attribute]
        t = Table(title=f"{attribute} (reference: {rows['reference'].iloc[0]})", title_justify="left")
        for col in ("group", "rows", "favourable", "AIR", "p", "FPR", "FNR", "SMD", "note"):
            t.add_column(col, justify="left" if col in ("group", "note") else "right")
        for r in rows.itertuples(index=False):
            air = _n(r.adverse_impact_ratio)
            if r.below_four_fifths:
                air = f"[red bold]{air}[/red bold]"
            note = []
            if r.is_reference:
                note.append("reference")
            if r.too_small_to_judge:
                note.append("too small to judge")
            t.add_row(
                str(r.group), f"{r.rows:,}", pct(r.favourable_rate), air,
                "" if r.is_reference else format_p(r.favourable_rate_p_value),
                pct(r.false_positive_rate), pct(r.false_negative_rate), _n(r.smd), ", ".join(note),
            )
        console.print(t)
    statements = [s for s in result.statements() if s.severity >= 1]
    if statements:
        console.print("[bold]What we found[/bold]")
        for s in statements:
            style = "red" if s.severity == 2 else "yellow"
            console.print(f"[{style}]•[/{style}] {s.text}")
    else:
        console.print("[green]No group fares markedly worse than its reference.[/green]")
    for n in result.notes:
        console.print(f"[dim]note: {n}[/dim]")
