"""Serving commands: deploy, kill, revive, deployments, log export/retention, guard check (thin over the registry)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from steward.cli._console import Console
from steward.cli._governance import _json, backend_options
from steward.errors import StewardError

__all__ = ["register_commands"]

console = Console()


def _guard_file(path: Path | None) -> dict | None:
    if path is None:
        return None
    from steward._yamlfile import read_yaml

    raw, where = read_yaml(path, "guard settings file")
    if isinstance(raw, dict) and set(raw) == {"guard"}:
        raw = raw["guard"]
    if raw is not None and not isinstance(raw, dict):
        raise StewardError(f"--guard {where}: expected a mapping of settings (threshold:, throttle:, screening:, ...)")
    from steward.serving._settings import guard_problems

    problems = guard_problems(raw or {}, source=where)
    if problems:
        raise StewardError("; ".join(problems))
    return raw or {}


@click.command("deploy")
@click.argument("ref", metavar="MODEL:VERSION")
@click.option("--name", required=True, help="The deployment's name (its endpoint: /api/deployments/NAME/predict).")
@click.option("--backup", metavar="MODEL:VERSION", help="An approved version that answers when the model fails or is slow.")
@click.option("--benchmark", metavar="MODEL:VERSION", help="A version whose decision is compared with every decision.")
@click.option("--guard", "guard", type=click.Path(dir_okay=False, path_type=Path),
              help="guard.yaml: the guard's settings over the policy tier's defaults (see `steward guard check`).")
@backend_options(permission="deploy")
def deploy_command(backend, actor, ref, name, backup, benchmark, guard):
    """Deploy an approved version behind a guarded endpoint (replaces the deployment of that name)."""
    d = backend.deploy(name, ref, actor=actor, backup=backup, benchmark=benchmark, guard=_guard_file(guard))
    console.print(f"deployed {d['version']} as {d['name']} (deployment {d['id']}); callers need a key: "
                  f"steward keys create --name APP --role caller --deployment {d['name']}", markup=False)


@click.command("kill")
@click.argument("name")
@click.option("--reason", required=True, help="Why decisions stop (in the trail and on the deployment page).")
@backend_options(permission="kill")
def kill_command(backend, actor, name, reason):
    """Pull a deployment's kill switch: every request gets its safe default, within a second in every server."""
    d = backend.kill(name, reason=reason, actor=actor)
    console.print(f"killed {d['name']} ({d['version']}): requests now get the safe default "
                  f"({d['guard']['kill_switch']['answer']})", markup=False)


@click.command("revive")
@click.argument("name")
@backend_options(permission="kill")
def revive_command(backend, actor, name):
    """Release a deployment's kill switch."""
    d = backend.revive(name, actor=actor)
    console.print(f"revived {d['name']} ({d['version']})", markup=False)


@click.group("deployments")
def deployments_group() -> None:
    """Guarded endpoints: which version answers, and whether the kill switch is pulled."""


@deployments_group.command("list")
@click.option("--all", "include_replaced", is_flag=True, help="Include replaced deployments.")
@click.option("--team", help="Only the deployments of this team's models.")
@click.option("--json", "as_json", is_flag=True)
@backend_options
def deployments_list(backend, actor, include_replaced, team, as_json):
    """The deployments."""
    rows = backend.deployments(include_replaced=include_replaced, **({"team": team} if team is not None else {}))
    if as_json:
        return _json(rows)
    if not rows:
        return console.print("no deployments yet: steward deploy MODEL:VERSION --name NAME")
    t = Table("name", "version", "backup", "benchmark", "status", "kill switch", "since (UTC)")
    for d in rows:
        switch = f"[red]KILLED[/red] {escape(d['kill_reason'])}" if d["killed"] else "[green]live[/green]"
        t.add_row(escape(d["name"]), escape(d["version"]), escape(d["backup"] or "-"), escape(d["benchmark"] or "-"),
                  d["status"], switch, (d["created_at"] or "")[:16].replace("T", " "))
    console.print(t)


@deployments_group.command("show")
@click.argument("name")
@backend_options
def deployments_show(backend, actor, name):
    """One deployment as JSON: settings, history, decisions by route, open review items."""
    _json(backend.deployment(name))


@click.group("log")
def log_group() -> None:
    """The prediction log of guarded endpoints."""


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise StewardError(f"{option} {value!r} is not a date or time; give ISO 8601, e.g. 2026-11-30 or "
                           f"2026-11-30T09:00") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


@log_group.command("export")
@click.argument("name")
@click.option("--since", help="From this time (ISO 8601, UTC unless it says otherwise).")
@click.option("--until", help="Before this time.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.parquet (or .csv).")
@backend_options(permission="log_export")
def log_export(backend, actor, name, since, until, out):
    """Write a deployment's logged decisions (every version it served) to Parquet for monitoring and other tools."""
    import pandas as pd

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise StewardError(f"--out {out}: give a .parquet or .csv file")
    rows = backend.prediction_log(name, since=_when(since, "--since"), until=_when(until, "--until"))
    frame = pd.json_normalize(rows, sep=".") if rows else pd.DataFrame(columns=["prediction_id"])
    for c in frame.columns:  # lists and mappings (flags, reasons) as JSON text: one column type per column
        if frame[c].map(lambda v: isinstance(v, (list, dict))).any():
            import json

            frame[c] = frame[c].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    console.print(f"wrote {len(frame):,} decisions of {name} to {out}", markup=False)


@log_group.command("retention")
@backend_options(permission="kill")
def log_retention(backend, actor):
    """Delete logged decisions older than each deployment's log.retention_days now (servers do it hourly)."""
    if not hasattr(backend, "apply_retention"):
        raise StewardError("retention runs on the server's own database; run it there, or let the server do it hourly")
    done = backend.apply_retention(actor=actor)
    for name, n in done.items():
        console.print(f"{name}: deleted {n:,} decisions past their retention", markup=False)
    if not done:
        console.print("no deployment keeps its log for a limited time", markup=False)


@click.group("guard")
def guard_group() -> None:
    """Guard settings (guard.yaml) of guarded endpoints."""


@guard_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policy", "policy_file", default="default", show_default=True, help="The policy whose tier gives the defaults.")
@click.option("--tier", help="Lay the file over this tier's guard defaults.")
def guard_check(file, policy_file, tier):
    """Validate a guard.yaml (every problem, each naming its field); print the settings in force. Exit 2 when invalid."""
    import yaml

    from steward.audit.policy import load_policy
    from steward.serving._settings import guard_problems, load_guard

    defaults = {}
    if tier is not None:
        policy = load_policy(policy_file)
        if tier not in policy.tiers:
            raise StewardError(f"--tier {tier!r} is not a tier of {policy.name}; its tiers are: {', '.join(policy.tiers)}")
        defaults = policy.tier(tier).guard
    from steward._yamlfile import read_yaml

    raw, where = read_yaml(file, "guard settings file")
    if isinstance(raw, dict) and set(raw) == {"guard"}:
        raw = raw["guard"]
    problems = guard_problems(raw, source=where, defaults=defaults)
    if problems:
        err = Console(stderr=True)
        for line in problems:
            err.print("[red]error:[/red] " + escape(line), highlight=False, soft_wrap=True)
        sys.exit(2)
    settings = load_guard(raw or {}, defaults=defaults)
    click.echo(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False).rstrip())


def register_commands(cli: click.Group) -> None:
    for cmd in (deploy_command, kill_command, revive_command, deployments_group, log_group, guard_group):
        cli.add_command(cmd)
