"""The full high-tier audit with a model, against main before issue 15 (commit 87eb8c0), side by side.

Targets (issue 15): the whole ``steward audit --model`` at least 3x faster end to end than 87eb8c0, with
identical findings (ids, statuses and values to 1e-9, except where a documented change applies, see
``DOCUMENTED``); and ``steward audit --model`` on Adult within 2.5x the time of ``steward audit`` without
a model on the same file, both as whole processes.

Each variant runs in a process of its own: this working tree, and 87eb8c0 checked out as a git worktree
(``git worktree add /tmp/steward-87eb8c0 87eb8c0``) on ``PYTHONPATH``, so both use the same virtualenv's
libraries. Inside the process, the audit is the CLI's own ``steward audit`` (called in-process), timed
per stage by wrapping the library functions each stage calls; every call of a model's ``score`` is
counted. Then both ``steward audit`` commands are timed as whole processes (``python -m steward.cli``).

Data: UCI Adult's test split (15,060 rows without missing values) scored by a 100-tree LightGBM trained
here on Adult's train split (seed 0), with the previous version (40 trees), the train split for the
benchmark, reason texts, declared monotone directions and two stress scenarios; and German credit,
split 600 training / 400 audited rows (seed 0), with the same kinds of inputs. The audit without a model
reads the same file, with the model's scores as a column (``--score``) and the same ``--features``.

    .venv/bin/python bench/model_audit.py                      # Adult and German, 3 repeats each
    .venv/bin/python bench/model_audit.py --repeats 1 --datasets german
    .venv/bin/python bench/model_audit.py --json bench/out/model_audit.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "87eb8c0"
SEED = 0

ADULT_FEATURES = ["age", "workclass", "education-num", "marital-status", "occupation", "relationship", "race",
                  "sex", "capital-gain", "capital-loss", "hours-per-week"]

# Findings whose value or status may differ from 87eb8c0's, and why (each a change made on purpose).
# The key is a finding's check; the value says which change applies.
DOCUMENTED: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------- data

def _categories(frame, columns):
    import pandas as pd

    X = frame[columns].copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("category")
    return X


def _write_yaml(path: Path, obj) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(obj, sort_keys=False))
    return path


def prepare(out: Path) -> dict[str, dict]:
    """Write each dataset's files once; return the ``steward audit`` arguments of both audits."""
    import lightgbm as lgb
    import numpy as np

    from steward.datasets import load_adult, load_german, path

    sets: dict[str, dict] = {}
    d = out / "adult"
    d.mkdir(parents=True, exist_ok=True)
    train, test = load_adult("train", dropna=True), load_adult("test", dropna=True)
    y = (train["income"] == ">50K").astype(int)
    new = lgb.LGBMClassifier(n_estimators=100, verbose=-1, random_state=SEED).fit(_categories(train, ADULT_FEATURES), y)
    old = lgb.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, random_state=SEED + 1).fit(
        _categories(train, ADULT_FEATURES), y)
    new.booster_.save_model(str(d / "model.txt"))
    old.booster_.save_model(str(d / "previous.txt"))
    train.to_csv(d / "train.csv", index=False)
    test.assign(score=new.predict_proba(_categories(test, ADULT_FEATURES))[:, 1]).to_csv(d / "test.csv", index=False)
    reasons = _write_yaml(d / "reasons.yaml", {
        "adverse": "low", "never_cite": ["race", "sex"],
        "reasons": {f: f"{f.replace('-', ' ')} weighed against the application" for f in ADULT_FEATURES
                    if f not in ("race", "sex")}})
    monotone = _write_yaml(d / "monotone.yaml", {"education-num": "increasing", "capital-gain": "increasing"})
    scenarios = _write_yaml(d / "scenarios.yaml", {"scenarios": [
        {"name": "hours -20%", "change": {"hours-per-week": {"multiply": 0.8}}},
        {"name": "no capital gain", "change": {"capital-gain": {"set": 0}}}]})
    sets["adult"] = _arguments(d, label="income", positive=">50K", favourable="1",
                               protected=["sex=Male", "race=White"], features=ADULT_FEATURES,
                               reasons=reasons, monotone=monotone, scenarios=scenarios)

    d = out / "german"
    d.mkdir(parents=True, exist_ok=True)
    g = load_german()
    g["age_group"] = np.where(g["age_years"] >= 25, "25+", "under 25")
    feats = [c for c in g.columns if c not in ("class", "age_group")]
    order = np.random.default_rng(SEED).permutation(len(g))
    train, test = g.iloc[order[:600]], g.iloc[order[600:]]
    y = (train["class"] == 2).astype(int)
    new = lgb.LGBMClassifier(n_estimators=100, num_leaves=8, learning_rate=0.05, verbose=-1,
                             random_state=SEED).fit(_categories(train, feats), y)
    old = lgb.LGBMClassifier(n_estimators=40, num_leaves=4, verbose=-1, random_state=SEED + 1).fit(
        _categories(train, feats), y)
    new.booster_.save_model(str(d / "model.txt"))
    old.booster_.save_model(str(d / "previous.txt"))
    train.to_csv(d / "train.csv", index=False)
    test.assign(score=new.predict_proba(_categories(test, feats))[:, 1]).to_csv(d / "test.csv", index=False)
    monotone = _write_yaml(d / "monotone.yaml", {"duration_months": "increasing"})
    scenarios = _write_yaml(d / "scenarios.yaml", {"scenarios": [
        {"name": "amount +20%", "change": {"credit_amount": {"multiply": 1.2}}},
        {"name": "no savings", "change": {"savings": {"set": "A65"}}}]})
    sets["german"] = _arguments(d, label="class", positive="2", favourable="0",
                                protected=["personal_status_sex=A93", "age_group=25+"], features=feats,
                                reasons=path("german-reasons"), monotone=monotone, scenarios=scenarios)
    return sets


