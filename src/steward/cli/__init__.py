"""The ``steward`` command line: thin over the library (parse, call one function, format)."""

from __future__ import annotations

import contextlib
import sys
import traceback
import warnings
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from steward.cli._explain import register_commands as register_explain_commands
from steward.cli._models import model_options, parse_features, print_analyses
from steward.cli._probe import register_commands as register_probe_commands
from steward.cli._remediate import register_commands as register_remediate_commands
from steward.cli._stages import name_commands, stage, stage_of
from steward.cli._models import register_commands as register_model_commands
from steward.errors import DataValidationError, StewardError, StewardWarning

__all__ = ["main", "cli"]

PROGRESS_MIN_BYTES = 16 << 20


class StewardGroup(click.Group):
    """Ends every command with its exit code: a user mistake (StewardError) is one line and exit 2, an
    unexpected error one line naming the stage that failed and exit 3, Ctrl-C one line and exit 130.
    With --debug the traceback is printed before that line; the exit code stays the same."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise  # usage errors (exit 2) and the commands' own exit codes
        except StewardError as exc:
            _fail(ctx, exc, f"[red]error:[/red] {_one_line(exc)}", 2)
        except KeyboardInterrupt as exc:
            _fail(ctx, exc, f"interrupted {stage_of(exc) or ''}".rstrip(), 130)
        except Exception as exc:
            where = stage_of(exc) or f"in `{ctx.command_path}`"
            _fail(ctx, exc, f"[red]internal error[/red] {escape(where)} ({type(exc).__name__}: {_one_line(exc)}); "
                            "run with --debug for the traceback", 3)


def _one_line(exc: BaseException) -> str:
    from steward.cli._wording import cli_wording  # the library's `prediction=COLUMN` is `--prediction COL` here

    return escape(cli_wording(" ".join(str(exc).split())) or "no message")


def _fail(ctx: click.Context, exc: BaseException, line: str, code: int) -> None:
    err = Console(stderr=True)
    if ctx.obj and ctx.obj.get("debug"):
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()
    err.print(line, highlight=False, soft_wrap=True)
    sys.exit(code)


@click.group(cls=StewardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="steward")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Steward: discrimination testing and model governance.

    \b
    Exit codes:
      0    everything passed
      1    a policy finding failed or is not evidenced (or a probe's threshold
           was breached, or the trail was tampered with)
      2    bad input: a usage error, or a mistake explained in one line
      3    an unexpected internal error: one line names the step that failed;
           run with --debug for the traceback
      130  interrupted (Ctrl-C)
    """
    ctx.ensure_object(dict)["debug"] = debug


@cli.command("audit")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="Column with the observed outcome (0/1).")
@click.option("--prediction", help="Column with the binary decision.")
@click.option("--score", help="Column with the model score.")
@click.option("--threshold", type=float, help="Decision is 1 when score >= threshold.")
@click.option("--favourable", type=click.Choice(["0", "1"]), default="1", show_default=True,
              help="Decision value that is good for the person.")
@click.option("--positive-label", help="Label value that counts as 1, when the label is not 0/1.")
@click.option("--protected", "protected", multiple=True, required=True, metavar="COL[=REFERENCE]",
              help="Protected attribute and its reference group; repeat for each attribute.")
