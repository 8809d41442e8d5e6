"""The monitor section of a policy tier: windows, and per signal its thresholds, how many consecutive
windows must breach before it alerts, the alert's severity, and whether it opens an incident or pulls the
deployment's kill switch. Thresholds are effect sizes (PSI, distances, ratios, drops), never p-values alone:
at a million rows any shift is "significant", and only an effect worth acting on should wake someone.

A tier's ``monitor:`` section is merged over the defaults section by section (as the guard's is), and a
monitor's own settings over its tier's. ``steward policy check`` validates it with :func:`monitor_problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.errors import PolicyError

__all__ = ["MonitorSettings", "monitor_problems", "load_monitor_settings", "loosened", "SIGNALS"]

Severity = Literal["low", "medium", "high", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rule(_Strict):
    enabled: bool = True
    consecutive: int = Field(default=1, ge=1, le=100)  # windows in a row that must breach before it alerts
    severity: Severity = "medium"
    incident: bool = True  # an alert opens an incident (or adds to the monitor's open one)
    trip: bool = False  # an alert pulls the deployment's kill switch


class FeatureDrift(Rule):
    trigger: Literal["psi", "distance"] = "psi"  # distance: normalised Wasserstein (numbers), Jensen-Shannon (categories)
    psi: float = Field(default=0.2, gt=0)
    wasserstein: float = Field(default=0.1, gt=0)  # Wasserstein distance / the reference's standard deviation
    jensen_shannon: float = Field(default=0.1, gt=0, le=1)  # Jensen-Shannon distance (natural log, as SciPy)


class PredictionDrift(Rule):
    psi: float = Field(default=0.2, gt=0)  # on the score's deciles
    decision_rate_change: float = Field(default=0.1, gt=0, le=1)  # absolute change of the favourable rate


class DataQuality(Rule):
    missing_rate_increase: float = Field(default=0.1, gt=0, le=1)
    unseen_rate: float = Field(default=0.05, gt=0, le=1)  # categories training never saw
    out_of_range_rate: float = Field(default=0.05, gt=0, le=1)


class Performance(Rule):
    accuracy_drop: float = Field(default=0.05, gt=0, le=1)  # below the reference's, and significantly so
    auc_drop: float = Field(default=0.05, gt=0, le=1)


class Fairness(Rule):
    severity: Severity = "high"
    min_air: float = Field(default=0.8, gt=0, le=1)  # a group's favourable rate / its reference group's
    min_error_ratio: float = Field(default=0.8, gt=0, le=1)  # true positive rate ratio, once labels arrive
    intersections: bool = True
    find_slices: bool = True  # on an alert, the slice finder says which segment drives it


class FairnessDrift(Rule):
    """One-sided CUSUM on each group's adverse impact ratio, in units of its standard error (never smaller
    than ``min_effect``, so a huge window's tiny shift does not accumulate)."""

    severity: Severity = "high"
    slack: float = Field(default=0.5, ge=0)  # k: standard errors of drift ignored per window
    limit: float = Field(default=5.0, gt=0)  # h: the alarm level
    min_effect: float = Field(default=0.02, gt=0, le=1)


class Screening(Rule):
    max_rate: float = Field(default=0.1, gt=0, le=1)  # rows the guard flagged (not counting training rows)
    max_training_row_rate: float = Field(default=0.2, gt=0, le=1)
    max_duplicate_rate: float = Field(default=0.2, gt=0, le=1)


class KeyVolume(Rule):
    enabled: bool = False
    max_rows: int = Field(default=10_000, ge=1)  # per caller key per window


class Extraction(Rule):
    """PRADA (Juuti et al. 2019): each query's distance to the same key's earlier queries; benign traffic
    gives a roughly normal distribution of those distances, a model-extraction attack does not."""

    severity: Severity = "high"
    min_queries: int = Field(default=100, ge=20)
    # delta: alert when W falls below it. The paper's 0.9 was set on images; on tabular data the nearest-neighbour
    # distances of benign queries are right-skewed (W 0.78-0.94 measured on Adult and synthetic traffic), while
    # extraction traffic (perturbations around a few seeds) gives W < 0.5: 0.65 sits between them.
    shapiro_w: float = Field(default=0.65, gt=0, lt=1)
    history: int = Field(default=2000, ge=100, le=20_000)  # earlier queries kept per key
    min_dimensions: int = Field(default=4, ge=1)  # fewer model inputs: not judged (1-D distances are skewed anyway)


class Oversight(Rule):
    max_override_rate: float = Field(default=0.3, gt=0, le=1)  # reviewed decisions overturned, per group
    max_appeal_success_rate: float = Field(default=0.5, gt=0, le=1)


