"""`steward keys`: API keys for people and services (thin over steward.governance)."""

from __future__ import annotations

import click
from rich.console import Console

from steward.cli._governance import backend_options

console = Console()


@click.group("keys")
def keys_group() -> None:
    """API keys for people and services."""


@keys_group.command("create")
@click.option("--name", required=True, help="Person or service the key belongs to.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["viewer", "developer", "validator", "executive", "reviewer", "operator", "admin"]))
@backend_options
def keys_create(backend, actor, name, roles):
    """Create an API key; it is printed once and only its hash is stored."""
    k = backend.create_key(name, list(roles), actor=actor)
    console.print(f"API key for {k['name']} ({', '.join(k['roles'])}); shown only now:\n{k['key']}", highlight=False)
