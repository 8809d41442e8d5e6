"""`steward slices` and `steward compare`, and the model options `steward audit` shares with them."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from steward.cli._console import Console
from rich.markup import escape
from rich.table import Table

from steward.cli._stages import stage
from steward.errors import RoleError, StewardError

__all__ = ["model_options", "parse_features", "print_analyses", "read_frame", "register_commands"]


def parse_features(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values:
        out += [f.strip() for f in v.split(",") if f.strip()]
    return list(dict.fromkeys(out))


def read_frame(data: Path, what: str = "data"):
    """The data as a DataFrame (the audit's reader), saying on stderr what was done to it as read
    (identical duplicate columns dropped...)."""
    from steward.audit._analyses import read_frame as read

    frame = read(data, what)
    for note in frame.attrs.get("notes", []):
        Console(stderr=True).print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    return frame


def model_options(fn):
    """--model, --features, --trust-pickle, --model-sha256, --trust-type (shared by audit/slices/compare)."""
    for opt in reversed([
        click.option("--model", "model", type=click.Path(dir_okay=False, path_type=Path),
                     help="Score the data with this model file (.skops, LightGBM .txt, XGBoost .json/.ubj, .onnx; "
                          ".pkl/.joblib only with --trust-pickle)."),
        click.option("--features", "features", multiple=True, metavar="A,B,C",
                     help="Feature columns (the model's inputs; the columns slices are searched over)."),
        click.option("--trust-pickle", is_flag=True,
                     help="Allow pickle/joblib model files: loading them runs any code they contain."),
        click.option("--model-sha256", metavar="HEX", help="Refuse the model file unless its SHA-256 is this."),
        click.option("--trust-type", "trust_types", multiple=True, metavar="NAME",
                     help="A type a .skops file may contain beyond skops' defaults (repeat)."),
    ]):
        fn = opt(fn)
    return fn


def print_analyses(result_analyses: dict, console: Console) -> None:
    s = result_analyses.get("slices")
    if s is not None and len(s):
        t = Table(title=f"Slices where the model is most often wrong (overall error {s.mean_error:.1%})")
        for col in ("slice", "rows", "error", "rest", "ratio"):
            t.add_column(col, justify="left" if col == "slice" else "right")
        for r in s.table.head(10).itertuples():
            t.add_row(escape(str(r.slice)), f"{r.size:,}", f"{r.error_rate:.1%}", f"{r.rest_error_rate:.1%}", f"{r.error_ratio:.2f}")
        console.print(t)
    c = result_analyses.get("benchmark") or result_analyses.get("comparison")
    if c is not None:
        t = Table(title=escape(f"Model vs {c.reference_name} ({c.rows:,} rows)"))
        for col in ("metric", "model", c.reference_kind, "difference", "interval", "better"):
            t.add_column(col, justify="right")
        for r in c.metrics[c.metrics["scope"] == "all"].itertuples():
            t.add_row(escape(str(r.metric)), f"{r.model:.4f}", f"{r.reference:.4f}", f"{r.difference:+.4f}",
                      f"{r.difference_ci_low:+.4f} to {r.difference_ci_high:+.4f}",
                      "too few rows" if r.better is None else ("yes" if r.better else "no"))
        console.print(t)
    r = result_analyses.get("residuals")
    if r is not None:
        console.print(f"Residuals: the worst 1% of rows carry {r.worst_share['top_1pct']:.1%} of the {r.loss}.")
    ch = result_analyses.get("churn")
    if ch is not None:
        console.print(f"Churn: {ch.overall:.1%} of decisions flip against the previous version.")
    e = result_analyses.get("explanations")
    if e is not None:
        top = ", ".join(map(str, e.shapley.importance().index[:3]))
        text = f"Explanations: the most important features are {top}"
        if e.reasons is not None:
            text += f"; reason codes for {int(e.reasons.rows['adverse'].sum()):,} adverse decisions"
        if e.monotonicity is not None:
            text += "; declared monotonicity " + ("holds" if e.monotonicity.holds else "is VIOLATED")
        console.print(text + ".", markup=False)
    elif result_analyses.get("explanations_skipped"):
        console.print(f"Explanations skipped: {result_analyses['explanations_skipped']}", markup=False)


def _frame_and_errors(data, label, positive_label, prediction, score, threshold, model, features, trust_pickle,
                      model_sha256, trust_types):
    """The rows, 0/1 labels and decisions, and the model's scores when a model is given."""
    import numpy as np

    from steward.audit._analyses import load_any_model
    from steward.engine._columns import binary_array, numeric_array

    frame = read_frame(data)
    if label not in frame.columns:
        raise RoleError(f"label column {label!r} is not in the data; the columns are: {', '.join(map(str, frame.columns))}")
    y = binary_array(frame[label], column=label, role="label", positive=positive_label).astype(int)
    sc = m = None
    if model is not None:
        if prediction or score:
            raise RoleError("give either --model or --prediction/--score, not both")
        if not features:
            raise RoleError("a model needs its input columns: give --features a,b,c")
        m = load_any_model(model, trust_pickle=trust_pickle, sha256=model_sha256, trusted_types=trust_types,
                           features=features)
        sc = m.score(frame)
        decision = (sc >= (0.5 if threshold is None else threshold)).astype(int)
    elif prediction:
        decision = binary_array(frame[prediction], column=prediction, role="prediction", positive=positive_label).astype(int)
    elif score and threshold is not None:
        sc = numeric_array(frame[score], column=score, role="score")
        decision = (sc >= threshold).astype(int)
    else:
        raise RoleError("say what the decisions are: --model FILE, --prediction COL, or --score COL with --threshold T")
    return frame, y, decision, (None if sc is None else np.asarray(sc, float)), m


def _write(out_dir: Path, name: str, payload: dict, html_body: str, title: str) -> Path:
    from steward._html import page as html_page
    from steward.audit._result import _write_atomic

    page = html_page(title, html_body, kind=name.replace("_", " "))
    with cannot_write(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(out_dir / f"{name}.json", json.dumps(payload, indent=2, allow_nan=False, default=str))
        _write_atomic(out_dir / f"{name}.html", page)
    return out_dir / f"{name}.html"


@contextmanager
def cannot_write(target: Path) -> Iterator[None]:
    """A folder that cannot be written (read-only, a file in the way, a full disk) is the user's to fix: exit 2."""
    try:
        yield
    except OSError as exc:
        raise StewardError(f"cannot write to {str(exc.filename or target)!r}: {exc.strerror or exc}") from None


def register_commands(cli: click.Group) -> None:
    @cli.command("slices")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--label", required=True, help="Column with the observed outcome.")
    @click.option("--positive-label", help="Label value that counts as 1, when the label is not 0/1.")
    @click.option("--prediction", help="Column with the 0/1 decision.")
    @click.option("--score", help="Column with a score (with --threshold).")
    @click.option("--threshold", type=float, help="Decision is 1 when score >= threshold (default 0.5 with --model).")
    @click.option("--loss", type=click.Choice(["misclassification", "log_loss", "brier"]), default="misclassification",
                  show_default=True, help="Per-row error to slice on (log_loss/brier need a probability score).")
    @click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many slices.")
    @click.option("--max-level", type=click.IntRange(min=1), default=3, show_default=True, help="Most predicates per slice.")
    @click.option("--alpha", type=click.FloatRange(0, 1, min_open=True), default=0.95, show_default=True,
                  help="Weight of the error term against the size term.")
    @click.option("--min-support", type=click.IntRange(min=1), default=32, show_default=True, help="Fewest rows per slice.")
    @click.option("--bins", type=click.IntRange(min=2), default=10, show_default=True, help="Bins per number.")
    @click.option("--binning", type=click.Choice(["quantile", "uniform"]), default="quantile", show_default=True)
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("steward-slices"),
                  show_default=True)
    @model_options
    def slices_command(data, label, positive_label, prediction, score, threshold, loss, k, max_level, alpha,
                       min_support, bins, binning, out_dir, model, features, trust_pickle, model_sha256, trust_types):
        """Find the slices of DATA (conjunctions of feature values) where the model is most often wrong."""
        from steward.cli import _progress
        from steward.debug import row_loss
        from steward.slices import find_slices

        feats = parse_features(features)
        if not feats:
            raise RoleError("give the feature columns to slice on: --features a,b,c")
        with stage("reading the data and scoring it"):
            frame, y, decision, sc, m = _frame_and_errors(data, label, positive_label, prediction, score, threshold,
                                                          model, feats, trust_pickle, model_sha256, trust_types)
        if loss == "misclassification":
            errors = (decision != y).astype(float)
        elif sc is None:
            raise RoleError(f"--loss {loss} needs probability scores: give --model or --score")
        else:
            errors = row_loss(y, sc, loss)
        console = Console()
        with _progress(Console(stderr=True), True) as on_progress, stage("searching for slices"):
            rep = find_slices(frame, errors, features=feats, k=k, max_level=max_level, alpha=alpha,
                              min_support=min_support, bins=bins, binning=binning, on_progress=on_progress)
        print_analyses({"slices": rep}, console)
        if not len(rep):
            console.print("No slice scores above 0: no subgroup is clearly worse than the rest at these settings.")
        with stage("writing the report"):
            payload = {**rep.to_dict(), "model": None if m is None else m.describe(), "loss": loss}
            html_body = rep.html()
            page = _write(out_dir, "slices", payload, html_body, "Slices where the model does worst")
            with cannot_write(out_dir):
                rep.to_frame().to_csv(out_dir / "slices.csv", index=False)
        console.print(f"Slices: {page} (JSON and CSV beside it)", markup=False)

    @cli.command("compare")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--label", required=True, help="Column with the observed outcome.")
    @click.option("--positive-label", help="Label value that counts as 1, when the label is not 0/1.")
    @click.option("--protected", "protected", multiple=True, metavar="COL", help="Compare per group of this column too.")
    @click.option("--threshold", type=float, default=0.5, show_default=True, help="Decision is 1 when score >= threshold.")
    @click.option("--train", type=click.Path(dir_okay=False, path_type=Path),
                  help="Training data for a transparent benchmark model.")
    @click.option("--benchmark", type=click.Choice(["logistic", "tree", "ebm", "monotone_lightgbm"]), default="logistic",
                  show_default=True)
    @click.option("--monotone", type=click.Path(dir_okay=False, path_type=Path),
                  help="With --benchmark monotone_lightgbm: YAML of feature: increasing|decreasing.")
    @click.option("--previous", type=click.Path(dir_okay=False, path_type=Path),
                  help="The previous version's model file: compare with it instead, and report churn.")
    @click.option("--draws", type=click.IntRange(min=50), default=500, show_default=True, help="Bootstrap resamples.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("steward-compare"),
                  show_default=True)
    @model_options
    def compare_command(data, label, positive_label, protected, threshold, train, benchmark, monotone, previous, draws,
                        out_dir, model, features, trust_pickle, model_sha256, trust_types):
        """Compare the model with a transparent benchmark (--train) or its previous version (--previous) on DATA."""
        from steward.audit._analyses import load_any_model
        from steward.cli import _progress
        from steward.debug import compare_models, prediction_churn, train_benchmark

        feats = parse_features(features)
        if model is None:
            raise RoleError("give the model to compare: --model FILE")
        if (train is None) == (previous is None):
            raise RoleError("compare with one thing: --train FILE (a benchmark trained on it) or --previous FILE")
        if not feats:
            raise RoleError("give the model's input columns: --features a,b,c")
        load = dict(trust_pickle=trust_pickle, trusted_types=trust_types, features=feats)
        with stage("loading the model"):
            m = load_any_model(model, sha256=model_sha256, **load)
        with stage("reading the data"):
            frame = read_frame(data)
        console = Console()
        with warnings.catch_warnings(), _progress(Console(stderr=True), True) as on_progress:
            warnings.simplefilter("ignore")
            if train is not None:
                on_progress("training", 0.0)
                with stage("training the benchmark model"):
                    ref = train_benchmark(read_frame(train, "training data"), label=label, features=feats,
                                          kind=benchmark, positive_label=positive_label, constraints=monotone)
                name, kind = f"{benchmark} benchmark", "benchmark"
            else:
                with stage("loading the previous model"):
                    ref = load_any_model(previous, **load)
                name, kind = "previous version", "previous"
            with stage("comparing the models"):
                cmp = compare_models(m, ref, frame, label=label, positive_label=positive_label, protected=list(protected),
                                     threshold=threshold, reference_name=name, reference_kind=kind, draws=draws,
                                     slice_features=feats, on_progress=on_progress)
        out = {"comparison": cmp}
        payload = {"model": m.describe(), "reference": ref.describe(), **cmp.to_dict()}
        html_body = cmp.html()
        if previous is not None:
            with stage("measuring prediction churn"):
                churn = prediction_churn(m.predict(frame, threshold), ref.predict(frame, threshold), data=frame,
                                         protected=list(protected))
            out["churn"] = churn
            payload["churn"] = churn.to_dict()
            html_body += "<h2>Prediction churn</h2>" + churn.html(3)
        print_analyses(out, console)
        with stage("writing the report"):
            page = _write(out_dir, "compare", payload, html_body, f"Model vs {name}")
        console.print(f"Comparison: {page} (JSON beside it)", markup=False)
