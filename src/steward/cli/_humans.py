"""``steward audit-decisions``: audit the final decisions of a deployment after review and appeal, beside
the model's own, and the reviewers' override and appeal-success rates by group (thin over
:func:`steward.governance._humans.audit_decisions`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from steward.cli._console import Console
from steward.cli._stages import stage
from steward.errors import StewardError

__all__ = ["register_commands"]


@click.command("audit-decisions")
@click.argument("name")
@click.option("--since", help="From this time (ISO 8601, UTC unless it says otherwise).")
@click.option("--until", help="Before this time.")
@click.option("--protected", "protected", multiple=True, metavar="COL[=REFERENCE]",
              help="A protected attribute the guard records, and its reference group; repeat for each "
                   "[default: the guard's protected attributes, the largest group as reference].")
@click.option("--policy", "policy", metavar="FILE|default",
              help="Hold the final decisions to this policy's checks that read decisions alone; exit 1 if one fails.")
@click.option("--tier", help="The policy's risk tier [default: the model's recorded risk tier].")
@click.option("--no-intersections", is_flag=True, help="Do not report the intersection of the protected attributes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write decisions-audit.json and decisions-audit.txt into this folder.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What to print.")
@click.option("--server", envvar="STEWARD_SERVER", help="URL of a Steward server (else the local database).")
@click.option("--api-key", envvar="STEWARD_API_KEY",
              help="Your API key, for --server (a role that may export the log) or the local database.")
@click.option("--database-url", envvar="STEWARD_DATABASE_URL",
              help="Local registry database [default: sqlite:///.steward/steward.db; env STEWARD_DATABASE_URL].")
@click.pass_context
def audit_decisions_command(ctx, name, since, until, protected, policy, tier, no_intersections, out_dir, fmt, server,
                            api_key, database_url):
    """Audit the FINAL decisions of deployment NAME (after review and appeal) across protected groups, beside
    the model's own decisions, and how often reviewers overturn decisions and appeals succeed, by group.

    Logged decisions have no outcomes, so only checks that read decisions alone run (adverse impact ratio,
    group size); the report says which were left out and why. Exit 0 when nothing fails, 1 when a check of the
    final decisions fails (or is not evidenced) or one group's decisions are overturned (or its appeals
    succeed) at a rate outside 0.80-1.25 of the reference group's, significantly; 2 on bad input.
    """
    from steward.cli._governance import local_actor, open_backend
    from steward.cli._serving import _when
    from steward.governance._humans import audit_decisions
    from steward.governance._outcomes import card_info_of
    from steward.governance._registry import parse_ref

    start, end = _when(since, "--since"), _when(until, "--until")
    if start is not None and end is not None and start >= end:
        raise StewardError(f"--since {since} is not before --until {until}; give a window that holds decisions")
    backend = open_backend(server, api_key, database_url, policy)
    try:
        local_actor(backend, api_key, None, command="`steward audit-decisions`")
        with stage("reading the deployment and its decisions"):
            d = backend.deployment(name)
            guard = d.get("guard") or {}
            attrs = list(protected) or list(guard.get("protected") or [])
            if not attrs:
                raise StewardError(f"deployment {name!r} records no protected attributes (guard setting protected:), "
                                   f"so its decisions cannot be compared across groups; give --protected COL if the "
                                   f"callers send it anyway")
            if policy is not None and tier is None and d.get("version"):
                risk = backend.model(parse_ref(d["version"])[0]).get("risk")
                tier = risk["tier"] if risk else None
            card = card_info_of(backend, d.get("version"))
            rows = backend.decision_outcomes(name, since=start, until=end)
    finally:
        backend.close()
    with stage("auditing the decisions"):
        result = audit_decisions(rows, protected=attrs, favourable=int(guard.get("favourable", 1)), policy=policy,
                                 tier=tier, card_info=card, deployment=name, intersections=not no_intersections,
                                 window={"since": start.isoformat() if start else None,
                                         "until": end.isoformat() if end else None})
    with stage("printing the results"):
        doc = result.to_dict()
        text = result.text()
        if fmt == "json":
            click.echo(json.dumps(doc, indent=2, default=str))
        else:
            click.echo(text)
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "decisions-audit.json").write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
            (out_dir / "decisions-audit.txt").write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise StewardError(f"cannot write the report to {str(exc.filename or out_dir)!r}: "
                               f"{exc.strerror or exc}") from None
        Console(stderr=True).print(f"wrote {out_dir / 'decisions-audit.json'} and {out_dir / 'decisions-audit.txt'}",
                                   markup=False, highlight=False)
    if not result.passed:
        ctx.exit(1)


def register_commands(cli: click.Group) -> None:
    cli.add_command(audit_decisions_command)
