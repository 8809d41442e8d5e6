"""`steward probe individual|proxies|sensitivity|adversarial`: the probes beyond group averages.

Each writes a JSON and an HTML file into --out and exits 1 when its threshold is breached (so a CI job
can gate on it), 2 on bad input, 0 otherwise.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click
import pandas as pd
from steward.cli._console import Console, cell
from rich.markup import escape
from rich.table import Table

from steward.cli._models import model_options, parse_features
from steward.cli._stages import stage
from steward.cli._wording import cli_wording
from steward.errors import DataValidationError, RoleError

__all__ = ["register_commands"]


def _protected(values: tuple[str, ...]) -> dict[str, str | None]:
    if not values:
        raise RoleError("name the protected attributes: --protected race=White (repeat for each)")
    out: dict[str, str | None] = {}
    for v in values:
        col, _, ref = v.partition("=")
        out[col.strip()] = ref.strip() or None
    return out


def _table(title: str, frame, columns: list[str], limit: int = 15) -> Table:
    t = Table(title=escape(title))
    for c in columns:
        numeric = pd.api.types.is_numeric_dtype(frame[c].dtype) and not pd.api.types.is_bool_dtype(frame[c].dtype)
        t.add_column(c, justify="right" if numeric else "left")
    for rec in frame[columns].head(limit).itertuples(index=False):
        t.add_row(*[cell(c, v) for c, v in zip(columns, rec)])
    return t


def _load(data: Path, model, features, trust_pickle, model_sha256, trust_types, need_model: bool):
    from steward.audit._analyses import load_any_model
    from steward.cli._models import read_frame

    with stage("reading the data"):
        frame = read_frame(data)
    if model is None:
        if need_model:
            raise RoleError("give the model to probe: --model FILE")
        return frame, None
    with stage("loading the model"):
        m = load_any_model(model, trust_pickle=trust_pickle, sha256=model_sha256, trusted_types=trust_types,
                           features=parse_features(features) or None)
    return frame, m


def _finish(console: Console, out_dir: Path, name: str, payload: dict, html: str, title: str, breach: bool) -> None:
    """Write NAME.json and NAME.html into out_dir, say where, and exit 1 when a threshold was breached."""
    from steward.cli._models import _write

    with stage("writing the report"):
        page = _write(out_dir, name, payload, html, title)
    console.print(f"Report: {page} (JSON beside it)", markup=False)
    if breach:
        sys.exit(1)


def _common(fn):
    for opt in reversed([
        click.argument("data", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--protected", "protected", multiple=True, metavar="COL[=REFERENCE]",
                     help="Protected attribute and its reference group; repeat for each."),
        click.option("--threshold", type=float, default=0.5, show_default=True, help="Decision: score >= threshold."),
        click.option("--favourable", type=click.Choice(["0", "1"]), default="1", show_default=True,
                     help="Decision value that is good for the person."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("steward-probe"),
                     show_default=True),
    ]):
        fn = opt(fn)
    return model_options(fn)


def register_commands(cli: click.Group) -> None:
    @cli.group("probe")
    def probe() -> None:
        """Probes beyond group averages (individual disparity, proxies, sensitivity, adversarial search) and of
        privacy and security (membership and attribute inference, extraction, PII, re-identification)."""

    from steward.cli._probe_privacy import register_privacy

    register_privacy(probe)

    @probe.command("individual")
    @_common
    @click.option("--prediction", help="Column with the 0/1 decision (instead of --model).")
    @click.option("--encoding", "encodings", multiple=True, metavar="ATTR=COL",
                  help="The model reads ATTR through column COL (for the flip test).")
    @click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours per group.")
    @click.option("--t", "t", type=click.FloatRange(0, 1, min_open=True), default=0.3, show_default=True,
                  help="Smallest gap in favourable shares that flags a person.")
    @click.option("--max-flagged", type=click.FloatRange(0, 1), default=0.05, show_default=True,
                  help="Exit 1 when a group's flagged share of unfavourable decisions exceeds this.")
    def individual(data, protected, threshold, favourable, out_dir, model, features, trust_pickle, model_sha256,
                   trust_types, prediction, encodings, k, t, max_flagged):
        """Counterfactual flip test (with --model) and situation testing of DATA."""
        import numpy as np

        from steward.cli import _progress
        from steward.debug import flip_test, situation_testing
        from steward.debug._situation import SituationTests
        from steward.engine._columns import binary_array

        prot = _protected(protected)
        if model is not None and prediction:
            raise RoleError("give either --model (its decisions) or --prediction COL, not both")
        bad = [e for e in encodings if "=" not in e or not all(part.strip() for part in e.split("=", 1))]
        if bad:
            raise DataValidationError(f"--encoding {bad[0]!r}: write ATTR=COL, e.g. --encoding race=race_code")
        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=False)
        fav = int(favourable)
        if prediction and prediction not in frame.columns:
            raise RoleError(f"prediction column {prediction!r} is not in the data; the columns are: "
                            f"{', '.join(map(str, frame.columns))}")
        if m is not None:
            with stage("scoring the data with the model"):
                decision = (m.score(frame) >= threshold).astype(int)
            feats = list(m.features) if m.features else parse_features(features)
        elif prediction:
            decision = binary_array(frame[prediction], column=prediction, role="prediction").astype(int)
            feats = parse_features(features)
        else:
            raise RoleError("say what the decisions are: --model FILE or --prediction COL")
        feats = [f for f in feats if f not in prot]
        if not feats:
            raise RoleError("situation testing measures similarity on features: give --features a,b,c")
        console = Console()
        payload, html, breach = {}, "", False
        if m is not None:
            enc = dict((a.strip(), c.strip()) for a, c in (e.split("=", 1) for e in encodings))
            with stage("running the counterfactual flip test"):
                flips = flip_test(m, frame, list(prot), encodings=enc, threshold=threshold, favourable=fav)
            payload["flip_test"] = flips.to_dict()
            html += "<h2>Counterfactual flip test</h2>" + flips.html(3)
            if len(flips.groups):
                console.print(_table("Decisions that change with the protected attribute alone", flips.groups,
                                     ["attribute", "group", "rows", "flipped", "any_flip"]))
                breach |= bool((flips.groups["any_flip"] > 0).any())
            for attr, why in flips.skipped.items():
                console.print(f"Flip test, {attr}: {cli_wording(why)}.", markup=False)
        reports = []
        with _progress(Console(stderr=True), True) as on_progress, stage("running situation testing"):
            for attr, ref in prot.items():
                if ref is None:
                    ref = frame[attr].astype(str).value_counts().index[0]
                reports.append(situation_testing(frame, np.asarray(decision), attribute=attr, reference=ref,
                                                 features=feats, k=k, t=t, favourable=fav, on_progress=on_progress))
        html += "<h2>Situation testing</h2>" + SituationTests(reports).html(3, limit=max_flagged)
        for r in reports:
            console.print(_table(f"Situation testing: {r.attribute} against {r.reference}", r.table,
                                 ["group", "rows", "unfavourable", "flagged", "share_flagged"]))
            breach |= bool((r.table["share_flagged"].fillna(0) > max_flagged).any())
        payload["situation_testing"] = [r.to_dict() for r in reports]
        _finish(console, out_dir, "individual", payload, html, "Individual disparity", breach)

    @probe.command("proxies")
    @_common
    @click.option("--max-auc", type=click.FloatRange(0.5, 1, min_open=True), default=0.75, show_default=True)
    @click.option("--max-cramers-v", type=click.FloatRange(0, 1, min_open=True), default=0.30, show_default=True)
    def proxies(data, protected, threshold, favourable, out_dir, model, features, trust_pickle, model_sha256,
                trust_types, max_auc, max_cramers_v):
        """Which features of DATA stand in for a protected attribute (exit 1 when one does)."""
        import numpy as np

        from steward.debug import proxy_detection

        prot = _protected(protected)
        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=False)
        feats = parse_features(features) or (list(m.features) if m is not None and m.features else [])
        if not feats:
            raise RoleError("give the features to test: --features a,b,c (or a model that names them)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with stage("measuring how well the features predict the protected attributes"):
                rep = proxy_detection(frame, list(prot), feats, max_auc=max_auc, max_cramers_v=max_cramers_v)
        console = Console()
        console.print(_table("Features as predictors of protected attributes", rep.table,
                             ["feature", "attribute", "auc", "cramers_v", "mutual_information", "proxy"]))
        if rep.table["auc"].isna().any():
            console.print("AUC n/a: no group of that attribute has 30 rows, and with fewer a feature separates the "
                          "groups by chance.", markup=False)
        for rec in rep.adversary.itertuples():
            if np.isfinite(rec.auc):
                console.print(f"All features together predict {rec.attribute} with cross-validated AUC "
                              f"{rec.auc:.3f}.", markup=False)
            else:
                console.print(f"All features together: not measured for {rec.attribute} ({rec.note}).", markup=False)
        _finish(console, out_dir, "proxies", rep.to_dict(),
                rep.html(),
                "Proxies of protected attributes", bool(rep.table["proxy"].any()))

    @probe.command("sensitivity")
    @_common
    @click.option("--by", metavar="COL", help="Summaries per group of this column [default: first --protected].")
    @click.option("--scenarios", type=click.Path(dir_okay=False, path_type=Path), help="YAML of stress scenarios.")
    @click.option("--max-changed", type=click.FloatRange(0, 1), default=0.10, show_default=True,
                  help="Exit 1 when a scenario changes more than this share of decisions in a group.")
    @click.option("--sample", type=click.IntRange(min=1), default=1000, show_default=True)
    def sensitivity(data, protected, threshold, favourable, out_dir, model, features, trust_pickle, model_sha256,
                    trust_types, by, scenarios, max_changed, sample):
        """How the model's scores and decisions move as each feature moves; stress scenarios."""
        from steward.debug import sensitivity_analysis, stress_test

        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=True)
        prot = _protected(protected) if protected else {}
        by = by or next(iter(prot), None)
        fav = int(favourable)
        with stage("analysing sensitivity"):
            rep = sensitivity_analysis(m, frame, by=by, threshold=threshold, favourable=fav, sample=sample)
        console = Console()
        console.print(_table("Sensitivity (all rows)", rep.summary[rep.summary["group"] == "all"],
                             ["feature", "score_swing", "rows_flipping"]))
        payload, html, breach = ({"sensitivity": rep.to_dict()},
                                 rep.html(), False)
        if scenarios is not None:
            with stage("running the stress scenarios"):
                st = stress_test(m, frame, scenarios, by=by, threshold=threshold, favourable=fav)
            console.print(_table("Stress scenarios", st.table, ["scenario", "scope", "rows", "decisions_changed",
                                                                "share_changed"]))
            payload["stress"] = st.to_dict()
            html += "<h2>Stress scenarios</h2>" + st.html(3)
            breach = bool((st.table["share_changed"] > max_changed).any())
        _finish(console, out_dir, "sensitivity", payload, html, "Sensitivity and stress scenarios", breach)

    @probe.command("adversarial")
    @_common
    @click.option("--immutable", "immutable", multiple=True, metavar="COL",
                  help="A feature that may not change (repeat), besides the protected attributes and any age "
                       "column, which never do.")
    @click.option("--range", "ranges", multiple=True, metavar="COL=LOW:HIGH",
                  help="Allowed range of a number (repeat) [default: its observed range].")
    @click.option("--budget", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
                  help="Largest cost of a change that counts (standard deviations, 1 per category).")
    @click.option("--max-flip-rate", type=click.FloatRange(0, 1), default=0.25, show_default=True)
    @click.option("--sample", type=click.IntRange(min=1), default=200, show_default=True)
    @click.option("--time-budget", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
                  help="Seconds after which no more pairs of changes are tried.")
    def adversarial(data, protected, threshold, favourable, out_dir, model, features, trust_pickle, model_sha256,
                    trust_types, immutable, ranges, budget, max_flip_rate, sample, time_budget):
        """The smallest allowed changes that flip the model's decisions on a sample of DATA."""
        from steward.cli import _progress
        from steward.debug import adversarial_search

        frame, m = _load(data, model, features, trust_pickle, model_sha256, trust_types, need_model=True)
        prot = _protected(protected) if protected else {}
        parsed = {}
        for r in ranges:
            col, _, span = r.partition("=")
            lo, _, hi = span.partition(":")
            try:
                parsed[col] = (float(lo), float(hi))
            except ValueError:
                raise DataValidationError(f"--range {r!r}: write COL=LOW:HIGH with two numbers") from None
        with _progress(Console(stderr=True), True) as on_progress, stage("searching for adversarial changes"):
            rep = adversarial_search(m, frame, protected=list(prot), immutable=list(immutable) or None,
                                     ranges=parsed, budget=budget, threshold=threshold, sample=sample,
                                     time_budget=time_budget, on_progress=on_progress)
        console = Console()
        console.print(f"{rep.flip_rate:.1%} of {rep.rows} sampled decisions flip with a change costing at most "
                      f"{budget:g}; never changed: {', '.join(map(str, rep.immutable)) or 'nothing'}"
                      + (" (the time budget ran out)." if rep.timed_out else "."), markup=False)
        if len(rep.features):
            console.print(_table("Features in the cheapest flips", rep.features, ["feature", "flips",
                                                                                 "share_of_flips"]))
        _finish(console, out_dir, "adversarial", rep.to_dict(), rep.html(),
                "Adversarial search", rep.flip_rate > max_flip_rate)
