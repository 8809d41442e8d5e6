"""A version's differential-privacy record: what the registry accepts, and the one line that shows it.

The record is what :meth:`steward.privacy.PrivateTrainingReport.record` gives (``steward probe
private-training`` writes it under ``"record"`` in ``private_training.json``): the mechanism, every ε
tried, δ, and the ε chosen for the version. The registry checks those four keys and keeps every other
key (library version, composition, bounds, seed...) as given, as plain JSON.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from steward.errors import DataValidationError

__all__ = ["check_privacy_record", "privacy_line"]

_HOW = "(pass the \"record\" of private_training.json, from steward.privacy.private_training(...).record())"


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON (tuples as lists, numpy numbers as Python ones), or a clear error naming where."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise DataValidationError(f"{where} is {value!r}, not a finite number; JSON holds no NaN or Infinity")
        return float(value)
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise DataValidationError(f"{where} has the key {bad[0]!r}, which is not text; JSON keys are strings")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise DataValidationError(f"{where} is of type {type(value).__name__}, which JSON cannot hold; give a number, text, "
                              f"true/false, null, a list or an object")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_privacy_record(record: Any) -> dict[str, Any] | None:
    """The record as stored, or ``None`` when none is given; a :class:`DataValidationError` naming the field otherwise.

    Required: ``mechanism`` (non-empty text), ``epsilons`` (a non-empty list of positive finite numbers: the
    privacy budgets tried), ``delta`` (a number with 0 <= δ < 1). ``chosen_epsilon`` is ``None`` (no ε chosen
    yet) or one of ``epsilons``; absent, it is stored as ``None``. The numbers are stored as floats; every
    other key is kept as given.
    """
    if record is None:
        return None
    if not isinstance(record, dict):
        raise DataValidationError(f"privacy must be a JSON object {_HOW}, got a {type(record).__name__}")
    out = _plain(record, "privacy")
    mechanism = out.get("mechanism")
    if not isinstance(mechanism, str) or not mechanism.strip():
        raise DataValidationError(f"privacy.mechanism must be non-empty text naming the mechanism (for example "
                                  f"'DP-EBM'), got {mechanism!r}")
    eps = out.get("epsilons")
    if not isinstance(eps, list) or not eps:
        raise DataValidationError(f"privacy.epsilons must be a non-empty list of the privacy budgets tried "
                                  f"(for example [0.5, 1, 4, 8]), got {eps!r}")
    for i, e in enumerate(eps):
        if not _number(e) or e <= 0:
            raise DataValidationError(f"privacy.epsilons[{i}] is {e!r}; every epsilon must be a positive finite number")
    delta = out.get("delta")
    if not _number(delta) or not 0 <= delta < 1:
        raise DataValidationError(f"privacy.delta must be a number with 0 <= delta < 1 (for example 1e-6), "
                                  f"got {delta!r}")
    chosen = out.get("chosen_epsilon")
    if chosen is not None and (not _number(chosen) or chosen not in eps):
        raise DataValidationError(f"privacy.chosen_epsilon is {chosen!r}; it must be null or one of the epsilons "
                                  f"tried: {', '.join(f'{e:g}' for e in eps)}")
    out.update(mechanism=mechanism.strip(), epsilons=[float(e) for e in eps], delta=float(delta),
               chosen_epsilon=None if chosen is None else float(chosen))
    return out


def privacy_line(record: dict[str, Any] | None) -> str | None:
    """One line saying how a version was trained with differential privacy, or ``None`` without a record.

    >>> privacy_line({"mechanism": "DP-EBM (interpret)", "epsilons": [1.0, 4.0], "delta": 1e-6, "chosen_epsilon": 4.0})
    'trained with differential privacy: DP-EBM, ε = 4 (δ = 1e-06)'
    """
    if not record:
        return None
    name = str(record.get("mechanism", "")).split(" (")[0]
    delta = record.get("delta")
    chosen = record.get("chosen_epsilon")
    if chosen is None:
        tried = ", ".join(f"{e:g}" for e in record.get("epsilons") or [])
        line = f"trained with differential privacy: {name}, ε not chosen (tried {tried}; δ = {delta:g})"
    else:
        line = f"trained with differential privacy: {name}, ε = {chosen:g} (δ = {delta:g})"
    return line + _caveats(record)


def _caveats(record: dict[str, Any]) -> str:
    """What the record itself says weakens the guarantee: ranges read from the private data (outside the
    budget) and noise drawn from a fixed seed (anyone with the seed can undo it)."""
    out = []
    from_data = record.get("bounds_from_data")
    if isinstance(from_data, list) and from_data:
        out.append(f"the ranges of {', '.join(map(str, from_data))} were read from the training data, outside the "
                   f"privacy budget")
    if record.get("seeded_noise") is True:
        out.append("the noise came from a fixed seed")
    return "; not a full guarantee: " + "; ".join(out) if out else ""
