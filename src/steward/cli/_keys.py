"""`steward keys`: API keys for people and services (thin over steward.governance).

Only an admin manages keys: on a Steward server, and on the local database with --api-key (the first
use of a local registry creates the first admin key and prints it once).
"""

from __future__ import annotations

import click

from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._governance import _json, backend_options

console = Console()


@click.group("keys")
def keys_group() -> None:
    """API keys for people and services."""


@keys_group.command("create")
@click.option("--name", required=True, help="Person or service the key belongs to.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["viewer", "developer", "validator", "executive", "reviewer", "operator", "admin",
                                 "governance", "caller"]))
@click.option("--deployment", "deployments", multiple=True, metavar="NAME",
              help="For --role caller: a deployment the key may call (repeat for more).")
@backend_options(permission="keys")
def keys_create(backend, actor, name, roles, deployments):
    """Create an API key; it is printed once and only its hash is stored.

    An application calling guarded endpoints gets a caller key scoped to them:
    steward keys create --name loan-app --role caller --deployment credit-live
    """
    k = backend.create_key(name, list(roles), actor=actor, deployments=list(deployments) or None)
    console.print(f"API key for {k['name']} ({', '.join(k['roles'])}); shown only now:\n{k['key']}", highlight=False,
                  markup=False)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@backend_options(permission="keys")
def keys_list(backend, actor, as_json):
    """People and services with their roles and API keys: key id, when created, whether revoked.

    Keys themselves are never shown again after `steward keys create`; only their hashes are stored.
    A key made before keyed hashes is marked "legacy hash: rotate": give its owner a new key and
    revoke it.
    """
    principals = backend.keys()
    if as_json:
        return _json(principals)
    if not principals:
        return console.print("no keys yet")
    t = Table("name", "roles", "key id", "created (UTC)", "revoked (UTC)")
    for p in principals:
        name = escape(p["name"]) + (" [dim](disabled)[/dim]" if p.get("disabled") else "")
        roles = escape(", ".join(p["roles"]))
        for i, k in enumerate(p["keys"] or [None]):
            first = (name, roles) if i == 0 else ("", "")
            if k is None:
                t.add_row(*first, "[dim]no key[/dim]", "", "")
            else:
                revoked = f"[red]{_when(k['revoked_at'])}[/red]" if k["revoked"] else "[green]active[/green]"
                if k.get("legacy_hash") and not k["revoked"]:
                    revoked += " [yellow](legacy hash: rotate)[/yellow]"
                t.add_row(*first, escape(k["key_id"]), _when(k["created_at"]), revoked)
    console.print(t)


def _when(iso: str | None) -> str:
    """'2026-01-31 09:15' from an ISO time in UTC (the listing's JSON keeps the full time)."""
    return escape(iso[:16].replace("T", " ")) if iso else "-"


@keys_group.command("revoke")
@click.argument("key_id")
@backend_options(permission="keys")
def keys_revoke(backend, actor, key_id):
    """Revoke the API key KEY_ID (as `steward keys list` shows it); it stops working at once."""
    backend.revoke_key(key_id, actor=actor)
    console.print(f"revoked API key {key_id}", highlight=False, markup=False)
