"""`steward probe privacy|extraction|pii|reidentification|private-training`: the privacy and security probes.

Each writes NAME.json and NAME.html into --out and exits 1 when its threshold is breached, 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path

import click

from steward.cli._console import Console
from steward.cli._models import model_options, parse_features
from steward.cli._stages import stage
from steward.errors import DataValidationError, RoleError

__all__ = ["register_privacy"]


def _list(values: tuple[str, ...] | str | None) -> list[str]:
    if not values:
        return []
    items = values if isinstance(values, tuple) else (values,)
    return [p.strip() for v in items for p in v.split(",") if p.strip()]


def _numbers(text: str, option: str, kind: type = float) -> list:
    try:
        out = [kind(p) for p in _list(text)]
    except ValueError:
        raise DataValidationError(f"{option} {text!r}: write numbers separated by commas, e.g. {option} "
                                  + ("100,1000,10000" if kind is int else "0.5,1,4,8")) from None
    if not out:
        raise DataValidationError(f"{option}: give at least one number")
    return out


def _seed(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise DataValidationError(f"--seed {text!r}: give a whole number, or 'none' for noise nobody can repeat") from None


def _bounds(values: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    out = {}
    for v in values:
        col, _, span = v.partition("=")
        lo, _, hi = span.partition(":")
        try:
            out[col.strip()] = (float(lo), float(hi))
        except ValueError:
            raise DataValidationError(f"--bounds {v!r}: write COL=LOW:HIGH with two numbers, e.g. --bounds "
                                      f"age=17:90") from None
    return out


def _out_option(fn):
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("steward-probe"), show_default=True)(fn)


def register_privacy(probe: click.Group) -> None:
    from steward.cli._probe import _finish, _load, _protected, _table

    @probe.command("privacy")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @model_options
    @click.option("--train", type=click.Path(dir_okay=False, path_type=Path),
                  help="The rows the model was trained on, with the label (membership inference needs them).")
    @click.option("--label", required=True, help="The label column (in DATA and --train).")
    @click.option("--positive-label", help="The label's favourable value [default: the larger of two].")
    @click.option("--protected", "protected", multiple=True, metavar="COL", help="Protected attribute (repeat).")
    @click.option("--max-advantage", type=click.FloatRange(0, 1), default=0.10, show_default=True,
                  help="Exit 1 when a membership attack's advantage exceeds this (overall or in a group).")
    @click.option("--max-attribute-advantage", type=click.FloatRange(0, 1), default=0.05, show_default=True,
                  help="Exit 1 when the model raises the guessing of a protected attribute by more than this.")
    @click.option("--seed", type=int, default=0, show_default=True)
    @_out_option
    def privacy(data, model, features, trust_pickle, model_sha256, trust_types, train, label, positive_label,
                protected, max_advantage, max_attribute_advantage, seed, out_dir):
        """Membership inference (DATA as unseen rows, --train as members) and attribute inference on DATA."""
        from steward.audit._analyses import read_frame
        from steward.cli import _progress
        from steward.privacy import attribute_inference, membership_inference

        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=True)
        prot = list(_protected(protected)) if protected else []
        console = Console()
        payload, html, breach = {}, "", False
        if train is not None:
            with stage("reading the training data"):
                members = read_frame(train, f"training data {str(train)!r}")
            with _progress(Console(stderr=True), True) as on_progress, stage("attacking membership"):
                rep = membership_inference(m, members, frame, label=label, protected=prot,
                                           positive_label=positive_label, max_advantage=max_advantage, seed=seed,
                                           on_progress=on_progress)
            console.print(_table("Membership inference (members: --train; non-members: DATA)", rep.attacks,
                                 ["attack", "auc", "auc_low", "auc_high", "advantage", "tpr", "fpr", "seconds"]))
            judged = rep.groups[rep.groups["judged"] & (rep.groups["attack"] == rep.strongest()["attack"])]
            breach |= bool(rep.strongest()["advantage"] > max_advantage or (judged["advantage"] > max_advantage).any())
            payload["membership_inference"] = rep.to_dict()
            html += "<h2>Membership inference</h2>" + rep.html(3)
        else:
            console.print("Membership inference not run: give the training data with --train.", markup=False)
        if prot:
            feats = [f for f in (parse_features(features) or list(m.features or [])) if f not in prot]
            with stage("attacking the protected attributes"):
                rep2 = attribute_inference(m, frame, attributes=prot, features=feats, seed=seed,
                                           max_advantage=max_attribute_advantage)
            console.print(_table("Attribute inference", rep2.table,
                                 ["attribute", "majority", "baseline", "attack", "advantage", "advantage_low",
                                  "advantage_high"]))
            breach |= bool((rep2.table["advantage"] > max_attribute_advantage).any())
            payload["attribute_inference"] = rep2.to_dict()
            html += "<h2>Attribute inference</h2>" + rep2.html(3)
        if not payload:
            raise RoleError("nothing to attack: give --train (membership inference) or --protected (attribute "
                            "inference)")
        _finish(console, out_dir, "privacy", payload, html, "Privacy probes", breach)

    @probe.command("extraction")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @model_options
    @click.option("--train", type=click.Path(dir_okay=False, path_type=Path),
                  help="Rows whose profile the attacker's queries are drawn from [default: DATA's].")
    @click.option("--budgets", default="100,1000,10000", show_default=True, help="Query budgets, growing.")
    @click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
    @click.option("--rate", type=click.FloatRange(0, min_open=True),
                  help="Queries per second one caller key may send (a deployment's throttle rate).")
    @click.option("--burst", type=click.FloatRange(0), help="The throttle's burst.")
    @click.option("--agreement", type=click.FloatRange(0, 1, min_open=True), default=0.95, show_default=True,
                  help="A copy agreeing this often with the model's decisions counts as a copy.")
    @click.option("--min-hours", type=click.FloatRange(0), default=24.0, show_default=True,
                  help="Exit 1 when copying takes one key less than this at --rate (or when no --rate limits it).")
    @click.option("--threshold", type=float, default=0.5, show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @_out_option
    def extraction(data, model, features, trust_pickle, model_sha256, trust_types, train, budgets, repeats, rate,
                   burst, agreement, min_hours, threshold, seed, out_dir):
        """How many queries copy the model (DATA: held-out rows the copies are judged on)."""
        from steward.audit._analyses import read_frame
        from steward.cli import _progress
        from steward.privacy import extraction_probe
        from steward.serving._profile import build_profile

        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=True)
        source = frame if train is None else read_frame(train, f"training data {str(train)!r}")
        feats = list(m.features or parse_features(features))
        if not feats:
            raise RoleError("give the model's features: --features a,b,c")
        with stage("profiling the data the attacker draws from"):
            profile = build_profile(source, feats)
        with _progress(Console(stderr=True), True) as on_progress, stage("copying the model"):
            rep = extraction_probe(m, profile=profile, holdout=frame, budgets=_numbers(budgets, "--budgets", int),
                                   repeats=repeats, agreement_target=agreement, rate=rate, burst=burst,
                                   threshold=threshold, seed=seed, on_progress=on_progress)
        console = Console()
        console.print(_table("Agreement of the best copy with the model", rep.summary,
                             [c for c in ("budget", "best_surrogate", "agreement", "reached", "time_seconds")
                              if c in rep.summary.columns]))
        console.print(rep.verdict(), markup=False)
        too_fast = rep.queries_needed is not None and (rep.time_needed_seconds is None
                                                        or rep.time_needed_seconds < min_hours * 3600)
        _finish(console, out_dir, "extraction", rep.to_dict(), rep.html(), "Model extraction", too_fast)

    @probe.command("pii")
    @click.argument("data", type=click.Path(path_type=Path))
    @click.option("--columns", multiple=True, metavar="A,B", help="Only these columns [default: all].")
    @click.option("--features", "features", multiple=True, metavar="A,B,C",
                  help="The model's features: exit 1 when an identifier column is among them.")
    @click.option("--sample", type=click.IntRange(min=1), default=10_000, show_default=True,
                  help="Rows read (a seeded sample).")
    @click.option("--min-share", type=click.FloatRange(0, 1, min_open=True), default=0.3, show_default=True,
                  help="Share of a column's values that makes it a column of identifiers.")
    @click.option("--seed", type=int, default=0, show_default=True)
    @_out_option
    def pii(data, columns, features, sample, min_share, seed, out_dir):
        """Columns of DATA (CSV/Parquet file or folder) holding direct identifiers, on a sample."""
        from steward.privacy import scan_pii

        with stage("scanning a sample for identifiers"):
            rep = scan_pii(data, columns=_list(columns) or None, sample=sample, seed=seed, min_share=min_share)
        console = Console()
        t = rep.table
        if len(t):
            console.print(_table("Identifiers found", t, ["column", "kind", "matches", "checked", "share",
                                                          "identifier"], limit=30))
        ids = rep.identifier_columns()
        console.print(f"Columns of identifiers: {', '.join(ids) or 'none'}.", markup=False)
        unknown = [f for f in _list(features) if f not in rep.columns_scanned]
        if unknown:
            raise DataValidationError(f"--features: {', '.join(map(repr, unknown))} is not among the scanned columns "
                                      f"({', '.join(rep.columns_scanned[:20])}); check the names")
        among = rep.among(_list(features)) if features else []
        if among:
            console.print(f"Among the model's features: {', '.join(among)}.", markup=False)
        _finish(console, out_dir, "pii", rep.to_dict(), rep.html(), "Direct identifiers (PII scan)", bool(among))

    @probe.command("reidentification")
    @click.argument("data", type=click.Path(path_type=Path))
    @click.option("--qi", "qi", multiple=True, metavar="A,B",
                  help="Quasi-identifiers [default: Steward's suggestion, said on the screen].")
    @click.option("--sensitive", multiple=True, metavar="A,B", help="Sensitive columns (l-diversity, t-closeness).")
    @click.option("-k", "k", type=click.IntRange(min=2), default=5, show_default=True)
    @click.option("-l", "l", type=click.IntRange(min=1), default=2, show_default=True)
    @click.option("-t", "t", type=click.FloatRange(0, 1), default=0.2, show_default=True)
    @click.option("--max-share-below-k", type=click.FloatRange(0, 1), default=0.05, show_default=True,
                  help="Exit 1 when more records than this sit in classes smaller than k.")
    @_out_option
    def reidentification(data, qi, sensitive, k, l, t, max_share_below_k, out_dir):
        """k-anonymity, l-diversity and t-closeness of DATA (CSV/Parquet, grouped by DuckDB) over quasi-identifiers."""
        from steward.privacy import reidentification_risk, suggest_quasi_identifiers

        console = Console()
        chosen = _list(qi)
        if not chosen:
            with stage("suggesting quasi-identifiers"):
                chosen = suggest_quasi_identifiers(data)
            if not chosen:
                raise RoleError("name the quasi-identifiers: --qi age,sex,zip (no likely ones were found)")
            console.print(f"No --qi given; using Steward's suggestion: {', '.join(chosen)}.", markup=False)
        with stage("grouping by the quasi-identifiers"):
            rep = reidentification_risk(data, chosen, sensitive=_list(sensitive) or None, k=k, l=l, t=t)
        console.print(f"k = {rep.k_anonymity}: {rep.records_below_k:,} of {rep.rows:,} records "
                      f"({rep.share_below_k:.1%}) are in classes smaller than {k}; {rep.unique_records:,} are unique.",
                      markup=False)
        _finish(console, out_dir, "reidentification", rep.to_dict(), rep.html(), "Re-identification risk",
                rep.share_below_k > max_share_below_k)

    @probe.command("private-training")
    @click.argument("train", type=click.Path(dir_okay=False, path_type=Path))
    @click.argument("test", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--label", required=True)
    @click.option("--positive-label")
    @click.option("--features", "features", multiple=True, required=True, metavar="A,B,C")
    @click.option("--protected", "protected", multiple=True, metavar="COL[=REFERENCE]", required=True)
    @click.option("--epsilons", default="0.5,1,4,8", show_default=True, help="Privacy budgets to train at.")
    @click.option("--delta", type=click.FloatRange(0, 1, min_open=True), default=1e-6, show_default=True)
    @click.option("--bounds", "bounds", multiple=True, metavar="COL=LOW:HIGH",
                  help="A number's public range (repeat); without it the range is read from the training data, "
                       "outside the privacy budget, and the record says so.")
    @click.option("--seed", default="0", show_default=True,
                  help="Seed of the noise (reproducible figures), or 'none' for a model to release.")
    @_out_option
    def private_training(train, test, label, positive_label, features, protected, epsilons, delta, bounds, seed,
                         out_dir):
        """Differentially private EBMs at each ε beside the non-private one: accuracy and fairness per group."""
        from steward.audit._analyses import read_frame
        from steward.cli import _progress
        from steward.privacy import private_training as run

        with stage("reading the data"):
            tr, te = read_frame(train, f"training data {str(train)!r}"), read_frame(test, f"test data {str(test)!r}")
        with _progress(Console(stderr=True), True) as on_progress, stage("training private models"):
            rep = run(tr, te, label=label, features=parse_features(features), protected=_protected(protected),
                      epsilons=_numbers(epsilons, "--epsilons"), delta=delta, positive_label=positive_label,
                      seed=_seed(seed), privacy_bounds=_bounds(bounds) or None, on_progress=on_progress)
        console = Console()
        console.print(_table("Each model on the test rows", rep.overall, list(rep.overall.columns)[:8]))
        payload = {**rep.to_dict(), "record": rep.record()}
        _finish(console, out_dir, "private_training", payload, rep.html(), "Private training and its price", False)
