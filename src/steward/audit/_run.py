"""The audit orchestrator: inputs checked → the model's decisions (each input scored once) → one pass of
statistics → group metrics → analyses → the policy's verdict."""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from steward.audit._inputs import (
    MODEL_SCORE,
    CheckedInputs,
    ProbeInputs,
    check_combination,
    check_inputs,
    model_inputs,
)
from steward.audit._result import AuditResult
from steward.data import Roles, check_columns, load_frame, open_source, parse_protected, same_value
from steward.engine import CellTable, cells_from_duckdb, cells_from_frame
from steward.errors import DataValidationError, DefaultReferenceWarning, RoleError, SmallGroupWarning
from steward.metrics import Comparison, group_metrics

__all__ = ["audit", "ENGINES"]

ENGINES = ("auto", "numpy", "duckdb", "spark")


def audit(
    data: Any,
    *,
    # who is who in the data
    label: str,
    protected: Mapping[str, str | None] | Sequence[str] | str,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float | None = None,
    favourable: int = 1,
    positive_label: Any = None,
    weight: str | None = None,
    features: Sequence[str] = (),
    # how the groups are compared
    intersections: bool = True,
    min_group_size: int | None = None,
    confidence: float | None = None,
    # the policy that judges the result
    policy: Any = None,
    tier: str | None = None,
    card_info: Any = None,
    # the model behind the decisions, and what it is probed with
    model: Any = None,
    probes: ProbeInputs | None = None,
    train: Any = None,
    previous: Any = None,
    # how it runs
    engine: str = "auto",
    on_progress: Callable[[str, float], None] | None = None,
) -> AuditResult:
    """Audit a model's decisions for discrimination across protected groups.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, Spark DataFrame, or path to a CSV / Parquet file
        One row per person. Files are scanned by DuckDB (memory stays bounded); in-memory
        data by NumPy; a Spark DataFrame by Spark, where it lives (only the cell statistics,
        a few hundred rows, come to this machine; ``features`` and ``model`` need the rows
        here, so they take a pandas DataFrame or a path instead).
    label : str
        Column with the observed outcome (0/1, or two values with ``positive_label``).
    protected : mapping or list
        Protected attributes with their reference groups: ``{"race": "Caucasian", "sex": None}``
        or ``["race=Caucasian", "sex"]``. Without a reference, the largest group is used and a
        :class:`~steward.errors.DefaultReferenceWarning` says so.
    prediction : str, optional
        Column with the binary decision. Give this or ``score`` with ``threshold``.
    score, threshold : str, float, optional
        Score column; the decision is 1 when ``score >= threshold``. A score given with a
        prediction (and no threshold) is used for the standardized mean difference only. With a
        ``model``, ``threshold`` turns its scores into decisions (default 0.5).
    favourable : {1, 0}
        The decision value that is good for the person (0 when decision 1 means "high risk").
    positive_label : optional
        The label value that counts as 1, when the label is not 0/1.
    weight : str, optional
        Column of non-negative sample weights.
    features : list of str
        Feature columns (a model's inputs). With them the audit also searches the slices where
        decisions are most often wrong (SliceLine), analyses the residuals when there is a score,
        and runs situation testing and proxy detection.
    intersections : bool
        Also report the intersection of all protected attributes (``race*sex``).
    min_group_size : int, optional
        Groups with fewer rows are flagged "too small to judge" (default 30, or the policy tier's);
        with ``weight``, groups whose effective size (Kish, ``(Σw)²/Σw²``) is below it.
    confidence : float, optional
        Level of every confidence interval (default 0.95, or the policy tier's).
    policy : Policy, path or ``"default"``, optional
        Hold the audit to this policy: the result gets ``findings`` and ``passed``. The tier's
        minimum group size and confidence level apply.
    tier : str, optional
        The policy tier; without it the ``risk:`` answers of ``card_info`` choose one.
    card_info : dict, path of a card-info YAML, or CardInfo, optional
        What the model card cannot derive (owner, intended use, ...), how findings name people
        and decisions (``wording:``), and the risk answers.
    model : ModelInputs, model or path, optional
        Score the data with this model (``features`` are its inputs) instead of reading a decision
        column. A :class:`ModelInputs` also gives the previous version, the training data for a
        benchmark and the benchmark's kind. Load a model file with
        :func:`steward.models.load_model` to check its SHA-256 or trust its format; a path is
        loaded with the safe defaults. With a model the audit also runs its explanations, the
        counterfactual flip test, a sensitivity analysis and an adversarial search.
    probes : ProbeInputs, optional
        With a model: reviewed reason texts, declared monotone directions and stress scenarios.
    train, previous : optional
        Shortcuts for ``ModelInputs(model, train=..., previous=...)``.
    engine : {"auto", "numpy", "duckdb", "spark"}
        ``auto`` uses DuckDB for files, NumPy for in-memory data and Spark for a Spark
        DataFrame. ``spark`` also reads a CSV or Parquet path with the active Spark session
        (else a new local one). Every engine gives the same cells and counts; weighted sums
        differ only by the order of summation (about 1e-13 relative).
    on_progress : callable, optional
        Called as ``on_progress(stage, fraction)`` as each stage starts, moves and ends.

    Every input (files, models, columns) is read and checked before any heavy work, and a model
    scores each distinct input once, whichever analyses need the scores.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> import steward
    >>> df = steward.datasets.load_compas()
    >>> result = steward.audit(df, label="two_year_recid", score="decile_score", threshold=5,
    ...                        favourable=0, protected={"race": "Caucasian", "sex": "Male"})
    >>> row = result.to_frame().query("group == 'African-American'").iloc[0]
    >>> round(row.adverse_impact_ratio, 2)
    0.63
    """
    if engine not in ENGINES:
        raise RoleError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    policy, chosen, card_info, min_group_size, confidence = _settings(policy, tier, card_info, min_group_size,
                                                                     confidence)
    models = model_inputs(model, train, previous)
    check_combination(models, probes, prediction=prediction, score=score, features=features)
    _check_spark_rows(data, features, models)
    if models is not None:  # the model makes the decisions: its scores become the score column
        score, threshold = MODEL_SCORE, 0.5 if threshold is None else threshold
    roles = Roles(
        label=label, prediction=prediction, score=score, threshold=threshold, favourable=favourable,
        positive_label=positive_label, protected=parse_protected(protected), weight=weight, features=tuple(features),
    )
    checked = check_inputs(data, roles, model=models, probes=probes, on_progress=on_progress)
    with _scoring_once(checked):
        if checked.model is not None:
            data = _model_decisions(checked, on_progress)
        result = _group_metrics(data, roles, engine=engine, intersections=intersections,
                                min_group_size=min_group_size, confidence=confidence, on_progress=on_progress)
        if roles.features or checked.model is not None:
            result = _with_analyses(result, data, roles, checked, chosen, on_progress)
    return _judged(result, policy, tier, card_info, on_progress)