class Window(_Strict):
    by: Literal["hour", "day", "week", "count"] = "day"
    size: int = Field(default=10_000, ge=1)  # rows per window when by: count


class MonitorSettings(_Strict):
    window: Window = Window()
    min_rows: int = Field(default=100, ge=1)  # a smaller window is shown but not judged
    feature_drift: FeatureDrift = FeatureDrift()
    prediction_drift: PredictionDrift = PredictionDrift()
    data_quality: DataQuality = DataQuality()
    performance: Performance = Performance()
    estimated_performance: Performance = Performance()
    fairness: Fairness = Fairness()
    fairness_drift: FairnessDrift = FairnessDrift()
    screening: Screening = Screening()
    key_volume: KeyVolume = KeyVolume()
    extraction: Extraction = Extraction()
    oversight: Oversight = Oversight()


SIGNALS = tuple(k for k in MonitorSettings.model_fields if k not in ("window", "min_rows"))


def monitor_problems(section: Mapping[str, Any] | None, where: str = "monitor") -> list[str]:
    """One line per problem of a ``monitor:`` section (empty when it is valid)."""
    try:
        MonitorSettings.model_validate(dict(section or {}))
    except ValidationError as exc:
        out = []
        for e in exc.errors():
            path = ".".join(str(p) for p in (where, *e["loc"]))
            if e["type"] == "extra_forbidden":
                parent = MonitorSettings
                for part in e["loc"][:-1]:
                    parent = parent.model_fields[part].annotation if hasattr(parent, "model_fields") else parent
                known = ", ".join(getattr(parent, "model_fields", {}))
                out.append(f"{path}: unknown setting; the settings here are: {known}")
            else:
                out.append(f"{path}: {e['msg']} (got {e.get('input')!r})")
        return out
    return []


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def load_monitor_settings(tier_section: Mapping[str, Any] | None, own: Mapping[str, Any] | None = None,
                          where: str = "monitor") -> MonitorSettings:
    """The tier's ``monitor:`` section with a monitor's own settings merged over it, validated."""
    merged = _merged(dict(tier_section or {}), dict(own or {}))
    problems = monitor_problems(merged, where)
    if problems:
        raise PolicyError("; ".join(problems))
    return MonitorSettings.model_validate(merged)


# Settings where a larger value judges less strictly (a breach is value >= threshold, or it takes more of it);
# for the others (minimum ratios, Shapiro-Wilk's W) a smaller value does.
_LOWER_IS_STRICTER = {"psi", "wasserstein", "jensen_shannon", "decision_rate_change", "missing_rate_increase",
                      "unseen_rate", "out_of_range_rate", "accuracy_drop", "auc_drop", "slack", "limit", "min_effect",
                      "max_rate", "max_training_row_rate", "max_duplicate_rate", "max_rows", "min_queries",
                      "min_dimensions", "max_override_rate", "max_appeal_success_rate", "consecutive"}
_HIGHER_IS_STRICTER = {"min_air", "min_error_ratio", "shapiro_w"}
_FREE = {"window", "trigger", "history", "find_slices", "intersections"}


def loosened(tier: MonitorSettings, own: MonitorSettings) -> list[str]:
    """What a monitor's own settings would loosen against its tier's (one line each): a monitor may only be
    stricter than the policy — turn on more, alert sooner, with a higher severity — never switch off a
    signal, an incident or a kill-switch rule, or pull a kill switch the tier does not pull."""
    out = []
    order = ("low", "medium", "high", "critical")
    if own.min_rows > tier.min_rows:
        out.append(f"min_rows: {own.min_rows} judges fewer windows than the tier's {tier.min_rows}")
    for name in SIGNALS:
        a, b = getattr(tier, name), getattr(own, name)
        for field, theirs in a.model_dump().items():
            mine = getattr(b, field)
            where = f"{name}.{field}"
            if field in _FREE or mine == theirs:
                continue
            if field in ("enabled", "incident") and theirs and not mine:
                out.append(f"{where}: the tier turns it on; a monitor cannot turn it off")
            elif field == "trip" and mine and not theirs:
                out.append(f"{where}: only the policy's tier can make an alert pull the kill switch")
            elif field == "trip" and theirs and not mine:
                out.append(f"{where}: the tier pulls the kill switch on this alert; a monitor cannot stop it")
            elif field == "severity" and order.index(mine) < order.index(theirs):
                out.append(f"{where}: {mine} is lower than the tier's {theirs}")
            elif field in _LOWER_IS_STRICTER and mine > theirs:
                out.append(f"{where}: {mine} is looser than the tier's {theirs} (lower is stricter)")
            elif field in _HIGHER_IS_STRICTER and mine < theirs:
                out.append(f"{where}: {mine} is looser than the tier's {theirs} (higher is stricter)")
    return out
