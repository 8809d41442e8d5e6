"""What an audit is given beyond the data's columns, grouped by meaning: the model and what it is held
against (:class:`ModelInputs`), and what its probes need (:class:`ProbeInputs`).

:func:`check_inputs` reads and checks every one of them, and the data's columns, before any heavy work:
a mistyped path, a reasons file that cites a protected attribute or a scenario naming a missing column
is said in the first second, not after the model has been scored and explained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from steward.data import Roles
from steward.errors import DataValidationError, RoleError

__all__ = ["MODEL_SCORE", "CheckedInputs", "ModelInputs", "ProbeInputs", "check_combination", "check_inputs",
           "model_inputs"]

MODEL_SCORE = "model_score"  # the column a model's scores go into


@dataclass(frozen=True)
class ModelInputs:
    """The model whose decisions are audited, and what it is held against.

    Attributes
    ----------
    model : Model, model object or path
        A model loaded with :func:`steward.models.load_model` (where a file's SHA-256 is checked and
        formats that run code are refused unless trusted), any object
        :func:`steward.models.wrap_model` takes, or a path, loaded with the safe defaults.
    previous : Model, model object or path, optional
        The previous version of the model: the report gives the share of decisions that flip.
    train : DataFrame, Arrow table or path, optional
        Training data: a transparent benchmark model is trained on it and compared with the model.
    benchmark : {"logistic", "tree", "ebm"}
        The kind of benchmark model (see :class:`steward.debug.BenchmarkModel`).

    Examples
    --------
    >>> from steward.models import load_model
    >>> m = ModelInputs(load_model("model.skops", sha256="9f2c..."), train="train.csv")  # doctest: +SKIP
    >>> steward.audit(df, label="y", protected=["sex"], features=[...], model=m)  # doctest: +SKIP
    """

    model: Any
    previous: Any = None
    train: Any = None
    benchmark: str = "logistic"


@dataclass(frozen=True)
class ProbeInputs:
    """What the model is probed with beyond the data; each needs a model.

    Attributes
    ----------
    reasons : path, dict or ReasonMap, optional
        Reviewed plain-language reason texts (see :class:`steward.explain.ReasonMap`): the report gets
        reason codes for adverse decisions, never citing a protected attribute.
    monotone : path or dict, optional
        Declared monotone directions (``feature: increasing``) the model must keep.
    scenarios : path or list, optional
        Stress scenarios (see :func:`steward.debug.load_scenarios`): the report gives the decisions
        each one changes.
    """

    reasons: Any = None
    monotone: Any = None
    scenarios: Any = None

    def given(self) -> bool:
        return any(v is not None for v in (self.reasons, self.monotone, self.scenarios))


@dataclass
class CheckedInputs:
    """Every input of an audit, read and checked: models loaded, files parsed, columns found."""

    columns: list[str]  # the data's columns
    frame: pd.DataFrame | None = None  # the data, read whole when a model scores it
    model: Any = None  # steward.models.Model
    previous: Any = None
    train: pd.DataFrame | None = None
    benchmark: str = "logistic"
    reasons: Any = None  # ReasonMap, with the protected attributes among its never_cite
    monotone: dict[str, int] | None = None
    scenarios: list[dict[str, Any]] | None = None


def check_combination(model: ModelInputs | None, probes: ProbeInputs | None, *, prediction: str | None,
                      score: str | None, features: Sequence[str]) -> None:
    """What must be given together: a probe needs a model, a model its features and no decision columns."""
    if probes is not None and probes.given() and model is None:
        raise RoleError("reason codes (--reasons), a monotonicity check (--monotone) and stress scenarios "
                        "(--scenarios) need a model: give it (--model)")
    if model is None:
        return
    if model.model is None:
        raise RoleError("--previous and --train compare a model: give the model too (--model)")
    if prediction is not None or score is not None:
        raise RoleError("give either a model (--model, which makes the decisions) or decision columns "
                        "(--prediction / --score), not both")
    if not features:
        raise RoleError("a model needs its input columns: give features (--features a,b,c)")
    _check_benchmark(model.benchmark)


def check_inputs(data: Any, roles: Roles, *, model: ModelInputs | None, probes: ProbeInputs | None,
                 on_progress: Callable[[str, float], None] | None = None) -> CheckedInputs:
    """Read and check every input before any heavy work; the first problem is raised, naming its input.

    Order: the YAML files, the data's columns (every role's column, from the header), the models, the
    training data, then the data itself when a model scores it (for the checks that need its values:
    monotone features must be numbers). Call :func:`check_combination` first.
    """
    from steward.audit._analyses import load_any_model, read_frame
    from steward.data import check_columns, open_source

    probes = probes or ProbeInputs()

    def step(what: str, frac: float) -> None:
        if on_progress is not None:
            on_progress(f"checking the inputs: {what}", frac)

    step("files", 0.0)
    out = CheckedInputs(columns=[])
    attrs = list(roles.attributes)
    if probes.reasons is not None:
        from steward.explain import ReasonMap

        r = probes.reasons
        if isinstance(r, ReasonMap):  # the protected attributes join its never_cite (refused if it cites one)
            extra = [a for a in attrs if a not in r.never_cite]
            out.reasons = ReasonMap(r.reasons, [*r.never_cite, *extra], r.adverse, r.source) if extra else r
        else:
            out.reasons = ReasonMap.load(r, never_cite=attrs)
    if probes.monotone is not None:
        from steward.explain import load_constraints

        out.monotone = load_constraints(probes.monotone)
    if probes.scenarios is not None:
        from steward.debug import load_scenarios

        out.scenarios = load_scenarios(probes.scenarios)
    step("the data's columns", 0.2)
    source = open_source(data)
    out.columns = list(source.columns)
    if model is not None:
        if MODEL_SCORE in out.columns:
            raise RoleError(f"the data already has a column named {MODEL_SCORE!r}, where the model's scores would "
                            f"go; rename it, or audit that column with --score instead of --model")
        source = replace(source, columns=[*out.columns, MODEL_SCORE])  # where the model's scores will be
    check_columns(source, roles)
    if out.scenarios is not None:
        _check_scenarios(out.scenarios, out.columns, probes.scenarios)
    if model is None:
        return out
    step("the models", 0.4)
    features = list(roles.features)
    out.model = load_any_model(model.model, features=features)
    out.previous = None if model.previous is None else load_any_model(model.previous, features=features)
    out.benchmark = model.benchmark
    names = list(out.model.inputs(pd.DataFrame({c: pd.Series(dtype=float) for c in out.columns})).columns)
    if out.reasons is not None:
        r = out.reasons
        unmapped = [f for f in names if f not in r.reasons and f not in r.never_cite]
        if unmapped:
            raise DataValidationError(
                f"reasons ({r.source}): no reason text for model feature(s) {', '.join(map(repr, unmapped))}; add a "
                f"text for each, or list it under never_cite if it must not be cited")
    if out.monotone is not None:
        unknown = [f for f in out.monotone if f not in names]
        if unknown:
            raise DataValidationError(f"monotone ({_where(probes.monotone)}): {', '.join(map(repr, unknown))} "
                                      f"{'is not an input' if len(unknown) == 1 else 'are not inputs'} of the model; "
                                      f"its inputs are: {', '.join(names)}")
    if model.train is not None:
        step("the training data", 0.6)
        what = "training data" if _where(model.train) == "(in memory)" else f"training data {_where(model.train)!r}"
        out.train = _training_data(read_frame(model.train, what), roles, features, what)
    step("reading the data", 0.8)
    out.frame = read_frame(data)
    if out.monotone is not None:
        inputs = out.model.inputs(out.frame.head(0))
        text = [f for f in out.monotone if not pd.api.types.is_numeric_dtype(inputs[f].dtype)
                or isinstance(inputs[f].dtype, pd.CategoricalDtype)]
        if text:
            raise DataValidationError(f"monotone ({_where(probes.monotone)}): {', '.join(map(repr, text))} "
                                      f"{'holds' if len(text) == 1 else 'hold'} no numbers, so there is no order to be "
                                      f"monotone in; declare numeric features only")
    step("done", 1.0)
    return out


def model_inputs(model: Any, train: Any, previous: Any) -> ModelInputs | None:
    """``model=`` as given (a ModelInputs, a model or a path), with the ``train=``/``previous=`` shortcuts."""
    if isinstance(model, ModelInputs):
        for name, given in (("train", train), ("previous", previous)):
            if given is not None and getattr(model, name) is not None:
                raise RoleError(f"{name} is given twice: in ModelInputs and as {name}=; give it once")
        extra = {k: v for k, v in (("train", train), ("previous", previous)) if v is not None}
        return replace(model, **extra) if extra else model
    if model is None and train is None and previous is None:
        return None
    return ModelInputs(model, previous=previous, train=train)


def _check_benchmark(kind: str) -> None:
    from steward.debug import BENCHMARKS

    # a monotone LightGBM benchmark needs constraints the audit does not take: the CLI offers the others
    if kind not in BENCHMARKS or kind == "monotone_lightgbm":
        raise RoleError(f"benchmark must be one of logistic, tree, ebm; got {kind!r}")


def _where(source: Any) -> str:
    return str(source) if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else "(in memory)"


def _check_scenarios(scenarios: list[dict[str, Any]], columns: list[str], source: Any) -> None:
    for sc in scenarios:
        for part in ("change", "where"):
            unknown = [c for c in sc[part] if c not in columns]
            if unknown:
                raise DataValidationError(
                    f"scenarios ({_where(source)}) {sc['name']!r}: `{part}` names column(s) "
                    f"{', '.join(map(repr, unknown))}, which the data lacks; the columns are: {', '.join(columns)}")


def _training_data(train: pd.DataFrame, roles: Roles, features: Sequence[str], what: str) -> pd.DataFrame:
    from steward.data import binary_mapping

    label, positive_label = roles.label, roles.positive_label
    missing = [c for c in [label, *features] if c not in train.columns]
    if missing:
        raise DataValidationError(f"{what} lacks column(s) {', '.join(map(repr, missing))}; its columns are: "
                                  f"{', '.join(map(str, train.columns))}")
    col = train[label]
    if col.isna().any():
        raise DataValidationError(f"{what}: label column {label!r} has {int(col.isna().sum())} missing value(s)")
    try:
        binary_mapping(col.unique().tolist(), column=label, role="label", positive=positive_label)
    except DataValidationError as exc:
        raise DataValidationError(f"{what}: {exc}") from None
    return train