def _settings(policy: Any, tier: str | None, card_info: Any, min_group_size: int | None,
              confidence: float | None) -> tuple[Any, Any, Any, int, float]:
    """The policy and its tier (when given) and the settings they fix: minimum group size, confidence."""
    chosen = None
    if policy is not None or tier is not None:
        from steward.audit._gate import resolve_tier
        from steward.audit.card import load_card_info
        from steward.audit.policy import load_policy

        policy, card_info = load_policy(policy), load_card_info(card_info)
        chosen, _ = resolve_tier(policy, tier, card_info)
        for name, given, wanted in (("min_group_size", min_group_size, chosen.min_group_size),
                                    ("confidence", confidence, chosen.confidence)):
            if given is not None and given != wanted:
                raise RoleError(f"{name} is {given!r} but the policy's tier {chosen.name!r} sets {wanted!r}; "
                                f"leave {name} out (the policy decides it) or change the policy")
        min_group_size, confidence = chosen.min_group_size, chosen.confidence
    elif card_info is not None:
        from steward.audit.card import load_card_info

        card_info = load_card_info(card_info)
    min_group_size = 30 if min_group_size is None else min_group_size
    confidence = 0.95 if confidence is None else confidence
    if not (isinstance(min_group_size, int) and min_group_size >= 1):
        raise RoleError(f"min_group_size must be a whole number >= 1, got {min_group_size!r}")
    if not (isinstance(confidence, float) and 0.0 < confidence < 1.0):
        raise RoleError(f"confidence must be a number between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return policy, chosen, card_info, min_group_size, confidence


@contextmanager
def _scoring_once(checked: CheckedInputs) -> Iterator[None]:
    """Each model scores each distinct input once for the whole audit, whichever analyses need it."""
    with ExitStack() as stack:
        for m in (checked.model, checked.previous):
            if m is not None:
                stack.enter_context(m.remember_scores())
        yield


def _model_decisions(checked: CheckedInputs, on_progress: Callable[[str, float], None] | None) -> pd.DataFrame:
    """The data with the model's scores as a column (the decision is ``score >= threshold``)."""
    from steward.audit._analyses import score_with_model

    _report(on_progress, "scoring the data with the model", 0.0)
    data = checked.frame.assign(**{MODEL_SCORE: score_with_model(checked.frame, checked.model)})
    _report(on_progress, "scoring the data with the model", 1.0)
    return data


def _check_spark_rows(data: Any, features: Sequence[str], models: Any) -> None:
    """A Spark DataFrame's rows stay on the cluster: the analyses that need every row here are refused."""
    from steward.engine._spark import is_spark_frame

    if is_spark_frame(data) and (features or models is not None):
        raise RoleError("features and a model need the data's rows in memory, but data is a Spark DataFrame; "
                        "audit it without them (the group metrics run on Spark), or give a pandas DataFrame "
                        "(df.toPandas() when it fits in memory) or a Parquet path")


def _engine(engine: str, source: Any) -> str:
    """The engine that reads ``source``: the one asked for, or by default the one made for its kind."""
    if engine == "auto":
        return "spark" if source.kind == "spark" else "numpy" if source.in_memory else "duckdb"
    if source.kind == "spark" and engine != "spark":
        raise RoleError(f"engine {engine!r} cannot read a Spark DataFrame; use engine 'spark' (or 'auto')")
    if engine == "spark" and source.in_memory and source.kind != "spark":
        raise RoleError(f"engine 'spark' reads a Spark DataFrame or a CSV/Parquet path, not a {source.kind}; "
                        "use engine 'numpy' (or 'auto') for data in memory")
    return engine


def _group_metrics(data: Any, roles: Roles, *, engine: str, intersections: bool, min_group_size: int,
                   confidence: float, on_progress: Callable[[str, float], None] | None) -> AuditResult:
    """One pass over the data to the cell statistics, then every group metric and test from them."""
    source = open_source(data)
    check_columns(source, roles)
    use = _engine(engine, source)
    info: dict[str, Any] = {}
    if use == "spark":
        from steward.engine._spark_cells import cells_from_spark

        cells, rows, digest = cells_from_spark(source, roles, on_progress=on_progress)
        digest_of = "file" if source.path is not None else None
        info = {"kind": "spark", "format": source.kind} if source.path is not None else {}
    elif use == "numpy":
        _report(on_progress, "group statistics", 0.0)
        if not source.in_memory:
            source = load_frame(source, roles.role_columns())
        cells, rows, digest = cells_from_frame(source, roles)
        digest_of = "audited columns" if source.path is None else "file"
    else:
        cells, rows, digest = cells_from_duckdb(source, roles, on_progress=on_progress)
        digest_of = "file" if source.path is not None else None
    result = result_from_cells(
        cells, roles,
        source_info={**source.describe(), **info, "rows": rows, "sha256": digest, "sha256_of": digest_of},
        intersections=intersections, min_group_size=min_group_size, confidence=confidence, engine=use,
    )
    _report(on_progress, "group statistics", 1.0)
    return result


def _with_analyses(result: AuditResult, data: Any, roles: Roles, checked: CheckedInputs, tier: Any,
                   on_progress: Callable[[str, float], None] | None) -> AuditResult:
    """The analyses beyond group averages (slices, residuals, the model's explanations and probes, ...)."""
    from steward.audit._analyses import read_frame, run_analyses
    from steward.engine._columns import binary_array, numeric_array

    frame = read_frame(data)
    y = binary_array(frame[roles.label], column=roles.label, role="label", positive=roles.positive_label).astype(int)
    s = None if roles.score is None else numeric_array(frame[roles.score], column=roles.score, role="score")
    if roles.prediction is not None:
        decision = binary_array(frame[roles.prediction], column=roles.prediction, role="prediction",
                                positive=roles.positive_label).astype(int)
    else:
        decision = (s >= roles.threshold).astype(int)
    analyses = run_analyses(
        frame, roles=roles, y=y, decision=decision, score=s, inputs=checked, tier=tier,
        confidence=result.settings["confidence"], min_group_size=result.settings["min_group_size"],
        references={r["attribute"]: r["group"] for r in result.references}, on_progress=on_progress)
    model = checked.model
    info = None if model is None else {**model.describe(), "threshold": roles.threshold}
    if info is not None and checked.previous is not None:
        info["previous"] = checked.previous.describe()
    return dataclasses.replace(result, analyses=analyses, model=info)


def _judged(result: AuditResult, policy: Any, tier: str | None, card_info: Any,
            on_progress: Callable[[str, float], None] | None) -> AuditResult:
    """The policy's verdict on the result (its findings); without a policy, the card info attached."""
    if policy is None:
        return result if card_info is None else dataclasses.replace(result, card=card_info)
    from steward.audit._gate import evaluate

    _report(on_progress, "policy checks", 0.0)
    judged = evaluate(result, policy, tier=tier, card_info=card_info)
    _report(on_progress, "policy checks", 1.0)
    return judged


def _report(on_progress: Callable[[str, float], None] | None, stage: str, fraction: float) -> None:
    if on_progress is not None:
        on_progress(stage, fraction)


def result_from_cells(
    cells: CellTable,
    roles: Roles,
    *,
    source_info: dict[str, Any],
    intersections: bool = True,
    min_group_size: int = 30,
    confidence: float = 0.95,
    engine: str = "numpy",
) -> AuditResult:
    """Metrics, tests and the result object from cell statistics (of one pass or merged)."""
    comparisons = resolve_references(cells, roles, intersections)
    groups = group_metrics(
        cells, comparisons, favourable=roles.favourable, min_group_size=min_group_size, confidence=confidence
    )
    notes: list[str] = []
    for c in comparisons:
        if c.reference_defaulted:
            msg = (f"no reference group was given for {c.attribute!r}; the largest group, "
                   f"{c.reference!r}, was used")
            notes.append(msg)
            warnings.warn(msg, DefaultReferenceWarning, stacklevel=3)
    small = groups[~(groups["n_effective"] >= min_group_size)]
    if len(small) and roles.weight is not None:
        # weighted: Kish's effective size decides, so one heavy row among many light ones is not a big group
        listed = ", ".join(f"{a}={g} (effective size {e:,.1f} of {r} rows)" for a, g, r, e in
                           small[["attribute", "group", "rows", "n_effective"]].itertuples(index=False))
        msg = (f"{len(small)} group(s) have an effective size (Kish, weighted by {roles.weight!r}) below "
               f"{min_group_size} and are too small to judge: {listed}")
    elif len(small):
        listed = ", ".join(f"{a}={g} ({r} rows)" for a, g, r in small[["attribute", "group", "rows"]].itertuples(index=False))
        msg = f"{len(small)} group(s) have fewer than {min_group_size} rows and are too small to judge: {listed}"
    if len(small):
        notes.append(msg)
        warnings.warn(msg, SmallGroupWarning, stacklevel=3)
    return AuditResult(
        groups=groups,
        cells=cells,
        roles=roles,
        source=source_info,
        settings={"min_group_size": min_group_size, "confidence": confidence, "engine": engine,
                  "intersections": intersections},
        references=[
            {"attribute": c.attribute, "group": c.reference, "chosen": "largest group" if c.reference_defaulted else "given"}
            for c in comparisons
        ],
        notes=notes,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def resolve_references(cells: CellTable, roles: Roles, intersections: bool) -> list[Comparison]:
    """Match each given reference to a group that occurs; default to the largest group."""
    out: list[Comparison] = []
    for p in roles.protected:
        sizes = cells.groups([p.column]).set_index("group")["n"]
        if p.reference is None:
            out.append(Comparison(p.column, (p.column,), str(sizes.idxmax()), True))
            continue
        match = [g for g in sizes.index if g == p.reference] or [g for g in sizes.index if same_value(g, p.reference)]
        if not match:
            close = difflib.get_close_matches(p.reference, [str(g) for g in sizes.index], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataValidationError(
                f"reference group {p.reference!r} of protected attribute {p.column!r} does not occur in the data; "
                f"{hint}the groups are: {', '.join(map(str, sizes.index))}"
            )
        out.append(Comparison(p.column, (p.column,), str(match[0]), False))
    if intersections and len(roles.protected) > 1:
        cols = roles.attributes
        sizes = cells.groups(list(cols)).set_index("group")["n"]
        wanted = "*".join(c.reference for c in out)
        if all(not c.reference_defaulted for c in out) and wanted in sizes.index:
            out.append(Comparison("*".join(cols), cols, wanted, False))
        else:
            out.append(Comparison("*".join(cols), cols, str(sizes.idxmax()), True))
    return out