@click.option("--weight", help="Column of sample weights.")
@click.option("--min-group-size", type=click.IntRange(min=1), default=None,
              help="Groups with fewer rows are too small to judge [default: 30, or the policy tier's].")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Level of the confidence intervals [default: 0.95, or the policy tier's].")
@click.option("--no-intersections", is_flag=True, help="Do not report the intersection of the protected attributes.")
@click.option("--engine", type=click.Choice(["auto", "numpy", "duckdb", "spark"]), default="auto", show_default=True,
              help="spark: the file is read and aggregated by Apache Spark (the active session, else a local one).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("steward-report"),
              show_default=True, help="Folder for report.json and report.html.")
@click.option("--policy", "policy", metavar="FILE|default",
              help="Hold the audit to this policy file ('default': the one shipped with Steward); exit 1 if it fails.")
@click.option("--tier", help="The policy's risk tier (without it, the risk: answers of --card-info choose one).")
@click.option("--card-info", "card_info", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML with what the model card cannot derive (owner, intended use, ...); `steward init` writes one.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write the findings as JUnit XML here.")
@click.option("--publish", "publish_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write a copy fit to publish here: groups smaller than --min-cell suppressed, no cells or "
                   "analyses.")
@click.option("--min-cell", type=click.IntRange(min=2),
              help="With --publish: suppress groups with fewer rows [default: the policy tier's min_cell, else 10; "
                   "never below the tier's].")
@click.option("--register", "register_ref", metavar="MODEL:VERSION",
              help="Record this audit run in the registry (the model and version are created on first use).")
@click.option("--server", envvar="STEWARD_SERVER", help="With --register: a Steward server URL (else the local database).")
@click.option("--api-key", envvar="STEWARD_API_KEY",
              help="With --register: your API key, for --server or the local database [env STEWARD_API_KEY].")
@click.option("--database-url", envvar="STEWARD_DATABASE_URL",
              help="With --register and no --server: the registry database [default: sqlite:///.steward/steward.db].")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: for files over 16 MiB).")
@click.option("--train", type=click.Path(dir_okay=False, path_type=Path),
              help="With --model: training data for a transparent benchmark model to compare with.")
@click.option("--benchmark", type=click.Choice(["logistic", "tree", "ebm"]), default="logistic", show_default=True,
              help="The benchmark model trained on --train.")
@click.option("--previous", type=click.Path(dir_okay=False, path_type=Path),
              help="With --model: the previous version's model file, for prediction churn.")
@click.option("--reasons", type=click.Path(dir_okay=False, path_type=Path),
              help="With --model: YAML of reviewed reason texts; the report gets reason codes for adverse decisions.")
@click.option("--monotone", type=click.Path(dir_okay=False, path_type=Path),
              help="With --model: YAML of declared directions (feature: increasing|decreasing) to check.")
@click.option("--scenarios", type=click.Path(dir_okay=False, path_type=Path),
              help="With --model: YAML of stress scenarios; the report gives the decisions each changes.")
@model_options
@click.pass_context
def audit_command(ctx, data, label, prediction, score, threshold, favourable, positive_label, protected, weight,
                  min_group_size, confidence, no_intersections, engine, policy, tier, card_info, junit, publish_dir,
                  min_cell, register_ref,
                  server, api_key, database_url, out_dir, progress, train, benchmark, previous, reasons, monotone, scenarios, model,
                  features, trust_pickle, model_sha256, trust_types):
    """Audit the decisions in DATA (CSV or Parquet) across protected groups and write a report.

    With --policy, every check of the tier is run: exit 1 when a finding fails, 0 when none does.
    """
    from steward.audit import ModelInputs, ProbeInputs, audit

    if publish_dir is not None:  # said before the audit runs, not after it
        if publish_dir.resolve() == out_dir.resolve():
            raise DataValidationError(f"--publish {str(publish_dir)!r} is the --out folder: the published copy would "
                                      f"replace the full report; give it a folder of its own")
        if policy is not None and tier is not None:
            _publication_cell(None, policy, min_cell, tier)
    elif min_cell is not None:
        raise DataValidationError("--min-cell applies to the published copy: give --publish DIR too")
    if register_ref:  # a mistyped MODEL:VERSION is said before the audit runs, not after
        from steward.governance import parse_ref

        parse_ref(register_ref)
        # Whether the key may record it is said before the audit runs too (the local registry's first use,
        # with no admin yet, makes the admin key when the audit is recorded).
        recorded = _recorded_tier(register_ref, server, api_key, database_url, policy,
                                  wanted=policy is not None and tier is None)
        if policy is not None and tier is None:
            tier = recorded
    console = Console()
    err = Console(stderr=True)
    show = progress if progress is not None else (
        model is not None or (data.is_file() and data.stat().st_size >= PROGRESS_MIN_BYTES))
    feats = parse_features(features)
    probes = ProbeInputs(reasons=reasons, monotone=monotone, scenarios=scenarios)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StewardWarning)  # the notes are printed with the result
        with _progress(err, show) as on_progress, stage("running the audit"), \
                _engine_session(ctx, engine, on_progress):
            models = None
            if model is not None or train is not None or previous is not None:
                models = ModelInputs(_load(model, feats, trust_pickle, trust_types, model_sha256, on_progress),
                                     previous=_load(previous, feats, trust_pickle, trust_types, None, on_progress),
                                     train=train, benchmark=benchmark)
            result = audit(
                data, label=label, prediction=prediction, score=score, threshold=threshold,
                favourable=int(favourable), positive_label=positive_label, protected=list(protected),
                weight=weight, features=feats, intersections=not no_intersections, min_group_size=min_group_size,
                confidence=confidence, policy=policy, tier=tier, card_info=card_info, model=models,
                probes=probes if probes.given() else None, engine=engine, on_progress=on_progress,
            )
    from steward.cli._output import print_result

    with stage("printing the results"):
        print_result(result, console)
        print_analyses(result.analyses, console)
    try:
        with _progress(err, show) as on_progress, stage("writing the report"):
            if on_progress is not None:
                on_progress("writing the report", 0.0)
            paths = result.save(out_dir, junit=junit)
    except OSError as exc:
        raise StewardError(f"cannot write the report to {str(exc.filename or out_dir)!r}: {exc.strerror or exc}") from None
    console.print(f"Report: {paths['html']}  (JSON: {paths['json']}; model card: {paths['model_card']}"
                  + (f"; JUnit: {paths['junit']}" if "junit" in paths else "") + ")", markup=False, highlight=False)
    if publish_dir is not None:
        k = _publication_cell(result, policy, min_cell)
        with stage("writing the published copy"):
            try:
                published = result.for_publication(k).save(publish_dir)
            except OSError as exc:
                raise StewardError(f"cannot write the published copy to {str(exc.filename or publish_dir)!r}: "
                                   f"{exc.strerror or exc}") from None
        console.print(f"Published copy (groups under {k} rows suppressed): {published['html']}", markup=False,
                      highlight=False)
    if register_ref:
        with stage("recording the audit in the registry"):
            _register(result, register_ref, server, api_key, database_url, policy, console)
    if result.passed is False:
        ctx.exit(1)


