"""Roles: which column plays which part in an audit."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steward.errors import RoleError

__all__ = ["Protected", "Roles", "parse_protected"]


@dataclass(frozen=True)
class Protected:
    """A protected attribute and, optionally, its reference group (as the user wrote it)."""

    column: str
    reference: str | None = None


@dataclass(frozen=True)
class Roles:
    """The columns of an audit and how to read them.

    ``label`` is the observed outcome (binary; ``positive_label`` names the positive value when it
    is not 1). The decision is either ``prediction`` (binary) or ``score >= threshold``. A score
    given together with a prediction is used for the standardized mean difference only.
    ``favourable`` says which decision value is good for the person (1 by default; 0 when the
    decision is "high risk", as in COMPAS).
    """

    label: str
    protected: tuple[Protected, ...]
    prediction: str | None = None
    score: str | None = None
    threshold: float | None = None
    favourable: int = 1
    positive_label: Any = None
    weight: str | None = None
    features: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise RoleError("label: give the name of the column that holds the observed outcome")
        if self.prediction is None and self.score is None:
            raise RoleError(
                "no decision given: pass prediction=COLUMN (a 0/1 decision) "
                "or score=COLUMN with threshold=T (the decision is score >= T)"
            )
        if self.prediction is not None and self.threshold is not None:
            raise RoleError(
                "threshold is only used with score and no prediction: pass either "
                "prediction=COLUMN, or score=COLUMN with threshold=T, not both"
            )
        if self.prediction is None and self.threshold is None:
            raise RoleError(
                f"score={self.score!r} needs threshold=T to turn it into a decision "
                "(the decision is 1 when score >= T)"
            )
        if self.threshold is not None:
            try:
                t = float(self.threshold)
            except (TypeError, ValueError):
                raise RoleError(f"threshold must be a number, got {self.threshold!r}") from None
            if not math.isfinite(t):
                raise RoleError(f"threshold must be a finite number, got {self.threshold!r}")
            object.__setattr__(self, "threshold", t)
        if self.favourable not in (0, 1) or isinstance(self.favourable, bool):
            raise RoleError(
                f"favourable must be 0 or 1 (the decision value that is good for the person), "
                f"got {self.favourable!r}"
            )
        if not self.protected:
            raise RoleError("protected: name at least one protected attribute, e.g. protected={'race': 'Caucasian'}")
        seen: dict[str, str] = {}
        for role, col in self.columns_by_role():
            if col in seen and not (role == "feature"):
                raise RoleError(
                    f"column {col!r} is used both as {seen[col]} and as {role}; give each role its own column"
                )
            seen.setdefault(col, role)

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(p.column for p in self.protected)

    def columns_by_role(self) -> list[tuple[str, str]]:
        """(role, column) pairs in a stable order, features last."""
        pairs = [("label", self.label)]
        if self.prediction is not None:
            pairs.append(("prediction", self.prediction))
        if self.score is not None:
            pairs.append(("score", self.score))
        pairs += [("protected attribute", p.column) for p in self.protected]
        if self.weight is not None:
            pairs.append(("weight", self.weight))
        pairs += [("feature", f) for f in self.features]
        return pairs

    def role_columns(self) -> list[str]:
        """The columns the statistics read (features excluded), without repeats."""
        out: list[str] = []
        for role, col in self.columns_by_role():
            if role != "feature" and col not in out:
                out.append(col)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "positive_label": _json_scalar(self.positive_label),
            "prediction": self.prediction,
            "score": self.score,
            "threshold": self.threshold,
            "decision": (
                f"{self.prediction} (as given)"
                if self.prediction is not None
                else f"1 when {self.score} >= {self.threshold:g}"
            ),
            "favourable": self.favourable,
            "protected": [{"column": p.column, "reference": p.reference} for p in self.protected],
            "weight": self.weight,
            "features": list(self.features),
        }


def _json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def parse_protected(spec: Any) -> tuple[Protected, ...]:
    """Read protected attributes from a mapping, a list of ``"col=ref"``/``"col"`` strings, or a string.

    >>> parse_protected({"race": "Caucasian", "sex": None})
    (Protected(column='race', reference='Caucasian'), Protected(column='sex', reference=None))
    >>> parse_protected(["race=Caucasian", "sex"])
    (Protected(column='race', reference='Caucasian'), Protected(column='sex', reference=None))
    """
    if spec is None:
        raise RoleError("protected: name at least one protected attribute, e.g. protected={'race': 'Caucasian'}")
    items: Iterable[tuple[str, Any]]
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        items = spec.items()
    elif isinstance(spec, Iterable):
        parsed = []
        for entry in spec:
            if isinstance(entry, Protected):
                parsed.append((entry.column, entry.reference))
            elif isinstance(entry, str):
                col, sep, ref = entry.partition("=")
                parsed.append((col.strip(), ref.strip() if sep else None))
            else:
                raise RoleError(
                    f"protected: each entry must be 'column' or 'column=reference', got {entry!r}"
                )
        items = parsed
    else:
        raise RoleError(f"protected: expected a mapping or a list of 'column=reference', got {type(spec).__name__}")
    out: list[Protected] = []
    for col, ref in items:
        if not isinstance(col, str) or not col:
            raise RoleError(f"protected: attribute names must be non-empty strings, got {col!r}")
        if ref is not None and not isinstance(ref, str):
            ref = _format_reference(ref)
        if ref == "":
            raise RoleError(f"protected: the reference group of {col!r} is empty; write {col}=GROUP or just {col}")
        if any(p.column == col for p in out):
            raise RoleError(f"protected: attribute {col!r} is given twice")
        out.append(Protected(col, ref))
    if not out:
        raise RoleError("protected: name at least one protected attribute, e.g. protected={'race': 'Caucasian'}")
    return tuple(out)


def _format_reference(ref: Any) -> str:
    if isinstance(ref, float) and ref.is_integer():
        return str(int(ref))
    return str(ref)
