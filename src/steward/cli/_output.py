"""Formatting audit results for the terminal (Rich)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from steward.audit import AuditResult, Policy
from steward.audit._findings import worst_first
from steward.audit._summary import format_p, pct

__all__ = ["print_result", "print_policy"]

_STYLE = {"fail": "red bold", "not_evidenced": "magenta bold", "warn": "yellow", "insufficient_data": "dim", "not_applicable": "dim", "pass": "green"}


def _n(x: float, digits: int = 2) -> str:
    return "undef." if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def print_result(result: AuditResult, console: Console) -> None:
    g = result.groups
    src = result.source
    console.print(
        f"[bold]Steward audit[/bold] of {src['rows']:,} rows"
        + (f" from {escape(str(src['path']))}" if src.get("path") else f" ({escape(str(src['kind']))})")
        + f"; favourable decision = {result.roles.favourable}"
    )
    for n in src.get("notes") or []:  # what was done to the data as read (identical duplicate columns...)
        console.print(f"[dim]note: {escape(str(n))}[/dim]")
    for attribute in dict.fromkeys(g["attribute"]):
        rows = g[g["attribute"] == attribute]
        t = Table(title=escape(f"{attribute} (reference: {rows['reference'].iloc[0]})"), title_justify="left")
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
                escape(str(r.group)), f"{r.rows:,}", pct(r.favourable_rate), air,
                "" if r.is_reference else format_p(r.favourable_rate_p_value),
                pct(r.false_positive_rate), pct(r.false_negative_rate), _n(r.smd), ", ".join(note),
            )
        console.print(t)
    if result.findings is not None:
        _print_findings(result, console)
        return
    statements = [s for s in result.statements() if s.severity >= 1]
    if statements:
        console.print("[bold]What we found[/bold]")
        for s in statements:
            style = "red" if s.severity == 2 else "yellow"
            console.print(f"[{style}]•[/{style}] {escape(s.text)}")
    else:
        console.print("[green]No group fares markedly worse than its reference.[/green]")
    for n in result.notes:
        console.print(f"[dim]note: {escape(str(n))}[/dim]")


def _print_findings(result: AuditResult, console: Console) -> None:
    p = result.policy
    counts = {s: sum(f.status == s for f in result.findings) for s in _STYLE}
    shown = [f for f in worst_first(result.findings) if f.status in ("fail", "not_evidenced", "warn")]
    if shown:
        console.print("[bold]Findings[/bold]")
    for f in shown:
        label = "NOT EVIDENCED" if f.status == "not_evidenced" else f.status.upper()
        needs = f" [dim](would run with: {escape(f.needs)})[/dim]" if f.needs else ""
        console.print(f"[{_STYLE[f.status]}]{label:4}[/] [bold]{escape(f.check)}[/bold] {escape(f.subject)}: "
                      f"{escape(f.message)}{needs}", highlight=False)
    for n in result.notes:
        console.print(f"[dim]note: {escape(str(n))}[/dim]")
    verdict = "[green bold]PASSED[/]" if result.passed else "[red bold]FAILED[/]"
    tally = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)
    console.print(f"{verdict} policy {escape(repr(p['name']))} (version {escape(str(p['version']))}), tier "
                  f"{escape(repr(p['tier']))}: {tally}. [dim]{escape(str(p['tier_reason']))}[/dim]", highlight=False)


def print_policy(policy: Policy, console: Console) -> None:
    where = policy.path or "the policy"
    console.print(f"[green]valid[/green]: {escape(f'{where} — {policy.name!r} version {policy.version}')}, "
                  f"{len(policy.tiers)} tier(s), {len(policy.domains)} domains", highlight=False)
    for tier in policy.tiers.values():
        t = Table(title=escape(f"tier {tier.name}" + (f" (extends {tier.extends})" if tier.extends else "")),
                  title_justify="left")
        t.add_column("check")
        t.add_column("threshold")
        t.add_column("severity")
        for name, params in tier.checks.items():
            d = params.model_dump(exclude_none=True, exclude={"severity", "source"})
            t.add_row(escape(name), escape(", ".join(f"{k}={v}" for k, v in d.items()
                                                     if k not in ("intersections",) or v is False)),
                      escape(str(params.severity)))
        console.print(t)
        when = "; or ".join(c.describe() for c in tier.conditions) or "no higher tier applies"
        console.print(f"  assigned when: {when}", highlight=False, markup=False)
        console.print(f"  min group size {tier.min_group_size}, confidence {tier.confidence:g}, alpha {tier.alpha:g}, "
                      f"require significance: {'yes' if tier.require_significance else 'no'}; "
                      f"sign-off: {', '.join(tier.sign_off) or 'none'}", highlight=False, markup=False)
