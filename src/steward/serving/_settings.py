"""A deployment's guard settings (``guard.yaml``): what each step of the guard pipeline does on a breach.

Defaults come from the policy tier's ``guard:`` section (the central team's standard); a deployment's
``guard.yaml`` overrides what it names. Every field is documented where it is declared::

    threshold: 0.5              # decision = 1 when score >= threshold
    favourable: 1               # the decision value that is good for the person
    throttle: {rate: 20, burst: 40}          # requests per second per key (token bucket); 0 turns it off
    latency_budget_ms: 250      # the model must answer within this, else the backup answers
    screening:                  # per flag: flag (answer, record the flag) | review | refuse (HTTP 422)
      out_of_range: review
      unseen_category: review
      anomalous: refuse
      duplicate: flag
      training_row: flag
      duplicate_window_s: 60
      range_margin: 0.0
    sticky: {window_s: 86400, field: subject_id}   # 0 turns sticky decisions off
    review: {band: 0.05, on_flags: true, benchmark_disagreement: review, interim: adverse}
    kill_switch: {answer: review}   # review (interim decision, routed) | favourable | adverse
    kill_on_revocation: true    # an approval revoked after deployment trips the kill switch
    reasons: {count: 4, texts: {feature: text}, never_cite: [...]}
    log: {inputs: store, retention_days: 365}   # store the inputs, or only their hash
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from steward.errors import PolicyError

__all__ = ["GuardSettings", "load_guard", "guard_problems", "SCREEN_FLAGS"]

Action = Literal["flag", "review", "refuse"]
SCREEN_FLAGS = ("out_of_range", "unseen_category", "anomalous", "duplicate", "training_row")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Throttle(_Strict):
    rate: float = Field(default=20.0, ge=0)  # tokens (requests) per second per key; 0: no throttle
    burst: int = Field(default=40, ge=1)  # bucket size: the most requests at once after a pause


class Screening(_Strict):
    out_of_range: Action = "review"
    unseen_category: Action = "review"
    anomalous: Action = "refuse"
    duplicate: Action = "flag"  # the same key sent the same inputs within duplicate_window_s
    training_row: Action = "flag"  # an exact row of the training data: a membership probe, or a test
    duplicate_window_s: float = Field(default=60.0, ge=0)
    range_margin: float = Field(default=0.0, ge=0)  # share of the training range allowed beyond it


class Sticky(_Strict):
    window_s: float = Field(default=86_400.0, ge=0)  # 0: off
    field: str = "subject_id"  # the request field naming the person (not a model input)


class Review(_Strict):
    band: float = Field(default=0.05, ge=0, le=1)  # |score - threshold| <= band goes to review; 0: off
    on_flags: bool = True  # any screening flag whose action is review
    # when the benchmark decides otherwise: a person reviews, the benchmark's decision is taken, or only a flag
    benchmark_disagreement: Literal["review", "benchmark", "flag"] = "review"
    interim: Literal["adverse", "favourable"] = "adverse"  # the decision answered while a person reviews
    # overriding an adverse decision needs a second reviewer's agreement (a different person)
    second_reviewer: bool = False
    decide_within_hours: float = Field(default=72.0, gt=0)  # a review item older than this escalates
    escalate_incident: bool = False  # an overdue item (review or appeal) also opens an incident


class Appeals(_Strict):
    file_within_days: float = Field(default=30.0, gt=0)  # a person may appeal a decision this long after it
    decide_within_days: float = Field(default=14.0, gt=0)  # an appeal must be decided within this


class Callback(_Strict):
    url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")  # POSTed when a routed decision is settled
    attempts: int = Field(default=6, ge=1, le=20)  # then it is marked failed (shown on the deployment page)
    backoff_s: float = Field(default=2.0, gt=0)  # first retry after this, doubling each time


class KillSwitch(_Strict):
    answer: Literal["review", "adverse", "favourable"] = "review"


class Reasons(_Strict):
    count: int = Field(default=4, ge=0, le=10)  # principal reasons per adverse decision; 0: none
    texts: dict[str, Any] = Field(default_factory=dict)  # feature -> text (or value -> text); see ReasonMap
    never_cite: list[str] = Field(default_factory=list)  # protected attributes and proxies (added to the card's)


class Log(_Strict):
    inputs: Literal["store", "hash"] = "store"
    retention_days: float | None = Field(default=365.0, gt=0)  # None: keep for ever
    # who may see a logged decision's inputs (a subject's data); every reader sees the decision itself
    inputs_visible_to: list[Literal["reviewer", "operator", "validator", "admin", "executive", "developer",
                                    "viewer"]] = Field(default_factory=lambda: ["reviewer", "operator", "validator", "admin"])


class GuardSettings(_Strict):
    threshold: float = Field(default=0.5)
    favourable: Literal[0, 1] = 1
    throttle: Throttle = Field(default_factory=Throttle)
    latency_budget_ms: float = Field(default=250.0, gt=0)
    screening: Screening = Field(default_factory=Screening)
    sticky: Sticky = Field(default_factory=Sticky)
    review: Review = Field(default_factory=Review)
    kill_switch: KillSwitch = Field(default_factory=KillSwitch)
    kill_on_revocation: bool = True
    reasons: Reasons = Field(default_factory=Reasons)
    log: Log = Field(default_factory=Log)
    appeals: Appeals = Field(default_factory=Appeals)
    callback: Callback = Field(default_factory=Callback)
    protected: list[str] = Field(default_factory=list)  # recorded with each decision for monitoring, never a model input

    @model_validator(mode="after")
    def _never_cite_protected(self) -> "GuardSettings":
        cited = sorted(set(self.reasons.texts) & (set(self.reasons.never_cite) | set(self.protected)))
        if cited:
            raise ValueError(f"reasons.texts gives a reason for {', '.join(cited)}, which must never be cited "
                             f"(protected or never_cite); remove those entries")
        return self

    @property
    def adverse(self) -> int:
        return 1 - self.favourable


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def guard_problems(raw: Any, *, source: str = "guard settings", defaults: Mapping[str, Any] | None = None) -> list[str]:
    """Every problem of ``raw`` (a mapping) laid over ``defaults``, one line each naming the field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return [f"{source}: expected a mapping of settings (threshold:, throttle:, screening:, ...), "
                f"got {type(raw).__name__}"]
    try:
        GuardSettings.model_validate(_merge(dict(defaults or {}), raw))
    except ValidationError as exc:
        out = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                section = e["loc"][:-1]
                model: Any = GuardSettings
                for part in section:
                    model = getattr(model.model_fields.get(str(part)), "annotation", None) or model
                known = ", ".join(getattr(model, "model_fields", {})) or "see the documentation"
                msg = f"unknown setting; the settings here are: {known}"
            out.append(f"{source}: {_where(e['loc'])}: {msg} (got {e.get('input')!r})" if e["type"] != "extra_forbidden"
                       else f"{source}: {_where(e['loc'])}: {msg}")
        return out
    return []


def load_guard(source: str | Path | Mapping[str, Any] | None = None, *,
               defaults: Mapping[str, Any] | None = None) -> GuardSettings:
    """The guard settings of ``source`` (a YAML path or a mapping) over the tier's ``defaults``.

    Raises :class:`~steward.errors.PolicyError` listing every problem, each naming its field."""
    name = "guard settings"
    raw: Any = source
    if isinstance(source, (str, Path)):
        from steward._yamlfile import read_yaml

        raw, name = read_yaml(source, "guard settings file")
        if isinstance(raw, Mapping) and set(raw) == {"guard"}:  # a file may wrap its settings in `guard:`
            raw = raw["guard"]
    problems = guard_problems(raw, source=name, defaults=defaults)
    if problems:
        raise PolicyError("; ".join(problems))
    return GuardSettings.model_validate(_merge(dict(defaults or {}), raw or {}))
