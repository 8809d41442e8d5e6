"""``steward monitor``: create monitors, run them (one-shot, safe under cron, or ``--follow``), give them
late labels, list them and show their windows and alerts (thin over the registry's monitors)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from steward.cli._console import Console
from steward.cli._stages import stage
from steward.errors import DataValidationError, StewardError

__all__ = ["register_commands"]


def _local(database_url, policy):
    from steward.cli._governance import open_backend

    backend = open_backend(None, None, database_url, policy)
    from steward.governance import Registry

    if not isinstance(backend, Registry):  # pragma: no cover - open_backend without a server is local
        raise StewardError("monitors run against the local registry database (--database-url)")
    return backend


_DB = [click.option("--api-key", envvar="STEWARD_API_KEY", help="Your API key (a role that may run monitors)."),
       click.option("--database-url", envvar="STEWARD_DATABASE_URL",
                    help="Registry database [default: sqlite:///.steward/steward.db; env STEWARD_DATABASE_URL]."),
       click.option("--policy", "policy", metavar="FILE|default", help="The registry's policy file.")]


def _db(fn):
    for opt in reversed(_DB):
        fn = opt(fn)
    return fn


@click.group("monitor")
def monitor_group() -> None:
    """Monitors: drift, decay, fairness over time, attacks and overrides, window by window."""


_SOURCE = [
    click.option("--data", type=click.Path(path_type=Path), help="Predictions logged elsewhere: a Parquet/CSV file "
                                                                   "or a folder of them (new files are read once)."),
    click.option("--reference", "reference", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Reference data (training or validation rows; with --data, required)."),
    click.option("--features", help="Comma-separated feature columns (with --reference)."),
    click.option("--protected", "protected", multiple=True, metavar="COL[=REFERENCE]",
                 help="A protected attribute and its reference group; repeat for each."),
    click.option("--time", "time_col", help="Column of the prediction time (with --data)."),
    click.option("--score", "score_col", help="Column of the model's probability of decision 1 (the favourable decision here)."),
    click.option("--decision", "decision_col", help="Column of the model's decision (1 favourable)."),
    click.option("--label", "label_col", help="Column of the outcome, when the data has it."),
    click.option("--key", "key_col", help="Column of the caller's key (for per-key volume and extraction)."),
    click.option("--id", "id_col", help="Column of the prediction id (to join late labels)."),
    click.option("--tier", help="The policy tier whose monitoring rules apply [default: the model's risk tier]."),
    click.option("--window", type=click.Choice(["hour", "day", "week", "count"]), help="Window by time or by count."),
    click.option("--size", type=click.IntRange(1), help="Rows per window with --window count."),
]


def _source(fn):
    for opt in reversed(_SOURCE):
        fn = opt(fn)
    return fn


def _reference_of(reference, features, attrs, score_col, decision_col, label_col) -> dict | None:
    from steward.cli._models import read_frame
    from steward.monitoring import build_reference

    if reference is None:
        return None
    if not features:
        raise DataValidationError("--features: name the feature columns of the reference (comma-separated)")
    frame = read_frame(reference, "--reference")
    with stage("building the reference"):
        return build_reference(frame, features=[f.strip() for f in features.split(",") if f.strip()],
                               protected=list(attrs), reference_groups={a: g for a, g in attrs.items() if g},
                               score=score_col, decision=decision_col, label=label_col,
                               source=str(reference)).to_dict()


def _window_settings(window, size) -> dict:
    return {"window": {k: v for k, v in (("by", window), ("size", size)) if v}} if window or size else {}


def _roles(time_col, score_col, decision_col, label_col, key_col, id_col) -> dict[str, str]:
    return {role: col for role, col in (("time", time_col), ("score", score_col), ("decision", decision_col),
                                        ("label", label_col), ("key_id", key_col), ("prediction_id", id_col)) if col}


def _attrs(protected) -> dict:
    return dict(p.split("=", 1) if "=" in p else (p, None) for p in protected)


@monitor_group.command("create")
@click.argument("name")
@click.option("--deployment", help="Watch this deployment's prediction log (reference: the version's training "
                                   "profile and audit, re-derived by the registry).")
@click.option("--model", "model_ref", metavar="MODEL[:VERSION]", help="Link a file monitor to a registered model, "
                                                                       "so its alerts open incidents.")
@_source
@_db
def create_command(name, deployment, model_ref, data, reference, features, protected, time_col, score_col,
                   decision_col, label_col, key_col, id_col, tier, window, size, api_key, database_url, policy):
    """Create monitor NAME of a deployment (--deployment) or of a log file or folder (--data)."""
    from steward.cli._governance import local_actor

    attrs = _attrs(protected)
    ref = _reference_of(reference, features, attrs, score_col, decision_col, label_col)
    columns = _roles(time_col, score_col, decision_col, label_col, key_col, id_col)
    reg = _local(database_url, policy)
    try:
        actor = local_actor(reg, api_key, "monitor", command="`steward monitor create`")
        out = reg.create_monitor(name, actor=actor, deployment=deployment, data=str(data) if data else None,
                                 reference=ref, columns=columns, model=model_ref, tier=tier,
                                 protected=list(attrs), settings=_window_settings(window, size))
    finally:
        reg.close()
    Console().print(f"monitor {out['name']} created ({out['source']['kind']}; tier {out['tier'] or 'none'}; "
                    f"reference: {out['reference_source'] or 'given'})", highlight=False)


def _print_run(out: dict, console: Console) -> None:
    console.print(f"{out['monitor']}: {out['rows_read']:,} new rows; windows judged: "
                  f"{', '.join(out['windows_closed']) or 'none'}; open: {', '.join(out['windows_open']) or 'none'}"
                  + (f"; {out['late_rows']:,} late rows left out" if out["late_rows"] else ""), highlight=False)
    for a in out["alerts"]:
        value = "n/a" if a["value"] is None else f"{a['value']:.4g}"
        console.print(f"  ALERT [{a['severity']}] {a['window']} {a['signal']} {a['subject']}: {value} "
                      f"(threshold {a['threshold']})", highlight=False, markup=False)
    if out["incident_id"]:
        console.print(f"  incident {out['incident_id']}", highlight=False)
    if out["tripped"]:
        console.print(f"  kill switch pulled on {', '.join(out['tripped'])}", highlight=False)


@monitor_group.command("run")
@click.argument("name", required=False)
@click.option("--close-all", is_flag=True, help="Judge every window now, the latest too (a file read once).")
@click.option("--follow", is_flag=True, help="Keep going: run again every --every seconds until interrupted.")
@click.option("--every", type=click.FloatRange(0.1), default=60.0, show_default=True, help="Seconds between runs.")
@click.option("--runs", type=click.IntRange(1), help="With --follow, stop after this many runs.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_source
@_db
def run_command(name, close_all, follow, every, runs, fmt, data, reference, features, protected, time_col, score_col,
                decision_col, label_col, key_col, id_col, tier, window, size, api_key, database_url, policy):
    """Run monitor NAME: read what is new, judge complete windows, act on alerts; or, without NAME, monitor the
    log --data against --reference once, in memory (no registry: nothing stored, no incident). Exit 0 without
    alerts, 1 when this run raised one, 2 on bad input. Safe to schedule with cron: each run of a monitor reads
    only what is new."""
    if (name is None) == (data is None):
        raise DataValidationError("give a monitor's NAME, or --data PATH with --reference FILE for a one-off run")
    if data is not None:
        out = _run_once(data, reference, features, protected, time_col, score_col, decision_col, label_col, key_col,
                        id_col, tier, window, size, policy)
        click.echo(json.dumps(out, default=str)) if fmt == "json" else _print_run(out, Console())
        raise SystemExit(1 if out["alerts"] else 0)
    from steward.cli._governance import local_actor

    console = Console()
    reg = _local(database_url, policy)
    raised = False
    try:
        actor = local_actor(reg, api_key, "monitor", command="`steward monitor run`")
        n = 0
        while True:
            with stage(f"running monitor {name}"), Console(stderr=True).status(f"monitor {name}: reading") as status:
                def progress(what: str, rows: int) -> None:
                    status.update(f"monitor {name}: {what} {rows:,} rows")

                out = reg.run_monitor(name, actor=actor, close_all=close_all, on_progress=progress)
            raised = raised or bool(out["alerts"])
            if fmt == "json":
                click.echo(json.dumps(out))
            else:
                _print_run(out, console)
            n += 1
            if not follow or (runs and n >= runs):
                break
            time.sleep(every)
    finally:
        reg.close()
    raise SystemExit(1 if raised else 0)


def _run_once(data, reference, features, protected, time_col, score_col, decision_col, label_col, key_col, id_col,
              tier, window, size, policy) -> dict:
    """A one-off run over a log file or folder, in memory, every window judged."""
    from steward.audit.policy import load_policy
    from steward.monitoring import Monitor, Reference, load_monitor_settings
    from steward.monitoring._sources import log_files, read_log

    if reference is None:
        raise DataValidationError("--reference: a one-off run needs the reference data (training or validation rows)")
    files = log_files(data)
    ref = Reference.from_dict(_reference_of(reference, features, _attrs(protected), score_col, decision_col, label_col))
    pol = load_policy(policy or "default")
    t = pol.tier(tier) if tier else None
    settings = load_monitor_settings(t.monitor if t else {}, _window_settings(window, size))
    mon = Monitor(ref, settings, confidence=t.confidence if t else 0.95, min_group_size=t.min_group_size if t else 30)
    columns = _roles(time_col, score_col, decision_col, label_col, key_col, id_col)
    want = [*ref.features, *ref.protected]
    read = 0
    with stage(f"monitoring {data}"), Console(stderr=True).status("reading") as status:
        for f in files:
            for frame in read_log(f, want, columns):
                mon.add(frame)
                read += len(frame)
                status.update(f"reading {f.name}: {read:,} rows")
        closed = mon.close(sorted(mon.windows))
    return {"monitor": str(data), "rows_read": read, "windows_closed": [k for k, _ in closed], "windows_open": [],
            "late_rows": 0, "alerts": [{k: a[k] for k in ("window", "signal", "subject", "severity", "value",
                                                          "threshold")} for _, al in closed for a in al],
            "incident_id": None, "tripped": [],
            "windows": {k: mon.results[k] for k, _ in closed}}


@monitor_group.command("labels")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--id", "id_col", default="prediction_id", show_default=True, help="Column of the prediction id.")
@click.option("--label", "label_col", default="label", show_default=True, help="Column of the outcome (0/1).")
@_db
def labels_command(name, file, id_col, label_col, api_key, database_url, policy):
    """Give monitor NAME outcomes that arrived later (FILE: prediction id and label); the windows they fall in
    are judged again at the next run."""
    import pandas as pd

    from steward.cli._governance import local_actor
    from steward.cli._models import read_frame

    frame = read_frame(file, "labels file")
    for opt, col in (("--id", id_col), ("--label", label_col)):
        if col not in frame.columns:
            raise DataValidationError(f"{opt}: column {col!r} is not in {file.name}; its columns are: "
                                      f"{', '.join(map(str, frame.columns[:20]))}")
    lab = pd.to_numeric(frame[label_col], errors="coerce")
    bad = frame[~lab.isin([0, 1])]
    if len(bad):
        raise DataValidationError(f"--label: column {label_col!r} must hold 0 or 1; row {bad.index[0] + 2} holds "
                                  f"{bad[label_col].iloc[0]!r}")
    labels = dict(zip(frame[id_col].astype(str), lab.astype(int)))
    reg = _local(database_url, policy)
    try:
        actor = local_actor(reg, api_key, "monitor", command="`steward monitor labels`")
        out = reg.add_labels(name, labels, actor=actor)
    finally:
        reg.close()
    Console().print(f"{out['added']:,} labels added, {out['replaced']:,} replaced; run the monitor to judge them",
                    highlight=False)


@monitor_group.command("list")
@_db
def list_command(api_key, database_url, policy):
    """The monitors, their source and last run."""
    reg = _local(database_url, policy)
    try:
        rows = reg.monitors()
    finally:
        reg.close()
    console = Console()
    if not rows:
        console.print("no monitors yet: steward monitor create NAME --deployment DEPLOYMENT", highlight=False)
    for m in rows:
        console.print(f"{m['name']}  {m['deployment'] or m['source'].get('path')}  tier {m['tier'] or '-'}  "
                      f"last run {m['last_run_at'] or 'never'}", highlight=False, markup=False)


@monitor_group.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_db
def show_command(name, fmt, api_key, database_url, policy):
    """Monitor NAME's windows (rows, breaches) and alerts."""
    reg = _local(database_url, policy)
    try:
        m = reg.monitor(name)
    finally:
        reg.close()
    if fmt == "json":
        click.echo(json.dumps(m, default=str))
        return
    console = Console()
    for w in m["windows"]:
        breaches = [f"{s['signal']}:{s['subject']}" for s in (w["result"] or {}).get("signals", []) if s["breach"]]
        console.print(f"{w['key']}  {w['rows']:,} rows  {'closed' if w['closed'] else 'open'}  "
                      f"{', '.join(breaches) or 'no breach'}", highlight=False, markup=False)
    for a in m["alerts"]:
        ack = (f"acknowledged by {a['acknowledged_by']} at {(a['acknowledged_at'] or '')[:16].replace('T', ' ')}: "
               f"{a['acknowledged_note']}" if a.get("acknowledged_at") else "not acknowledged")
        console.print(f"alert {a['id']} [{a['severity']}] {a['window']} {a['signal']} {a['subject']} "
                      f"incident {a['incident_id'] or '-'}{' TRIPPED ' + a['tripped'] if a['tripped'] else ''}; {ack}",
                      highlight=False, markup=False)


@monitor_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--note", required=True, help="What is being done about the alert.")
@_db
def ack_command(alert_id, note, api_key, database_url, policy):
    """Acknowledge alert ALERT_ID (as `steward monitor show NAME` lists it), saying what is being done; until
    then the standards count the model's monitoring as falling short."""
    from steward.cli._governance import local_actor

    reg = _local(database_url, policy)
    try:
        actor = local_actor(reg, api_key, "acknowledge", command="`steward monitor ack`")
        a = reg.acknowledge_alert(alert_id, actor=actor, note=note)
    finally:
        reg.close()
    Console().print(f"alert {a['id']} ({a['signal']} {a['subject']}, window {a['window']}) acknowledged by "
                    f"{a['acknowledged_by']}: {a['acknowledged_note']}", highlight=False, markup=False)


def register_commands(cli: click.Group) -> None:
    from steward.cli._monitor_report import register as _register_report

    _register_report(monitor_group)
    cli.add_command(monitor_group)