def _arguments(d: Path, *, label, positive, favourable, protected, features, reasons, monotone, scenarios):
    common = ["audit", str(d / "test.csv"), "--label", label, "--positive-label", positive, "--favourable",
              favourable, *[a for p in protected for a in ("--protected", p)], "--features", ",".join(features),
              "--policy", "default", "--tier", "high"]
    model = ["--model", str(d / "model.txt"), "--train", str(d / "train.csv"), "--previous", str(d / "previous.txt"),
             "--reasons", str(reasons), "--monotone", str(monotone), "--scenarios", str(scenarios)]
    return {"model": common + model, "no_model": common + ["--score", "score", "--threshold", "0.5"],
            "rows": sum(1 for _ in open(d / "test.csv")) - 1}


# ------------------------------------------------------------------------------- the child process

STAGES = [  # (module, attribute, stage name): the functions each stage of an audit calls, in both versions
    ("steward.models", "load_model", "loading the models"),
    ("steward.audit._analyses", "read_frame", "reading the data"),
    ("steward.audit._analyses", "score_with_model", "scoring the data"),
    ("steward.audit._run", "cells_from_duckdb", "group statistics"),
    ("steward.audit._run", "cells_from_frame", "group statistics"),
    ("steward.slices", "find_slices", "slices"),
    ("steward.debug", "residual_analysis", "residuals"),
    ("steward.debug", "train_benchmark", "benchmark: training"),
    ("steward.debug", "compare_models", "benchmark: comparison"),
    ("steward.audit._analyses", "_explanations", "explanations"),  # with the checks' samples (not in explain_model)
    ("steward.explain._report", "explain_model", "explanations"),
    ("steward.debug", "situation_testing", "situation testing"),
    ("steward.debug", "proxy_detection", "proxies"),
    ("steward.debug", "flip_test", "flip test"),
    ("steward.debug", "sensitivity_analysis", "sensitivity"),
    ("steward.debug", "stress_test", "stress scenarios"),
    ("steward.debug", "adversarial_search", "adversarial search"),
    ("steward.debug", "prediction_churn", "churn"),
    ("steward.audit._gate", "evaluate", "policy checks"),
    ("steward.cli._output", "print_result", "printing"),
    ("steward.audit._result", "AuditResult.save", "writing the report"),
]


