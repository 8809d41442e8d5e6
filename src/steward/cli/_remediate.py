"""`steward remediate METHOD TRAIN --test HELDOUT ...` and `steward select TRAIN ...`: a fix with its
before/after evidence, and fairness-aware model selection."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._models import parse_features
from steward.cli._stages import stage
from steward.errors import RoleError

__all__ = ["register_commands"]


def _protected(values: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for v in values:
        col, _, ref = v.partition("=")
        out[col.strip()] = ref.strip() or None
    if not out:
        raise RoleError("name the protected attribute: --protected sex=Male (the first one is remediated)")
    return out


def register_commands(cli: click.Group) -> None:
    from steward.audit._remediation import METHODS
    from steward.remediate._methods import CONSTRAINTS

    @cli.command("remediate")
    @click.argument("method", type=click.Choice(METHODS))
    @click.argument("train", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--test", "test", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Held-out rows both models are audited on.")
    @click.option("--label", required=True, help="Column with the observed outcome.")
    @click.option("--positive-label", help="Label value that counts as 1, when the label is not 0/1.")
    @click.option("--features", "features", multiple=True, required=True, metavar="A,B,C",
                  help="Feature columns (protected attributes are dropped from them).")
    @click.option("--protected", "protected", multiple=True, metavar="COL[=REFERENCE]",
                  help="Protected attribute and reference group; the first is remediated, all are audited.")
    @click.option("--favourable", type=click.Choice(["0", "1"]), default="1", show_default=True)
    @click.option("--threshold", type=float, default=0.5, show_default=True)
    @click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
                  help="The original model file [default: a LightGBM model trained on TRAIN].")
    @click.option("--policy", default="default", show_default=True, help="Policy file, or 'default'.")
    @click.option("--tier", default="high", show_default=True, help="The policy tier to judge both models by.")
    @click.option("--repair-level", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                  help="disparate_impact_remover: 0 changes nothing, 1 makes the groups' distributions equal.")
    @click.option("--constraint", type=click.Choice(CONSTRAINTS), help="reductions/thresholds: the fairness "
                  "constraint [default: from the policy tier].")
    @click.option("--band", type=click.FloatRange(0, 0.5, max_open=True), default=0.05, show_default=True,
                  help="reject_option: scores this close to the threshold go to human review.")
    @click.option("--tolerance", type=click.FloatRange(0), default=0.01, show_default=True,
                  help="selection: AUC a candidate may lose against the most accurate.")
    @click.option("--card-info", "card_info", type=click.Path(dir_okay=False, path_type=Path),
                  help="YAML of what the model card cannot derive (owner, intended use, ...; `steward init` writes "
                       "one): a policy that requires a filled-in card can pass only with it.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("steward-remediate"), show_default=True)
    def remediate_command(method, train, test, label, positive_label, features, protected, favourable, threshold,
                          model, policy, tier, repair_level, constraint, band, tolerance, card_info, out_dir):
        """Remediate with METHOD on TRAIN; audit the original and the remediated model on --test.

        Exit 0 when the remediated model passes the policy, 1 when it fails, 2 on bad input.
        """
        from steward.cli._models import read_frame
        from steward.cli import _progress
        from steward.cli._models import _write
        from steward.audit._remediation import remediate

        prot = _protected(protected)
        feats = parse_features(features)
        console = Console()
        with stage("reading the data"):
            train_frame, test_frame = read_frame(train, "training data"), read_frame(test, "held-out data")
        with warnings.catch_warnings(), _progress(Console(stderr=True), True) as on_progress, \
                stage(f"remediating with {method} and auditing both models"):
            warnings.simplefilter("ignore")
            rep = remediate(method, train_frame, test_frame,
                            label=label, features=feats, protected=prot, positive_label=positive_label,
                            favourable=int(favourable), threshold=threshold, model=model, policy=policy, tier=tier,
                            repair_level=repair_level, constraint=constraint, band=band, tolerance=tolerance,
                            card_info=card_info,
                            on_progress=on_progress)
        t = Table(title=f"Before and after {method}")
        for c in ("group", "AIR before", "AIR after", "favourable before", "favourable after", "outcome"):
            t.add_column(c, justify="left" if c in ("group", "outcome") else "right")
        for r in rep.groups.itertuples():
            t.add_row(escape(f"{r.attribute}={r.group}"), f"{r.adverse_impact_ratio_before:.3f}",
                      f"{r.adverse_impact_ratio_after:.3f}", f"{r.favourable_rate_before:.3f}",
                      f"{r.favourable_rate_after:.3f}", escape(str(r.outcome)))
        console.print(t)
        for q in rep.quality.itertuples():
            console.print(f"{q.model}: AUC {q.auc:.4f}, accuracy {q.accuracy:.4f} on {q.rows:,} rows")
        if rep.description.get("uses_protected_at_decision"):
            console.print("[yellow]The remediated model uses the protected attribute at decision time[/yellow], "
                          "which can be unlawful in regulated settings.")
        if rep.review:
            console.print(f"{rep.review['to_review']:,} decisions ({rep.review['share_to_review']:.1%}) go to human "
                          f"review instead.")
        said = {True: "passes", False: "FAILS", None: "not judged"}
        console.print(f"Policy before: {said[rep.verdict['before']]}; after: {said[rep.verdict['after']]}.")
        with stage("writing the report"):
            page = _write(out_dir, "remediation", rep.to_dict(), rep.html(),
                          f"Remediation: {method}")
        console.print(f"Report: {page} (JSON beside it)", markup=False)
        if rep.verdict["after"] is False:
            sys.exit(1)

    @cli.command("select")
    @click.argument("train", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--label", required=True)
    @click.option("--positive-label")
    @click.option("--features", "features", multiple=True, required=True, metavar="A,B,C")
    @click.option("--protected", required=True, metavar="COL[=REFERENCE]")
    @click.option("--favourable", type=click.Choice(["0", "1"]), default="1", show_default=True)
    @click.option("--candidates", type=click.IntRange(min=1), default=20, show_default=True,
                  help="How many LightGBM settings to try.")
    @click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
    @click.option("--tolerance", type=click.FloatRange(0), default=0.01, show_default=True)
    @click.option("--jobs", type=click.IntRange(min=1), help="Processes [default: every core].")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("steward-select"), show_default=True,
                  help="Folder for the report and the chosen model (model.txt, LightGBM text).")
    def select_command(train, label, positive_label, features, protected, favourable, candidates, folds, tolerance,
                       jobs, out_dir):
        """Fairness-aware model selection: the least discriminatory candidate within --tolerance AUC of the best.

        The chosen candidate, refitted on all of TRAIN, is saved in --out as model.txt (LightGBM text), which
        every command reads with --model.
        """
        from steward.cli._models import read_frame
        from steward.cli import _progress
        from steward.cli._models import _write
        from steward.remediate import default_candidates, select_model

        (attr, ref), = _protected((protected,)).items()
        console = Console()
        with stage("reading the training data"):
            train_frame = read_frame(train, "training data")
        with warnings.catch_warnings(), _progress(Console(stderr=True), True) as on_progress, \
                stage("cross-validating the candidate models"):
            warnings.simplefilter("ignore")
            sel = select_model(train_frame, label=label, features=parse_features(features),
                               protected=attr, reference=ref, positive_label=positive_label,
                               candidates=default_candidates(candidates), folds=folds, tolerance=tolerance,
                               favourable=int(favourable), n_jobs=jobs, on_progress=on_progress)
        t = Table(title=f"Candidates ({folds}-fold cross-validation, {sel.n_jobs} processes, {sel.seconds:.1f} s)")
        for c in ("#", "AUC", "accuracy", "lowest AIR", "FPR ratio", "FNR ratio", "Pareto", "chosen"):
            t.add_column(c, justify="right")
        for r in sel.table.sort_values("auc", ascending=False).itertuples():
            t.add_row(str(r.candidate), f"{r.auc:.4f}", f"{r.accuracy:.4f}", f"{r.air_min:.3f}",
                      f"{r.fpr_ratio_max:.2f}", f"{r.fnr_ratio_max:.2f}", "yes" if r.pareto else "",
                      "<-" if r.chosen else "")
        console.print(t)
        best, chosen = sel.table.loc[sel.most_accurate], sel.table.loc[sel.chosen]
        console.print(f"Chosen: candidate {sel.chosen} (AUC {chosen.auc:.4f}, lowest AIR {chosen.air_min:.3f}) "
                      f"against the most accurate, {sel.most_accurate} (AUC {best.auc:.4f}, lowest AIR "
                      f"{best.air_min:.3f}); its settings: {chosen.params}", markup=False)
        with stage("writing the report"):
            page = _write(out_dir, "selection", sel.to_dict(), sel.html(),
                          "Fairness-aware model selection")
        with stage("saving the chosen model"):
            from steward.models import save_model

            saved = save_model(sel.model, out_dir / "model.txt")
        console.print(f"Report: {page} (JSON beside it)", markup=False)
        console.print(f"Model: {saved} (candidate {sel.chosen} refitted on all {len(train_frame):,} rows; use it "
                      f"with --model {saved} --features {','.join(sel.features or [])})", markup=False)
