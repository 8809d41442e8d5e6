"""Registry commands: serve, models, signoff, approve, incident, keys, trail (thin over steward.governance).

Each works on the local database (``--database-url``, default ``.steward/steward.db``) or, with
``--server URL --api-key KEY``, on a team's Steward server.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._stages import stage
from steward.errors import StewardError

__all__ = ["register_commands", "open_backend", "local_actor"]

console = Console()


def local_actor(backend, api_key: str | None, permission: str | None = None, command: str = "this command") -> str:
    """Who acts on the local registry: the principal of an API key, never free text nor the OS user.

    ``permission`` (from the permissions table) is what the command needs; None for a command that
    only reads. The first local use of a registry without an admin creates an admin key, prints it
    once (as ``steward serve`` does) and acts as that admin. Otherwise every command that writes
    needs a key whose roles allow it; a command that reads needs none, and a key given is always
    checked.
    """
    from steward.governance import RemoteRegistry
    from steward.governance._permissions import allowed

    if isinstance(backend, RemoteRegistry):
        return ""  # the server knows the caller from the key
    if not backend.has_admin():
        key = backend.create_key("admin", ["admin"], actor="steward (local, first use)")
        Console(stderr=True).print(
            "[bold]First use of this registry: an admin API key was created. It is shown only this once:[/bold]\n"
            f"  {key['key']}\nUse it (--api-key or STEWARD_API_KEY) to create keys for people: "
            "steward keys create --name NAME --role ROLE", highlight=False)
        principal = {"name": key["name"], "roles": key["roles"]}
    elif api_key:
        principal = backend.authenticate(api_key)
    elif permission is not None:
        raise StewardError(f"{command} on the local registry is made as the principal of an API key: pass --api-key "
                           f"KEY or set STEWARD_API_KEY (an admin creates keys with `steward keys create`)")
    else:
        return ""  # reading needs no key: whoever can read the database file can read the registry
    allowed(principal, permission or "read")
    return principal["name"]


def open_backend(server: str | None, api_key: str | None, database_url: str | None, policy: str | None):
    try:
        if server:
            from steward.governance import RemoteRegistry

            return RemoteRegistry(server, api_key)
        from steward.governance import Registry

        with stage("opening the registry"):
            return Registry(database_url, policy=policy)
    except ModuleNotFoundError as exc:
        raise StewardError(f"the registry needs the server extra ({exc.name} is missing): "
                           f"pip install 'steward[server]'") from None


def backend_options(fn=None, *, permission: str | None = None):
    """--server/--api-key for a remote registry, --database-url/--policy for the local one.

    ``permission`` (from the permissions table) is what the command needs: on the local database
    it is then made as the principal of an API key holding it. Without one the command only reads
    (a key given must still be valid)."""
    if fn is None:
        return functools.partial(backend_options, permission=permission)

    @click.option("--server", envvar="STEWARD_SERVER", help="URL of a Steward server (else the local database).")
    @click.option("--api-key", envvar="STEWARD_API_KEY",
                  help="Your API key, for --server or the local database [env STEWARD_API_KEY].")
    @click.option("--database-url", envvar="STEWARD_DATABASE_URL",
                  help="Local registry database [default: sqlite:///.steward/steward.db; env STEWARD_DATABASE_URL].")
    @click.option("--policy", "registry_policy", envvar="STEWARD_POLICY", metavar="FILE",
                  help="The current policy of the local registry [default: the shipped one; env STEWARD_POLICY].")
    @functools.wraps(fn)
    @click.pass_context
    def wrapper(ctx, server, api_key, database_url, registry_policy, **kw):
        backend = open_backend(server, api_key, database_url, registry_policy)
        try:
            actor = local_actor(backend, api_key, permission, command=f"`{ctx.command_path}`")
            return fn(backend=backend, actor=actor, **kw)
        finally:
            backend.close()

    return wrapper


def _json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _cell(value) -> str:
    """Stored text for a Rich table cell: shown literally (a name like '[/red]' is not markup), '-' when empty."""
    return escape(str(value)) if value not in (None, "") else "-"


def _verdict(audit) -> str:
    if not audit:
        return "[dim]no audit[/dim]"
    if audit["passed"] is None:
        return "[dim]no policy[/dim]"
    return (f"[green]PASSED[/green] ({audit['n_warn']} warn)" if audit["passed"]
            else f"[red]FAILED[/red] ({audit['n_fail']} fail, {audit['n_warn']} warn)")


def _check_port(host: str, port: int) -> None:
    """Refuse a --host/--port this machine cannot listen on (in use by another program, or not its address)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise StewardError(f"--host {host!r} is not an address to serve on ({exc.strerror}); give an address of this "
                           f"machine, e.g. --host 127.0.0.1") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closed port in TIME_WAIT is free
        try:
            sock.bind(address)
        except OSError as exc:
            raise StewardError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; stop the program that uses "
                               f"--port {port}, or give another port, e.g. --port {port + 1}") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--database-url", envvar="STEWARD_DATABASE_URL", help="[default: sqlite:///.steward/steward.db]")
@click.option("--policy", "registry_policy", envvar="STEWARD_POLICY", metavar="FILE", help="The current policy.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes. Kill switches reach every one within a second; throttling, duplicates and "
                   "sticky decisions are shared through Redis when STEWARD_REDIS_URL is set, else kept per process.")
@click.option("--only", type=click.Choice(["all", "predictions", "governance"]), default="all", show_default=True,
              help="predictions: only the guarded endpoints (prediction traffic in processes of its own); "
                   "governance: everything else.")
def serve_command(host: str, port: int, database_url: str | None, registry_policy: str | None, workers: int,
                  only: str) -> None:
    """Run the Steward server: REST API (/api, OpenAPI at /docs) and web pages (/)."""
    try:
        import uvicorn

        from steward.governance import Registry
        from steward.web import create_app
    except ModuleNotFoundError as exc:
        raise StewardError(f"the server needs the server extra ({exc.name} is missing): pip install 'steward[server]'") from None
    _check_port(host, port)  # before saying it serves, or creating a key for a server that cannot start
    reg = Registry(database_url, policy=registry_policy)
    if not reg.has_admin():
        key = reg.create_key("admin", ["admin"], actor="steward serve (first start)")
        console.print(f"[bold]First start: an admin API key was created. It is shown only this once:[/bold]\n  {key['key']}\n"
                      "Create keys for people with `steward keys create --name NAME --role ROLE`.", highlight=False)
    console.print(f"Steward server on http://{host}:{port}/  (database: {reg.engine.url.render_as_string(hide_password=True)}, "
                  f"policy: {reg.policy.name} {reg.policy.version})", highlight=False, markup=False)
    if workers == 1:
        uvicorn.run(create_app(reg, only=only), host=host, port=port, log_level="warning")
        return
    import os

    # each worker opens the registry itself (steward.web.app:app_from_environment)
    os.environ["STEWARD_DATABASE_URL"] = reg.engine.url.render_as_string(hide_password=False)
    if registry_policy:
        os.environ["STEWARD_POLICY"] = str(registry_policy)
    os.environ["STEWARD_SERVE_ONLY"] = only
    reg.close()
    uvicorn.run("steward.web.app:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


@click.group("models")
def models_group() -> None:
    """The model inventory."""


@models_group.command("list")
@click.option("--tier")
@click.option("--status")
@click.option("--owner")
@click.option("--team", help="Only the models of this team.")
@click.option("--failing/--passing", default=None, help="Only models whose latest audit fails (or passes).")
@click.option("--json", "as_json", is_flag=True)
@backend_options
def models_list(backend, actor, tier, status, owner, team, failing, as_json):
    """List registered models with their tier, status, team and latest verdict."""
    rows = backend.models(tier=tier, status=status, owner=owner, failing=failing, team=team)
    if as_json:
        return _json(rows)
    t = Table("model", "tier", "status", "owner", "team", "version", "latest audit", "open incidents")
    for r in rows:
        t.add_row(*map(_cell, (r["name"], r["tier"], r["status"], r["owner"], r.get("team"), r["latest_version"])),
                  _verdict(r["latest_audit"]), str(r["open_incidents"]))
    console.print(t if rows else "no models match")


@models_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@backend_options
def models_show(backend, actor, name, as_json):
    """Everything about one model."""
    m = backend.model(name)
    if as_json:
        return _json(m)
    console.print(f"[bold]{escape(m['name'])}[/bold] — {escape(m['purpose'] or 'purpose not given')}", highlight=False)
    console.print(f"owner {m['owner'] or '-'}; accountable executive {m['accountable_executive'] or '-'}; "
                  f"domain {m['domain']}; status {m['status']}", highlight=False, markup=False)
    console.print(f"team: {m['team']} (contact {m.get('team_contact') or '-'})" if m.get("team") else "team: none "
                  "(steward teams assign MODEL TEAM)", highlight=False, markup=False)
    risk = m["risk"]
    console.print(f"risk tier: {risk['tier']} ({risk['tier_reason']})" if risk else "risk tier: not assessed",
                  highlight=False, markup=False)
    console.print(f"required sign-off: {', '.join(m['required_sign_off']) or '-'}", markup=False)
    for v in m["versions"]:
        audit = v["audits"][0] if v["audits"] else None
        console.print(f"  version {escape(v['version'])} {escape('[' + v['status'] + ']')}: {_verdict(audit)}",
                      highlight=False)
        if v.get("privacy"):
            from steward.governance._privacy import privacy_line

            console.print(f"    {privacy_line(v['privacy'])}", highlight=False, markup=False)
        for x in v["sign_offs"]:
            mark = "" if x["current"] else " (on an earlier audit)"
            console.print(f"    {x['decision']} by {x['person']} as {x['role']}{mark}: {x['comment']}", highlight=False,
                          markup=False)
    for i in m["incidents"]:
        console.print(f"  incident {i['id']} [{i['severity']}, {i['status']}]: {i['title']}", highlight=False,
                      markup=False)


@models_group.command("register")
@click.argument("name")
@click.option("--purpose", default="")
@click.option("--domain", default="other", show_default=True)
@click.option("--owner", default="")
@click.option("--executive", "accountable_executive", default="", help="The accountable executive.")
@click.option("--team", help="The team that owns the model (an existing team: steward teams add).")
@backend_options(permission="register")
def models_register(backend, actor, name, purpose, domain, owner, accountable_executive, team):
    """Register a model."""
    backend.register_model(name, actor=actor, purpose=purpose, domain=domain, owner=owner,
                           accountable_executive=accountable_executive, **({"team": team} if team is not None else {}))
    console.print(f"registered model {name}" + (f" (team {team})" if team else ""), markup=False)


@models_group.command("version")
@click.argument("ref", metavar="MODEL:VERSION")
@click.option("--artifact", help="Model file (its SHA-256 is recorded) or URI.")
@click.option("--training-data", type=click.Path(exists=True, dir_okay=False), help="Training data file (SHA-256 recorded).")
@click.option("--seed", "seeds", multiple=True, metavar="NAME=VALUE", help="Random seeds used; repeat.")
@click.option("--code-revision", help="[default: the git commit here, if any]")
@click.option("--features", "features", help="The model's input columns, comma-separated, for the training profile "
              "[default: the model file's own feature names].")
@click.option("--privacy", "privacy_file", type=click.Path(dir_okay=False, path_type=Path),
              help="How the version was trained with differential privacy: a private_training.json "
              "(steward probe private-training) or a bare record.")
@click.option("--epsilon", type=float, help="The ε chosen for this version, one of those tried in --privacy.")
@backend_options(permission="register")
def models_version(backend, actor, ref, artifact, training_data, seeds, code_revision, features, privacy_file, epsilon):
    """Register a version; the Python, platform and package versions are captured automatically.

    With --training-data, its training profile is recorded too (each feature's type, range, categories
    and missing rate, and a hash set of the rows): its guarded endpoint validates and screens against it,
    and monitoring compares with it."""
    from steward.data import file_sha256
    from steward.governance import parse_ref
    from steward.governance._environment import capture_environment, code_revision as git_revision

    model, version = parse_ref(ref)
    privacy = _privacy_record(privacy_file, epsilon)
    seed_map = {}
    for s in seeds:
        if "=" not in s:
            raise StewardError(f"--seed {s!r} is not NAME=VALUE (for example numpy=42)")
        k, v = s.split("=", 1)
        seed_map[k] = int(v) if v.lstrip("-").isdigit() else v
    art_sha = None
    if artifact and Path(artifact).is_file():
        art_sha, artifact = file_sha256(Path(artifact)), str(Path(artifact).resolve())
    profile = _training_profile(Path(training_data), artifact, features) if training_data else None
    backend.register_version(model, version, actor=actor, artifact_uri=artifact, artifact_sha256=art_sha,
                             training_data_sha256=file_sha256(Path(training_data)) if training_data else None,
                             environment=capture_environment(), seeds=seed_map,
                             code_revision=code_revision or git_revision(), privacy=privacy)
    console.print(f"registered version {model}:{version}", markup=False)
    if privacy is not None:
        from steward.governance._privacy import privacy_line

        console.print(privacy_line(privacy), markup=False, highlight=False)
    if profile is not None:
        backend.record_profile(model, version, profile.to_dict(), actor=actor)
        console.print(f"recorded its training profile: {len(profile.features)} features, {profile.rows:,} rows",
                      markup=False)


def _privacy_record(path: Path | None, epsilon: float | None) -> dict | None:
    """The differential-privacy record of --privacy (its "record" key, or the file itself), with --epsilon chosen."""
    from steward.governance._privacy import check_privacy_record

    if path is None:
        if epsilon is not None:
            raise StewardError("--epsilon chooses one of the epsilons tried in a --privacy file; give --privacy FILE too")
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StewardError(f"--privacy {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StewardError(f"--privacy {str(path)!r} is not JSON ({exc}); give the private_training.json that "
                           f"steward probe private-training wrote") from None
    record = doc.get("record") if isinstance(doc, dict) and isinstance(doc.get("record"), dict) else doc
    try:
        record = check_privacy_record(record)
    except StewardError as exc:
        raise type(exc)(f"--privacy {str(path)!r}: {exc}") from None
    if record is None:
        raise StewardError(f"--privacy {str(path)!r} holds null, not a privacy record; give the private_training.json "
                           f"that steward probe private-training wrote")
    if epsilon is not None:
        if epsilon not in record["epsilons"]:
            raise StewardError(f"--epsilon {epsilon:g} was not tried in --privacy {str(path)!r}; use one of "
                               f"{', '.join(f'{e:g}' for e in record['epsilons'])}")
        record["chosen_epsilon"] = float(epsilon)
    return record


def _training_profile(path: Path, artifact: str | None, features: str | None):
    """The training data's profile over the model's features (from --features, else the model file)."""
    from steward.cli._models import read_frame
    from steward.serving._profile import build_profile

    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    if names is None and artifact and Path(artifact).is_file():
        from steward.models import load_model

        try:
            names = list(load_model(artifact).features or []) or None
        except StewardError:
            names = None
    if names is None:
        raise StewardError("--training-data needs the model's input columns for its profile: give --features a,b,c "
                           "(or an --artifact file that names its features)")
    frame = read_frame(path, "training data")
    missing = [f for f in names if f not in frame.columns]
    if missing:
        raise StewardError(f"--training-data {path} lacks the feature column(s) {', '.join(map(repr, missing))}; "
                           f"it has: {', '.join(map(str, frame.columns))}")
    with stage("profiling the training data"):
        return build_profile(frame, names)


@models_group.command("assess")
@click.argument("name")
@click.option("--domain", required=True)
@click.option("--people-affected", type=click.IntRange(min=0), required=True)
@click.option("--decisions-per-day", type=click.IntRange(min=0), required=True)
@click.option("--human-review/--no-human-review", required=True)
@click.option("--wrong-decision-cost", type=click.Choice(["low", "medium", "high"]), required=True)
@backend_options(permission="assess")
def models_assess(backend, actor, name, domain, people_affected, decisions_per_day, human_review, wrong_decision_cost):
    """Answer the policy's risk questions; the policy assigns the tier."""
    ra = backend.assess_risk(name, dict(domain=domain, people_affected=people_affected, decisions_per_day=decisions_per_day,
                                        human_review=human_review, wrong_decision_cost=wrong_decision_cost), actor=actor)
    console.print(f"{name}: {ra['tier_reason']}", highlight=False, markup=False)


@click.command("signoff")
@click.argument("ref", metavar="MODEL:VERSION")
@click.option("--role", required=True, help="The role you sign in (validator, executive, ...).")
@click.option("--decision", type=click.Choice(["approve", "reject"]), required=True)
@click.option("--comment", default="", help="Required for a rejection.")
@backend_options(permission="sign_off")
def signoff_command(backend, actor, ref, role, decision, comment):
    """Sign off (approve or reject) the latest audit of a version."""
    from steward.governance import parse_ref

    model, version = parse_ref(ref)
    x = backend.sign_off(model, version, role=role, decision=decision, comment=comment, actor=actor)
    console.print(f"recorded: {x['decision']} by {x['person']} as {x['role']} on audit #{x['audit_run']}", highlight=False,
                  markup=False)


@click.command("approve")
@click.argument("ref", metavar="MODEL:VERSION")
@backend_options(permission="approve")
def approve_command(backend, actor, ref):
    """Mark a version approved for deployment (refused, with every reason, until the rules hold)."""
    from steward.governance import parse_ref

    model, version = parse_ref(ref)
    v = backend.approve(model, version, actor=actor)
    console.print(f"{model}:{version} is approved for deployment (by {v['approved_by']})", highlight=False, markup=False)


@click.group("incident")
def incident_group() -> None:
    """Incidents: open, update, list, show."""


@incident_group.command("open")
@click.argument("ref", metavar="MODEL[:VERSION]")
@click.option("--title", required=True)
@click.option("--severity", type=click.Choice(["low", "medium", "high", "critical"]), required=True)
@click.option("--description", default="")
@backend_options(permission="incident_open")
def incident_open(backend, actor, ref, title, severity, description):
    """Open an incident; it gets the policy's response checklist."""
    model, _, version = ref.partition(":")
    inc = backend.open_incident(model, version=version or None, title=title, severity=severity,
                                description=description, actor=actor)
    console.print(f"opened incident {inc['id']} ({len(inc['checklist'])} checklist items)")


@incident_group.command("update")
@click.argument("incident_id", type=int)
@click.option("--note")
@click.option("--status", type=click.Choice(["contained", "resolved"]))
@click.option("--done", type=int, multiple=True, help="Checklist item done (0-based); repeat.")
@backend_options(permission="incident_update")
def incident_update(backend, actor, incident_id, note, status, done):
    """Add a note, move the status forward (open → contained → resolved), tick checklist items."""
    inc = backend.update_incident(incident_id, note=note, status=status, done=list(done), actor=actor)
    console.print(f"incident {inc['id']} is {inc['status']}; "
                  f"{sum(c['done'] for c in inc['checklist'])}/{len(inc['checklist'])} checklist items done")


@incident_group.command("list")
@click.option("--model")
@click.option("--status", type=click.Choice(["open", "contained", "resolved"]))
@click.option("--team", help="Only the incidents of this team's models.")
@click.option("--json", "as_json", is_flag=True)
@backend_options
def incident_list(backend, actor, model, status, team, as_json):
    rows = backend.incidents(model=model, status=status, **({"team": team} if team is not None else {}))
    if as_json:
        return _json(rows)
    t = Table("id", "model", "severity", "status", "title", "opened")
    for i in rows:
        t.add_row(str(i["id"]), _cell(i["model"] + (f":{i['version']}" if i["version"] else "")),
                  *map(_cell, (i["severity"], i["status"], i["title"], i["created_at"])))
    console.print(t if rows else "no incidents")


@incident_group.command("show")
@click.argument("incident_id", type=int)
@backend_options
def incident_show(backend, actor, incident_id):
    _json(backend.incident(incident_id))


def register_commands(cli: click.Group) -> None:
    from steward.cli._challenge import accept_command, reproduce_command
    from steward.cli._keys import keys_group
    from steward.cli._trail import trail_group

    for cmd in (serve_command, models_group, signoff_command, approve_command, incident_group, keys_group, trail_group,
                accept_command, reproduce_command):
        cli.add_command(cmd)

