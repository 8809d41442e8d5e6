"""`steward trail`: verify, checkpoint and show the tamper-evident trail (thin over steward.governance)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._governance import backend_options, open_backend
from steward.errors import StewardError

console = Console()


@click.group("trail")
def trail_group() -> None:
    """The tamper-evident trail of every change."""


def _backend_args(fn):
    """The options of ``backend_options``, without opening the registry: ``verify`` opens it itself,
    so that a database too damaged to open is a finding (exit 1), not an input error (exit 2)."""

    @click.option("--server", envvar="STEWARD_SERVER", help="URL of a Steward server (else the local database).")
    @click.option("--api-key", envvar="STEWARD_API_KEY", help="Your API key, for --server [env STEWARD_API_KEY].")
    @click.option("--database-url", envvar="STEWARD_DATABASE_URL",
                  help="Local registry database [default: sqlite:///.steward/steward.db; env STEWARD_DATABASE_URL].")
    @click.option("--policy", "registry_policy", envvar="STEWARD_POLICY", metavar="FILE",
                  help="The current policy of the local registry [default: the shipped one; env STEWARD_POLICY].")
    @functools.wraps(fn)
    def wrapper(**kw):
        return fn(**kw)

    return wrapper


def _read_checkpoint(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        cp = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StewardError(f"cannot read the checkpoint file {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise StewardError(f"the checkpoint file {str(path)!r} is not JSON ({exc}); give the file "
                           f"`steward trail checkpoint --out` wrote") from None
    if not isinstance(cp, dict):
        raise StewardError(f"the checkpoint file {str(path)!r} does not hold a JSON object; give the file "
                           f"`steward trail checkpoint --out` wrote")
    return cp


def _open_or_damage(server, api_key, database_url, registry_policy):
    """The backend, or (None, why) when the local database is too damaged to open."""
    from steward.governance._rowhash import DamagedDatabaseError, sqlite_file_damage

    try:
        return open_backend(server, api_key, database_url, registry_policy), None
    except DamagedDatabaseError as exc:
        return None, str(exc)
    except StewardError:
        damage = None if server else sqlite_file_damage(database_url)
        if damage is None:
            raise  # not damage: a wrong URL, a server that is down, a missing key...
        return None, f"the database is damaged: {damage}"


@trail_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A checkpoint from `steward trail checkpoint`: also find a trail rolled back, truncated or wiped since.")
@_backend_args
@click.pass_context
def trail_verify(ctx, checkpoint_file, server, api_key, database_url, registry_policy):
    """Check the trail's chain and key, every governed record against it, and (given) a checkpoint.

    Exit 1 naming every problem: an entry edited or deleted, a record changed, inserted or deleted
    outside Steward, a trail rolled back or wiped, a damaged database.
    """
    cp = _read_checkpoint(checkpoint_file)
    backend, damage = _open_or_damage(server, api_key, database_url, registry_policy)
    if backend is None:
        report = {"ok": False, "entries": 0, "problems": [damage]}
    else:
        try:
            report = backend.verify_trail(cp) if cp is not None else backend.verify_trail()
        finally:
            backend.close()
        report = report if isinstance(report, dict) else report.to_dict()
    if report["ok"]:
        seen = (f"; it still holds entry {report['checkpoint']['seq']} as the checkpoint of "
                f"{report['checkpoint']['created_at']} saw it" if report.get("checkpoint") else "")
        console.print(f"[green]trail intact[/green]: {report['entries']} entries, head #{report['head_seq']} "
                      f"{report['head_hash']}{seen}", highlight=False)
        return
    console.print(f"[red bold]trail tampered[/red bold]: {len(report['problems'])} problem(s)", highlight=False)
    for p in report["problems"]:
        console.print(f"  - {p}", highlight=False, markup=False, soft_wrap=True)  # one line each, for grep
    ctx.exit(1)


@trail_group.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the checkpoint here (else to standard output).")
@backend_options
def trail_checkpoint(backend, actor, out):
    """Sign the trail's head with the trail key, as JSON.

    Keep the checkpoint where whoever can write the database cannot (another machine, a ticket, an
    e-mail); `steward trail verify --checkpoint FILE` then finds a trail rolled back, truncated,
    wiped or rewritten since. Refused while the trail does not verify.
    """
    text = json.dumps(backend.trail_checkpoint(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StewardError(f"cannot write the checkpoint to {str(out)!r}: {exc.strerror or exc}") from None
    Console(stderr=True).print(f"checkpoint of entry #{json.loads(text)['seq']} written to {out}; keep it away "
                               f"from the database", highlight=False, markup=False)


@trail_group.command("show")
@click.option("--subject", help="e.g. model:credit-scoring, version:credit-scoring:1.2, incident:3")
@click.option("--limit", default=50, show_default=True)
@backend_options
def trail_show(backend, actor, subject, limit):
    """The newest trail entries."""
    t = Table("#", "when", "who", "action", "subject")
    for e in backend.trail(subject=subject, limit=limit):
        t.add_row(*(escape(str(e[k])) for k in ("seq", "created_at", "actor", "action", "subject")))
    console.print(t)