def child(out_json: Path, report_dir: Path, argv: list[str]) -> None:
    import importlib

    t0 = time.perf_counter()
    import steward.cli  # noqa: F401  (import time is its own line)

    imported = time.perf_counter() - t0
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of all threads: above the wall time when a stage runs in parallel
    depth = [0]
    calls = {"score": 0, "score_s": 0.0, "rows": 0}

    def timed(fn, name):
        def run(*a, **k):
            if depth[0]:
                return fn(*a, **k)
            depth[0] += 1
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - c
                depth[0] -= 1
        return run

    for module, attr, name in STAGES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        owner, _, leaf = attr.rpartition(".")
        target = getattr(mod, owner) if owner else mod
        if hasattr(target, leaf):
            setattr(target, leaf, timed(getattr(target, leaf), name))

    from steward.models._adapters import Model

    score = Model.score

    def counted(self, X):
        t = time.perf_counter()
        try:
            return score(self, X)
        finally:
            calls["score"] += 1
            calls["score_s"] += time.perf_counter() - t
            calls["rows"] += len(X)

    Model.score = counted
    from steward.cli import cli

    t, c = time.perf_counter(), time.process_time()
    try:
        cli.main(args=[*argv, "--out", str(report_dir)], prog_name="steward", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code
    total, total_cpu = time.perf_counter() - t, time.process_time() - c
    report = json.loads((report_dir / "report.json").read_text())
    out_json.write_text(json.dumps({"import_s": imported, "audit_s": total, "audit_cpu_s": total_cpu, "exit": code,
                                    "stages": times, "stages_cpu": cpu,
                                    "model_calls": calls, "findings": report.get("findings") or []}))


# ------------------------------------------------------------------------------------------ parent

def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}


def run_child(src: Path, argv: list[str], work: Path) -> dict:
    out = work / "child.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(out), str(work / "report"), "--", *argv]
    t = time.perf_counter()
    res = subprocess.run(cmd, env=_env(src), capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"child failed ({src}):\n{res.stderr[-3000:]}")
    return {**json.loads(out.read_text()), "process_s": wall}