def _engine_session(ctx: click.Context, engine: str, on_progress):
    """With --engine spark, the Spark session the audit reads the file with, quiet on the terminal."""
    if engine != "spark":
        return contextlib.nullcontext()
    from steward.engine._spark_cells import command_line_session

    return command_line_session(debug=bool(ctx.obj and ctx.obj.get("debug")), on_progress=on_progress)


def _publication_cell(result, policy, given, tier=None):
    """--min-cell, the policy tier's min_cell, or 10: a published copy may suppress more than the tier asks, never
    less. ``tier``: the tier's name when known before the audit (else the result's)."""
    tier_k = None
    name = tier if tier is not None else (result.policy or {}).get("tier") if result is not None else None
    if policy is not None and name is not None:
        from steward.audit.policy import load_policy

        tier_k = load_policy(policy).tier(name).min_cell
    if given is not None and tier_k is not None and given < tier_k:
        raise DataValidationError(f"--min-cell {given} is below the policy tier's min_cell {tier_k}; a published copy "
                                  f"may suppress more groups than the tier asks, never fewer")
    return given if given is not None else (tier_k or 10)


def _load(path, features, trust_pickle, trust_types, sha256, on_progress):
    """A model file, loaded safely (the security switches apply here, before the audit sees the model)."""
    if path is None:
        return None
    from steward.audit._analyses import load_any_model

    if on_progress is not None:
        on_progress("loading the models", 0.0)
    return load_any_model(path, trust_pickle=trust_pickle, sha256=sha256, trusted_types=list(trust_types) or None,
                          features=features)


def _recorded_tier(ref, server, api_key, database_url, policy, wanted: bool = True) -> str | None:
    """The model's risk tier as the registry recorded it (None when it has no assessment yet, or not
    ``wanted``), after checking that the API key may record audits in the local registry."""
    from steward.cli._governance import local_actor, open_backend
    from steward.errors import NotFoundError
    from steward.governance import RemoteRegistry, parse_ref

    if server and not wanted:
        return None
    backend = open_backend(server, api_key, database_url, policy)
    try:
        if not isinstance(backend, RemoteRegistry) and backend.has_admin():
            local_actor(backend, api_key, "register", command="`steward audit --register`")
        if not wanted:
            return None
        risk = backend.model(parse_ref(ref)[0]).get("risk")
    except NotFoundError:
        return None
    finally:
        backend.close()
    return risk["tier"] if risk else None


def _register(result, ref, server, api_key, database_url, policy, console) -> None:
    from steward.cli._governance import local_actor, open_backend
    from steward.governance import record_audit_run
    from steward.governance._context import run_context
    from steward.governance._environment import code_revision

    backend = open_backend(server, api_key, database_url, policy)
    try:
        actor = local_actor(backend, api_key, "register", command="`steward audit --register`")
        # `steward audit` gates: its exit code fails the job when a finding fails or is not evidenced
        context = run_context(gate=True, command="steward audit")
        run = record_audit_run(backend, ref, result, actor=actor, code_revision=code_revision(), context=context)
    finally:
        backend.close()
    where = server or "the local registry"
    console.print(f"Recorded as audit #{run['id']} of {ref} in {where}.", highlight=False, markup=False)


