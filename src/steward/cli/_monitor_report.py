"""``steward monitor report NAME --out FILE.html``: a monitor's windows, signals and alerts as one HTML file
that works offline (charts inline, nothing fetched), and with ``--json`` what the registry holds of it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from steward.cli._monitor import _db, _local
from steward.cli._stages import stage
from steward.errors import StewardError

__all__ = ["register", "report"]


def _folder(path: Path, option: str) -> None:
    parent = path.expanduser().resolve().parent
    if not parent.is_dir():
        raise StewardError(f"{option}: folder {str(path.parent)!r} does not exist; create it or write elsewhere")
    if path.is_dir():
        raise StewardError(f"{option}: {str(path)!r} is a folder; give a file name")


def _write(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StewardError(f"{option}: cannot write {str(path)!r}: {exc.strerror or exc}") from None


@click.command("report")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), metavar="FILE.html",
              help="Write the report here: one HTML file, charts inline, that works with the network off.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), metavar="FILE.json",
              help="Also write the monitor as the registry holds it (windows with their signals, alerts).")
@_db
def report(name, out, json_out, api_key, database_url, policy):
    """Monitor NAME as an HTML report: per signal and subject, its value window by window against the
    threshold, with the alerts, their incidents and kill-switch trips."""
    from steward.monitoring._report import monitor_report_html

    _folder(out, "--out")
    if json_out is not None:
        _folder(json_out, "--json")
    reg = _local(database_url, policy)
    try:
        m = reg.monitor(name)
    finally:
        reg.close()
    with stage("writing the monitor report"):
        html = monitor_report_html(m)
    _write(out, html, "--out")
    click.echo(f"wrote {out}")
    if json_out is not None:
        _write(json_out, json.dumps(m, default=str, indent=1), "--json")
        click.echo(f"wrote {json_out}")


def register(group: click.Group) -> None:
    group.add_command(report)