def run_process(src: Path, argv: list[str], work: Path) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "steward.cli", *argv, "--out", str(work / "report-process")]
    t = time.perf_counter()
    res = subprocess.run(cmd, env=_env(src), capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode not in (0, 1):
        raise SystemExit(f"`steward {' '.join(argv[:2])} ...` failed ({src}), exit {res.returncode}:\n{res.stderr[-3000:]}")
    return wall, res.returncode


def compare_findings(old: list[dict], new: list[dict]) -> list[str]:
    """Differences in ids, statuses and values (1e-9), except documented ones; each as one line."""
    def keyed(fs):
        out, seen = {}, {}
        for f in fs:
            n = seen[f["id"]] = seen.get(f["id"], 0) + 1
            out[(f["id"], n)] = f
        return out

    a, b = keyed(old), keyed(new)
    lines = []
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key), b.get(key)
        check = (fa or fb)["check"]
        why = DOCUMENTED.get(check)
        if fa is None or fb is None:
            lines.append(f"{'only in new' if fa is None else 'only in old'}: {key[0]}" + (f"  [documented: {why}]" if why else ""))
            continue
        va, vb = fa["value"], fb["value"]
        same_value = (va is None and vb is None) or (va is not None and vb is not None and math.isclose(
            va, vb, rel_tol=0, abs_tol=1e-9))
        if fa["status"] != fb["status"] or not same_value:
            lines.append(f"{key[0]}: status {fa['status']} -> {fb['status']}, value {va} -> {vb}"
                         + (f"  [documented: {why}]" if why else ""))
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sep = sys.argv.index("--")
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[sep + 1:])
        return

    from rich.console import Console
    from rich.table import Table

    sys.path.insert(0, str(HERE))
    from _common import cpu_model, exclusive, load

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["adult", "german"], choices=["adult", "german"])
    ap.add_argument("--repeats", type=int, default=3, help="best of N runs of each variant")
    ap.add_argument("--baseline", type=Path, default=Path(f"/tmp/steward-{BASELINE}"),
                    help=f"a git worktree of {BASELINE}")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console()
    if not (args.baseline / "src" / "steward").is_dir():
        raise SystemExit(f"no checkout of {BASELINE} at {args.baseline}: run `git worktree add {args.baseline} {BASELINE}`")
    variants = {"87eb8c0": args.baseline / "src", "now": ROOT / "src"}
    out = HERE / "out" / "model_audit"
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_model(),
                     "cores": os.cpu_count(), "datasets": {}}
    with exclusive(console):
        results["load_start"] = load()
        console.print(f"{cpu_model()}, {os.cpu_count()} cores; load {load()}")
        sets = prepare(out)
        for name in args.datasets:
            argv = sets[name]
            runs: dict[str, list[dict]] = {v: [] for v in variants}
            procs: dict[str, dict[str, list[float]]] = {v: {"model": [], "no_model": []} for v in variants}
            for _ in range(args.repeats):  # alternate the variants, so a neighbour's burst hits both
                for v, src in variants.items():
                    work = out / name / v
                    work.mkdir(parents=True, exist_ok=True)
                    runs[v].append(run_child(src, argv["model"], work))
                    procs[v]["model"].append(run_process(src, argv["model"], work)[0])
                    procs[v]["no_model"].append(run_process(src, argv["no_model"], work)[0])
            best = {v: min(r, key=lambda x: x["audit_s"]) for v, r in runs.items()}
            diffs = compare_findings(best["87eb8c0"]["findings"], best["now"]["findings"])
            _print(console, name, argv["rows"], best, procs, diffs)
            results["datasets"][name] = {
                "rows": argv["rows"], "runs": {v: [{k: x[k] for k in x if k != "findings"} for x in r] for v, r in runs.items()},
                "processes": procs, "finding_differences": diffs, "findings": len(best["now"]["findings"])}
        results["load_end"] = load()
    console.print(f"load at the end {results['load_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


def _print(console, name, rows, best, procs, diffs) -> None:
    from rich.table import Table

    old, new = best["87eb8c0"], best["now"]
    t = Table(title=f"{name}: steward audit --model, high tier, {rows:,} rows (best run of each; seconds)")
    for c in ("stage", BASELINE, "now", "old / now"):
        t.add_column(c, justify="left" if c == "stage" else "right")
    names = list(dict.fromkeys([n for _, _, n in STAGES]))
    for n in names:
        a, b = old["stages"].get(n), new["stages"].get(n)
        if a is None and b is None:
            continue
        t.add_row(n, f"{a:.3f}" if a is not None else "-", f"{b:.3f}" if b is not None else "-",
                  f"{a / b:.1f}x" if a and b else "")
    for label, key in (("everything else (CLI, policy, ...)", None),):
        a = old["audit_s"] - sum(old["stages"].values())
        b = new["audit_s"] - sum(new["stages"].values())
        t.add_row(label, f"{a:.3f}", f"{b:.3f}", f"{a / b:.1f}x" if b > 0 else "")
    t.add_row("[b]audit, in process[/b]", f"{old['audit_s']:.3f}", f"{new['audit_s']:.3f}",
              f"[b]{old['audit_s'] / new['audit_s']:.2f}x[/b]")
    t.add_row("importing steward.cli", f"{old['import_s']:.3f}", f"{new['import_s']:.3f}", "")
    t.add_row("model score calls (count)", str(old["model_calls"]["score"]), str(new["model_calls"]["score"]), "")
    t.add_row("  their time (inside the stages)", f"{old['model_calls']['score_s']:.3f}",
              f"{new['model_calls']['score_s']:.3f}", "")
    t.add_row("  rows scored", f"{old['model_calls']['rows']:,}", f"{new['model_calls']['rows']:,}", "")
    console.print(t)
    pm = {v: min(p["model"]) for v, p in procs.items()}
    pn = {v: min(p["no_model"]) for v, p in procs.items()}
    console.print(f"whole processes (best of {len(procs['now']['model'])}): steward audit --model: "
                  f"{BASELINE} {pm['87eb8c0']:.2f} s, now {pm['now']:.2f} s = [b]{pm['87eb8c0'] / pm['now']:.2f}x faster[/b] "
                  f"(target >= 3x)")
    console.print(f"  without a model (same file, --score): {BASELINE} {pn['87eb8c0']:.2f} s, now {pn['now']:.2f} s; "
                  f"with / without a model: {BASELINE} {pm['87eb8c0'] / pn['87eb8c0']:.2f}x, "
                  f"now [b]{pm['now'] / pn['now']:.2f}x[/b] (target <= 2.5x)")
    if diffs:
        console.print(f"findings that differ from {BASELINE} ({len(diffs)}):")
        for line in diffs:
            console.print("  " + line, markup=False, highlight=False)
    else:
        console.print(f"findings: all {len(new['findings'])} identical to {BASELINE} (ids, statuses, values to 1e-9)")


if __name__ == "__main__":
    main()
