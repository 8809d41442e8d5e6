"""`steward accept` (an executive's owned, expiring exception) and `steward reproduce` (a validator's
independent re-run of a recorded audit). Thin over steward.governance."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape

from steward.cli._governance import backend_options
from steward.errors import StewardError, StewardWarning

__all__ = ["accept_command", "reproduce_command"]

console = Console()


@click.command("accept")
@click.argument("ref", metavar="MODEL:VERSION")
@click.option("--check", "check", required=True, help="The check whose failing or not-evidenced finding you accept.")
@click.option("--reason", required=True, help="Why the risk is acceptable (shown on the model page and card).")
@click.option("--until", required=True, metavar="YYYY-MM-DD", help="When the acceptance lapses (at most a year).")
@backend_options(permission="accept")
def accept_command(backend, actor, ref, check, reason, until):
    """Accept a failing or not-evidenced check for one version until a date (executives only).

    Approval then counts that check as not blocking. At its date the acceptance lapses: the
    version's approval is revoked and an incident opened.
    """
    from steward.governance import parse_ref

    model, version = parse_ref(ref)
    a = backend.accept(model, version, check=check, reason=reason, until=until, actor=actor)
    console.print(f"accepted {escape(a['check'])} for {escape(ref)} until {a['until'][:10]} "
                  f"(by {escape(a['accepted_by'])}): {escape(a['reason'])}", highlight=False)


@click.command("reproduce")
@click.argument("ref", metavar="MODEL:VERSION")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "model_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The model file the audit scored with (its SHA-256 must be the recorded one).")
@click.option("--audit", "audit_id", type=click.IntRange(min=1), help="Which audit run [default: the latest].")
@click.option("--train", type=click.Path(dir_okay=False, path_type=Path), help="Training data, as given to the audit.")
@click.option("--previous", type=click.Path(dir_okay=False, path_type=Path), help="Previous model, as given to the audit.")
@click.option("--reasons", type=click.Path(dir_okay=False, path_type=Path), help="Reason texts, as given to the audit.")
@click.option("--monotone", type=click.Path(dir_okay=False, path_type=Path), help="Monotone directions, as given.")
@click.option("--scenarios", type=click.Path(dir_okay=False, path_type=Path), help="Stress scenarios, as given.")
@click.option("--trust-pickle", is_flag=True, help="Allow a pickle/joblib model file (loading it runs its code).")
@backend_options(permission="reproduce")
@click.pass_context
def reproduce_command(ctx, backend, actor, ref, data, model_file, audit_id, train, previous, reasons, monotone,
                      scenarios, trust_pickle):
    """Re-run a recorded audit independently on DATA and record whether it reproduces (validators only).

    The data's (and model's) SHA-256 must match what was recorded; the audit is re-run with the
    recorded roles, policy and tier, and the registry compares cells and findings with the stored
    ones. Exit 0 when reproduced, 1 when it differs (the first difference is printed and recorded).
    """
    from steward.audit import audit
    from steward.data import file_sha256
    from steward.governance import parse_ref

    model, version = parse_ref(ref)
    v = backend.version(model, version)
    if not v["audits"]:
        raise StewardError(f"{ref} has no recorded audit to reproduce")
    run_id = audit_id or v["audits"][0]["id"]
    stored = backend.audit_report(run_id)
    if not data.is_file():
        raise StewardError(f"DATA {str(data)!r} does not exist; give the data file the audit was run on")
    roles, settings = stored["roles"], stored.get("settings") or {}
    recorded_model = (stored.get("model") or {}).get("sha256")
    if recorded_model and model_file is None:
        raise StewardError(f"audit #{run_id} scored the data with a model (SHA-256 {recorded_model[:12]}...); give it with --model")
    if model_file is not None and recorded_model is None:
        raise StewardError(f"audit #{run_id} did not use a model; leave --model out")
    if model_file is not None and file_sha256(model_file) != recorded_model:
        raise StewardError(f"--model {str(model_file)!r} is not the model audit #{run_id} used (SHA-256 differs)")
    policy_text = None
    if stored.get("policy"):
        policy_text = backend.policy_text(stored["policy"]["sha256"])
    kw = dict(label=roles["label"], favourable=int(roles["favourable"]), positive_label=roles.get("positive_label"),
              protected={p["column"]: p["reference"] for p in roles["protected"]}, weight=roles.get("weight"),
              intersections=bool(settings.get("intersections", True)))
    if model_file is not None:
        from steward.audit import ModelInputs, ProbeInputs
        from steward.audit._analyses import load_any_model

        feats = roles["features"]
        loaded = load_any_model(model_file, trust_pickle=trust_pickle, sha256=recorded_model, features=feats)
        older = None if previous is None else load_any_model(previous, trust_pickle=trust_pickle, features=feats)
        probes = ProbeInputs(reasons=reasons, monotone=monotone, scenarios=scenarios)
        kw.update(model=ModelInputs(loaded, previous=older, train=train), features=feats,
                  threshold=roles.get("threshold"), probes=probes if probes.given() else None)
    else:
        kw.update(prediction=roles.get("prediction"), score=roles.get("score"), threshold=roles.get("threshold"),
                  features=roles.get("features") or ())
    if policy_text is not None:
        kw.update(policy=policy_text, tier=stored["policy"]["tier"], card_info=stored.get("card_info"))
    engine = settings.get("engine")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StewardWarning)
        result = audit(data, engine=engine if engine in ("numpy", "duckdb") and model_file is None else "auto", **kw)
    rep = backend.record_reproduction(model, version, report=json.loads(result.to_json()), audit_run=run_id, actor=actor)
    if rep["outcome"] == "reproduced":
        console.print(f"[green]reproduced[/green]: audit #{run_id} of {escape(ref)} gives the same cells and findings "
                      f"(recorded by {escape(rep['run_by'])})", highlight=False)
        return
    console.print(f"[red bold]differs[/red bold]: audit #{run_id} of {escape(ref)}: {escape(rep['detail'])}", highlight=False)
    ctx.exit(1)
