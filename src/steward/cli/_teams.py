"""``steward teams``: the teams that own models, their contacts and members (thin over the registry).

Creating teams, changing their members and moving a model to another team are the admin's (permission
``teams``): a builder who could move a model to another team could make a teammate's sign-off look
independent. Listing and showing teams only reads.
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from steward.cli._console import Console
from steward.cli._governance import _json, backend_options

__all__ = ["teams_group"]


def _cell(value) -> str:
    return escape(str(value)) if value not in (None, "") else "-"


def _names(values) -> str:
    return escape(", ".join(values)) if values else "-"


@click.group("teams")
def teams_group() -> None:
    """Teams: who owns which model, and whom the central team contacts."""


@teams_group.command("add")
@click.argument("name")
@click.option("--contact", required=True, help="Where the central team reaches the team (an e-mail address or channel).")
@click.option("--description", default="", help="What the team does.")
@backend_options(permission="teams")
def teams_add(backend, actor, name, contact, description):
    """Create team NAME."""
    t = backend.create_team(name, contact=contact, description=description, actor=actor)
    Console().print(f"created team {t['name']} (contact {t['contact']})", highlight=False, markup=False)


@teams_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@backend_options
def teams_list(backend, actor, as_json):
    """The teams with their contact, members and models."""
    rows = backend.teams()
    if as_json:
        return _json(rows)
    if not rows:
        return Console().print("no teams yet: steward teams add NAME --contact ADDRESS", highlight=False)
    t = Table("team", "contact", "members", "models")
    for r in rows:
        t.add_row(_cell(r["name"]), _cell(r["contact"]), _names(r["members"]), _names(r["models"]))
    Console().print(t)


@teams_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the team as JSON.")
@backend_options
def teams_show(backend, actor, name, as_json):
    """Everything about team NAME."""
    t = backend.team(name)
    if as_json:
        return _json(t)
    console = Console()
    console.print(f"[bold]{escape(t['name'])}[/bold] — {escape(t['description'] or 'no description')}",
                  highlight=False)
    for label, value in (("contact", t["contact"]), ("members", ", ".join(t["members"]) or "none"),
                         ("models", ", ".join(t["models"]) or "none"),
                         ("created", f"{(t['created_at'] or '-')[:16].replace('T', ' ')} by {t['created_by'] or '-'}")):
        console.print(f"{label}: {value}", highlight=False, markup=False)


@teams_group.command("add-member")
@click.argument("team")
@click.argument("principal")
@backend_options(permission="teams")
def teams_add_member(backend, actor, team, principal):
    """Make PRINCIPAL (the name of an API key's holder) a member of TEAM."""
    t = backend.add_team_member(team, principal, actor=actor)
    Console().print(f"{principal} is now a member of {t['name']} ({len(t['members'])} members)", highlight=False,
                    markup=False)


@teams_group.command("remove-member")
@click.argument("team")
@click.argument("principal")
@backend_options(permission="teams")
def teams_remove_member(backend, actor, team, principal):
    """Take PRINCIPAL out of TEAM."""
    t = backend.remove_team_member(team, principal, actor=actor)
    Console().print(f"{principal} is no longer a member of {t['name']} ({len(t['members'])} members)",
                    highlight=False, markup=False)


@teams_group.command("assign")
@click.argument("model")
@click.argument("team")
@backend_options(permission="teams")
def teams_assign(backend, actor, model, team):
    """Make TEAM the owner team of MODEL (the trail keeps the one before)."""
    m = backend.set_model_team(model, team, actor=actor)
    Console().print(f"{m['name']} now belongs to {m['team']}", highlight=False, markup=False)
