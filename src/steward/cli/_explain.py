"""`steward explain`: reason codes per row (CSV or JSON) and a report of global explanations."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._models import cannot_write, model_options, parse_features
from steward.cli._stages import stage
from steward.errors import DataValidationError, RoleError

__all__ = ["register_commands"]


def _write_rows(codes, out: Path) -> None:
    from steward.audit._result import _write_atomic

    with cannot_write(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".json":
            payload = {k: v for k, v in codes.to_dict(max_rows=None).items()}
            _write_atomic(out, json.dumps(payload, indent=1, allow_nan=False, default=str))
        else:
            _write_atomic(out, codes.to_frame().rename_axis("row").to_csv())


def register_commands(cli: click.Group) -> None:
    @cli.command("explain")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--reasons", type=click.Path(dir_okay=False, path_type=Path),
                  help="YAML of plain-language reasons per feature (and never_cite, adverse); without it no reason "
                       "codes are written.")
    @click.option("-k", "k", type=click.IntRange(min=1), default=4, show_default=True, help="Reasons per decision.")
    @click.option("--threshold", type=float, default=0.5, show_default=True, help="Decision threshold on the score.")
    @click.option("--adverse", type=click.Choice(["high", "low"]), help="Which end of the score is adverse "
                                                                          "[default: the reasons file's, else high].")
    @click.option("--never-cite", "never_cite", multiple=True, metavar="COL",
                  help="A protected attribute or flagged proxy that must never be cited (repeat).")
    @click.option("--all-rows", is_flag=True, help="Give reasons for favourable decisions too.")
    @click.option("--space", type=click.Choice(["auto", "log_odds", "probability"]), default="auto", show_default=True,
                  help="What the contributions add up to.")
    @click.option("--label", help="Column with the observed outcome: adds permutation importance.")
    @click.option("--positive-label", help="Label value that counts as 1, when the label is not 0/1.")
    @click.option("--effects", "effect_features", multiple=True, metavar="A,B",
                  help="Features for partial dependence, ICE and ALE [default: the 3 most important].")
    @click.option("--by", metavar="COL", help="Draw the effect curves per group of this column too.")
    @click.option("--monotone", type=click.Path(dir_okay=False, path_type=Path),
                  help="YAML of declared directions (feature: increasing|decreasing); exit 1 when one is violated.")
    @click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Per-row reason codes: .csv or .json [default: REPORT/reasons.csv].")
    @click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("steward-explain"), show_default=True, help="Folder for explain.html and explain.json.")
    @model_options
    def explain_command(data, reasons, k, threshold, adverse, never_cite, all_rows, space, label, positive_label,
                        effect_features, by, monotone, out_file, report_dir, model, features, trust_pickle,
                        model_sha256, trust_types):
        """Explain the model's decisions on DATA: reason codes per row and a report of global explanations."""
        from steward._html import number
        from steward.audit._analyses import load_any_model
        from steward.cli._models import read_frame
        from steward.cli import _progress
        from steward.cli._models import _write
        from steward.engine._columns import binary_array
        from steward.explain._report import explain_model

        if model is None:
            raise RoleError("give the model to explain: --model FILE")
        if out_file is not None and out_file.suffix.lower() not in (".csv", ".json"):
            raise DataValidationError(f"--out {out_file}: give a .csv or .json file name")
        feats = parse_features(features)
        with stage("loading the model"):
            m = load_any_model(model, trust_pickle=trust_pickle, sha256=model_sha256, trusted_types=trust_types,
                               features=feats or None)
        with stage("reading the data"):
            frame = read_frame(data)
        y = None
        if label is not None:
            if label not in frame.columns:
                raise RoleError(f"label column {label!r} is not in the data; the columns are: "
                                f"{', '.join(map(str, frame.columns))}")
            y = binary_array(frame[label], column=label, role="label", positive=positive_label).astype(int)
        console = Console()
        with warnings.catch_warnings(), _progress(Console(stderr=True), True) as on_progress, \
                stage("explaining the model's decisions"):
            warnings.simplefilter("ignore")
            result = explain_model(m, frame, reasons=reasons, k=k, threshold=threshold, adverse=adverse,
                                   never_cite=list(never_cite), all_rows=all_rows, label=y,
                                   effect_features=parse_features(effect_features) or None, by=by,
                                   monotone=monotone, space=space, on_progress=on_progress)
        sv = result.shapley
        t = Table(title=escape(f"Most important features ({sv.method}; {sv.space})"))
        t.add_column("feature")
        t.add_column("mean |contribution|", justify="right")
        for name, v in sv.importance().head(10).items():
            t.add_row(escape(str(name)), number(v))
        console.print(t)
        if result.reasons is not None:
            codes = result.reasons
            target = out_file or report_dir / "reasons.csv"
            with stage("writing the reason codes"):
                _write_rows(codes, target)
            console.print(f"Reason codes for {int(codes.rows['adverse'].sum()):,} adverse decisions of "
                          f"{len(codes.rows):,} rows: {target}", markup=False)
        with stage("writing the report"):
            page = _write(report_dir, "explain", result.to_dict(), result.html(), "Explanations of the model")
        console.print(f"Report: {page} (JSON beside it)", markup=False)
        if result.monotonicity is not None and not result.monotonicity.holds:
            bad = result.monotonicity.violations()
            for rec in bad.itertuples():
                console.print(f"[red]Monotonicity violated:[/red] {escape(str(rec.feature))} should be {rec.direction}, but "
                              f"{rec.violating_rows:,} of {rec.rows:,} rows move the other way (worst step {number(rec.worst)}).")
            sys.exit(1)