class _progress:
    """Rich progress on stderr: one bar for the stage running now, with its name and time (a stage reports
    ``on_progress(stage, fraction)`` as it starts, moves and ends); a no-op callback when hidden."""

    def __init__(self, console: Console, show: bool) -> None:
        self.show = show
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                            TimeElapsedColumn(), console=console, transient=True) if show else None
        self.tasks: dict[str, int] = {}
        self.current: str | None = None

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.__enter__()
        return self.update

    def update(self, stage: str, fraction: float) -> None:
        if stage != self.current and self.current is not None:  # a new stage: the one before is over
            self.bar.update(self.tasks[self.current], visible=False)
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(escape(stage), total=1.0)  # stages can name columns and groups
        self.current = stage
        self.bar.update(self.tasks[stage], completed=fraction, visible=fraction < 1.0)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


@cli.group("policy")
def policy_group() -> None:
    """Policy files: risk tiers and the checks each requires."""


@policy_group.command("check")
@click.argument("file", metavar="FILE|default")
def policy_check(file: str) -> None:
    """Validate a policy file; print its tiers and checks. Exit 0 when valid, 2 when not."""
    from steward.audit.policy import load_policy
    from steward.cli._output import print_policy
    from steward.errors import PolicyError

    from steward.monitoring import monitor_problems
    from steward.serving._settings import guard_problems

    try:
        policy = load_policy(file)
    except PolicyError as exc:  # every problem on its own line, all of them at once
        err = Console(stderr=True)
        for i, line in enumerate(str(exc).splitlines()):
            err.print(("[red]error:[/red] " if i == 0 else "  ") + escape(line), highlight=False, soft_wrap=True)
        sys.exit(2)
    guards = [p for name, tier in policy.tiers.items() for p in guard_problems(tier.guard, source=f"tiers.{name}.guard")]
    guards += [p for name, tier in policy.tiers.items() for p in monitor_problems(tier.monitor, f"tiers.{name}.monitor")]
    if guards:  # the tiers' guard and monitor sections are the serving and monitoring schemas, checked here too
        err = Console(stderr=True)
        for line in guards:
            err.print("[red]error:[/red] " + escape(line), highlight=False, soft_wrap=True)
        sys.exit(2)
    print_policy(policy, Console())


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def init_command(directory: Path) -> None:
    """Write a starter policy.yaml and model_card.yaml (with comments) into DIRECTORY; never overwrites."""
    from steward.audit.policy import write_starter_files

    try:
        paths = write_starter_files(directory)
    except OSError as exc:
        raise StewardError(f"cannot write into {str(directory)!r}: {exc.strerror or exc}") from None
    for p in paths:
        click.echo(f"wrote {p}")
    click.echo("Next: edit them, check the policy with `steward policy check policy.yaml`, then run "
               "`steward audit ... --policy policy.yaml --tier high --card-info model_card.yaml`.")


from steward.cli._governance import register_commands  # noqa: E402  (the registry commands)

register_commands(cli)

from steward.cli._serving import register_commands as register_serving_commands  # noqa: E402

register_serving_commands(cli)


@cli.group("datasets")
def datasets_group() -> None:
    """Datasets shipped with Steward."""


@datasets_group.command("list")
def datasets_list() -> None:
    """List the shipped datasets."""
    from steward import datasets

    for name in datasets.names():
        click.echo(f"{name}\t{datasets.path(name)}")


@datasets_group.command("path")
@click.argument("name")
def datasets_path(name: str) -> None:
    """Print the path of a shipped dataset file."""
    from steward import datasets

    click.echo(str(datasets.path(name)))


def main() -> None:
    cli(prog_name="steward")
register_model_commands(cli)
register_explain_commands(cli)
register_probe_commands(cli)
register_remediate_commands(cli)
from steward.cli._humans import register_commands as register_humans_commands  # noqa: E402

register_humans_commands(cli)
from steward.cli._monitor import register_commands as register_monitor_commands  # noqa: E402

register_monitor_commands(cli)
from steward.cli._standards import register_commands as register_standards_commands  # noqa: E402

register_standards_commands(cli)
name_commands(cli)  # last: every command registered above names itself in an internal error
