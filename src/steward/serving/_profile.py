"""The training profile of a model version, and the per-row screen compiled from it.

:func:`build_profile` summarises the training data at registration (per feature: kind, missing rate, range
and deciles or category counts; plus a 64-bit key of every training row). The guarded prediction endpoint
compiles it once into a :class:`Screen` that validates and flags each JSON row in plain Python (no pandas).

>>> import pandas as pd
>>> profile = build_profile(pd.DataFrame({"age": [20, 40, 60], "job": ["a", "b", "a"]}))
>>> screen = Screen(profile)
>>> screen.screen(screen.validate({"age": 90, "job": "c"}))
['out_of_range:age', 'unseen_category:job', 'anomalous']
>>> screen.screen(screen.validate({"age": 40, "job": "b"}))
['training_row']
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import numbers
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["FieldError", "FeatureProfile", "TrainingProfile", "Screen", "build_profile", "row_key", "percentile_edges"]

FORMAT = 1
QUANTILE_LEVELS = [i / 10 for i in range(11)]
FLOAT32_MAX = 3.4e38
ANOMALY_WIDTHS = 10.0  # a number this many range widths beyond its training range makes the row "anomalous"


class FieldError(DataValidationError):
    """A field of an incoming row is wrong; ``field`` names it, the one-line message says how to fix it."""

    def __init__(self, field: str, message: str):
        super().__init__(" ".join(message.splitlines()))
        self.field = field


@dataclass
class FeatureProfile:
    """What training saw of one feature: ``min``, ``max``, ``quantiles`` (0, 0.1, ..., 1) and ``integer``
    describe the finite values of a ``"number"``; ``categories`` counts each value (as str) of a ``"category"``."""

    name: str
    kind: str
    missing_rate: float
    min: float | None = None
    max: float | None = None
    quantiles: list[float] | None = None
    categories: dict[str, int] | None = None
    integer: bool = False
    # the finite values counted on the distinct percentiles 1..99 (``edges``; bin i holds edges[i-1] < x <= edges[i],
    # the first everything up to edges[0], the last everything above edges[-1]) and summed per bin: the monitor's
    # reference
    histogram: dict[str, list] | None = None


@dataclass
class TrainingProfile:
    """The training profile of a model version: ``features`` in the model's input order, the number
    of training ``rows``, and ``row_hashes``, the :func:`row_key` of every training row."""

    features: dict[str, FeatureProfile]
    rows: int
    row_hashes: set[int]

    def to_dict(self) -> dict:
        """JSON-safe form; ``row_hashes`` is the base64 of the sorted keys as little-endian uint64."""
        packed = np.array(sorted(self.row_hashes), dtype="<u8").tobytes()
        features = [{"name": f.name, "kind": f.kind, "missing_rate": float(f.missing_rate),
                     "min": _float(f.min), "max": _float(f.max),
                     "quantiles": None if f.quantiles is None else [float(q) for q in f.quantiles],
                     "categories": None if f.categories is None else {str(k): int(n) for k, n in f.categories.items()},
                     "integer": bool(f.integer),
                     **({} if f.histogram is None else {"histogram": _histogram_dict(f.histogram)})}
                    for f in self.features.values()]
        return {"format": FORMAT, "rows": int(self.rows), "features": features,
                "row_hashes": base64.b64encode(packed).decode("ascii")}

    @classmethod
    def from_dict(cls, d: dict) -> TrainingProfile:
        """Read the form written by :meth:`to_dict`; raise ``ValueError`` naming the first malformed part."""
        _check(isinstance(d, Mapping), "it must be a JSON object", d)
        _check(d.get("format") == FORMAT, f"'format' must be {FORMAT}", d.get("format"))
        rows, items, packed = d.get("rows"), d.get("features"), d.get("row_hashes")
        _check(type(rows) is int and rows >= 0, "'rows' must be a non-negative integer", rows)
        _check(isinstance(items, list) and len(items) > 0, "'features' must be a non-empty list", items)
        features: dict[str, FeatureProfile] = {}
        for i, item in enumerate(items):
            feature = _feature_from_dict(item, f"features[{i}]")
            _check(feature.name not in features, f"features[{i}].name repeats an earlier feature", feature.name)
            features[feature.name] = feature
        _check(isinstance(packed, str), "'row_hashes' must be a base64 string", packed)
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            _check(False, "'row_hashes' is not valid base64", packed)
        _check(len(raw) % 8 == 0, "'row_hashes' must decode to whole 8-byte keys", f"{len(raw)} bytes")
        return cls(features=features, rows=rows, row_hashes=set(np.frombuffer(raw, dtype="<u8").tolist()))

    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict` (sorted keys, no spaces)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _histogram_dict(h: Mapping[str, Any]) -> dict[str, list]:
    out = {"edges": [float(e) for e in h["edges"]], "counts": [int(c) for c in h["counts"]]}
    if h.get("sums") is not None:
        out["sums"] = [float(x) for x in h["sums"]]
    return out


def _check(ok: bool, what: str, found: Any) -> None:
    if not ok:
        raise DataValidationError(f"training profile is malformed: {what}, got {_shown(found, 60)}; "
                                  "rebuild it with build_profile() or restore it from TrainingProfile.to_dict()")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _feature_from_dict(item: Any, where: str) -> FeatureProfile:
    _check(isinstance(item, Mapping), f"{where} must be an object", item)
    name, kind, rate, integer = item.get("name"), item.get("kind"), item.get("missing_rate"), item.get("integer")
    lo, hi, quantiles, categories = item.get("min"), item.get("max"), item.get("quantiles"), item.get("categories")
    _check(isinstance(name, str) and name != "", f"{where}.name must be a non-empty string", name)
    _check(kind in ("number", "category"), f"{where}.kind must be 'number' or 'category'", kind)
    _check(_is_real(rate) and 0.0 <= rate <= 1.0, f"{where}.missing_rate must be a number in [0, 1]", rate)
    _check(isinstance(integer, bool), f"{where}.integer must be true or false", integer)
    if kind == "category":
        _check(isinstance(categories, Mapping) and all(isinstance(k, str) and type(n) is int and n >= 0
                                                       for k, n in categories.items()),
               f"{where}.categories must be an object of category -> count", categories)
        _check(lo is None and hi is None and quantiles is None,
               f"{where}.min, .max and .quantiles must be null for a category feature", [lo, hi, quantiles])
        return FeatureProfile(name, kind, float(rate), categories=dict(categories), integer=integer)
    _check(all(v is None or _is_real(v) for v in (lo, hi)), f"{where}.min and .max must be finite numbers", [lo, hi])
    _check((lo is None) == (hi is None) and (lo is None or lo <= hi),
           f"{where}.min and .max must both be null or satisfy min <= max", [lo, hi])
    _check(quantiles is None or isinstance(quantiles, list) and len(quantiles) == len(QUANTILE_LEVELS)
           and all(_is_real(q) for q in quantiles),
           f"{where}.quantiles must be null or a list of {len(QUANTILE_LEVELS)} finite numbers", quantiles)
    _check(categories is None, f"{where}.categories must be null for a number feature", categories)
    histogram = item.get("histogram")
    if histogram is not None:
        edges, counts = (histogram.get("edges"), histogram.get("counts")) if isinstance(histogram, Mapping) else (0, 0)
        _check(isinstance(edges, list) and all(_is_real(e) for e in edges) and edges == sorted(set(edges))
               and isinstance(counts, list) and len(counts) == len(edges) + 1
               and all(type(c) is int and c >= 0 for c in counts),
               f"{where}.histogram must hold increasing 'edges' and one more non-negative 'counts'", histogram)
        sums = histogram.get("sums")
        _check(sums is None or isinstance(sums, list) and len(sums) == len(counts) and all(_is_real(x) for x in sums),
               f"{where}.histogram.sums must be null or one finite number per count", sums)
        histogram = {"edges": [float(e) for e in edges], "counts": list(counts),
                     **({} if sums is None else {"sums": [float(x) for x in sums]})}
    return FeatureProfile(name, kind, float(rate), _float(lo), _float(hi),
                          None if quantiles is None else [float(q) for q in quantiles], None, integer, histogram)


# --- row keys -------------------------------------------------------------------------------------------

def _token(value: Any) -> str:
    """Canonical text of one value: ``m;`` missing, ``n<repr(float)>;`` number, ``s<len>:<text>`` text."""
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    kind = type(value)
    if kind is float:
        return "m;" if value != value else f"n{value + 0.0!r};"  # + 0.0 turns -0.0 into 0.0
    if kind is int or kind is bool or isinstance(value, (numbers.Real, np.bool_)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        return "m;" if number != number else f"n{number + 0.0!r};"
    if value is None or value is pd.NA or value is pd.NaT:
        return "m;"
    return _token(str(value))


def _key_of(values: Sequence[Any]) -> int:
    text = "".join([_token(v) for v in values])
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def row_key(row: Mapping[str, Any], features: Sequence[str]) -> int:
    """64-bit key of a row's feature values, in the order of ``features``.

    A feature absent from ``row``, ``None`` and NaN all count as missing. Numbers (Python or numpy,
    bool as 0/1) are compared as ``float`` (``1 == 1.0``, ``-0.0 == 0.0``) and text as text, so a
    training row read by pandas and the same row sent as JSON get the same key. The key is the
    BLAKE2b (8-byte digest, little-endian) of a length-prefixed canonical encoding of the values.

    Examples
    --------
    >>> row_key({"a": 1, "b": "x"}, ["a", "b"]) == row_key({"a": 1.0, "b": "x", "c": 0}, ["a", "b"])
    True
    """
    return _key_of([row.get(name) for name in features])


# --- building -------------------------------------------------------------------------------------------

def percentile_edges(finite: np.ndarray) -> np.ndarray:
    """The distinct percentiles 1..99 of ``finite`` values: the bin edges drift is measured on."""
    return np.unique(np.percentile(finite, np.arange(1, 100)))


def _category_text(value: Any) -> str:
    """A category value as ``str``, the same for a pandas scalar and its JSON form."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Real):
        return str(int(value)) if isinstance(value, numbers.Integral) else repr(float(value))
    return str(value)


def build_profile(frame: pd.DataFrame, features: Sequence[str] | None = None) -> TrainingProfile:
    """Profile the training data ``frame`` over ``features`` (default: every column, in order).

    A column is a ``"number"`` feature when pandas holds it as numeric (bool as 0/1), otherwise
    (text, categorical dtype, ...) a ``"category"`` feature whose values are compared as ``str``.
    Row keys are taken of each row as :meth:`Screen.validate` returns it (numbers float, categories str).
    Raises :class:`~steward.errors.DataValidationError` (a ``ValueError``) for an empty frame, or a
    feature that is not a column or is repeated.
    """
    names = list(frame.columns) if features is None else list(features)
    if not names:
        raise DataValidationError("no features to profile: pass a frame with columns or a non-empty features list")
    if len(frame) == 0:
        raise DataValidationError("the training frame has no rows; a training profile needs the training data")
    profiles: dict[str, FeatureProfile] = {}
    columns: list[list[Any]] = []
    for name in names:
        if name not in frame.columns:
            raise DataValidationError(f"column {name!r} is not in the training frame; its columns are: "
                                      f"{', '.join(map(str, frame.columns))}")
        if str(name) in profiles or isinstance(frame[name], pd.DataFrame):
            raise DataValidationError(f"column {name!r} appears more than once; give each feature once")
        series = frame[name]
        dtype = series.dtype
        is_number = (pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
                     and not pd.api.types.is_complex_dtype(dtype))
        if is_number:
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            finite = values[np.isfinite(values)]
            profile = FeatureProfile(str(name), "number", float(missing.mean()))
            if finite.size:
                profile.min, profile.max = float(finite.min()), float(finite.max())
                profile.quantiles = [float(q) for q in np.quantile(finite, QUANTILE_LEVELS)]
                profile.integer = bool(np.all(finite == np.floor(finite)))
                edges = percentile_edges(finite)
                idx = np.searchsorted(edges, finite, side="left")
                profile.histogram = {"edges": edges.tolist(), "counts": np.bincount(idx, minlength=len(edges) + 1).tolist(),
                                     "sums": np.bincount(idx, weights=finite, minlength=len(edges) + 1).tolist()}
            columns.append(values.tolist())
        else:
            missing = series.isna().to_numpy()
            texts = [None if m else _category_text(v) for v, m in zip(series.tolist(), missing.tolist())]
            counts = Counter(text for text in texts if text is not None)
            profile = FeatureProfile(str(name), "category", float(missing.mean()),
                                     categories=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))
            columns.append(texts)
        profiles[str(name)] = profile
    hashes = {_key_of(values) for values in zip(*columns)}
    return TrainingProfile(features=profiles, rows=len(frame), row_hashes=hashes)


# --- screening ------------------------------------------------------------------------------------------

def _shown(value: Any, limit: int = 40) -> str:
    if isinstance(value, (Mapping, list, tuple, set)):
        return "a JSON object" if isinstance(value, Mapping) else "a JSON array"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _bad(name: str, problem: str, value: Any, fix: str) -> FieldError:
    return FieldError(name, f"field {name!r} {problem}, got {_shown(value)}; {fix}")


_SEND_NUMBER = "send a finite JSON number, or null for a missing value"
_NUMBER_TYPES = (float, int, str, np.integer, np.floating, np.bool_)  # bool is an int; text "42" reads as 42


def _to_number(name: str, value: Any) -> float:
    if not isinstance(value, _NUMBER_TYPES):
        raise _bad(name, "must be a number", value, _SEND_NUMBER)
    try:
        number = float(value)
    except ValueError:
        raise _bad(name, "must be a number, not text", value, _SEND_NUMBER) from None
    except OverflowError:
        number = math.inf
    if not abs(number) <= FLOAT32_MAX:  # also catches NaN
        finite = number == number and (not math.isinf(number) or isinstance(value, int))  # a huge int overflows
        problem = f"exceeds ±{FLOAT32_MAX:g}" if finite else "must be finite"
        raise _bad(name, f"{problem} (a number within float32 range)", value, _SEND_NUMBER)
    return number + 0.0  # -0.0 becomes 0.0


def _to_category(name: str, value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (list, tuple, set, Mapping)) or isinstance(value, float) and not math.isfinite(value):
        raise _bad(name, "must be a single category value", value,
                   "send the category as a string, or null for a missing value")
    return _category_text(value)


def _bounds(f: FeatureProfile, margin: float) -> Any:
    """Category set, or (low, high, far low, far high) of a number (None when training saw none)."""
    if f.kind != "number":
        return frozenset(f.categories or ())
    if f.min is None or f.max is None:
        return None
    width = f.max - f.min
    far = ANOMALY_WIDTHS * (width if width > 0 else max(1.0, abs(f.min)))
    return f.min - margin * width, f.max + margin * width, f.min - far, f.max + far


class Screen:
    """A training profile compiled for checking incoming rows one at a time.

    Parameters
    ----------
    profile : TrainingProfile
        The profile of the model version serving the rows.
    range_margin : float
        Widen each number's training range ``[min, max]`` by this share of its width on both sides
        before a value counts as out of range.
    allow_extra : collection of str
        Fields that may accompany the features (a subject id...); any other unknown field is an error.

    Notes
    -----
    :meth:`screen` flags a row ``"anomalous"`` (garbage rather than a new case) when at least half of
    its features are flagged out of range or unseen, or when any number lies beyond its training range
    by more than 10 range widths (e.g. an age of 1e9); a range of one value counts as ``max(1, |value|)`` wide.
    """

    __slots__ = ("profile", "features", "_checks", "_flags", "_allowed", "_expected", "_hashes")

    def __init__(self, profile: TrainingProfile, *, range_margin: float = 0.0, allow_extra: Collection[str] = ()):
        if not isinstance(range_margin, (int, float)) or not math.isfinite(range_margin) or range_margin < 0:
            raise DataValidationError(f"range_margin must be a finite number >= 0, got {range_margin!r}")
        self.profile = profile
        self.features: tuple[str, ...] = tuple(profile.features)
        extra = sorted((allow_extra,) if isinstance(allow_extra, str) else allow_extra)
        self._allowed = frozenset(extra).union(self.features)
        self._hashes = frozenset(profile.row_hashes)
        more = [f"... ({len(self.features)} in all)"] if len(self.features) > 30 else []
        self._expected = ", ".join(list(self.features[:30]) + more) + (
            f" (and the extra fields allowed: {', '.join(extra)})" if extra else "")
        self._checks = tuple((f.name, _to_number if f.kind == "number" else _to_category, f.missing_rate > 0)
                             for f in profile.features.values())
        self._flags = tuple((f.name, f.kind == "number", _bounds(f, range_margin)) for f in profile.features.values())

    def validate(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row's features in profile order, numbers as ``float``, categories as ``str``, missing as ``None``.

        Raises :class:`FieldError` when a feature is absent, a number is not finite or beyond float32 range
        (numeric text such as ``"42"`` is read, a bool is 0/1), a category is an array or object, a
        feature never missing in training is null, or a field is neither a feature nor in ``allow_extra``.
        A row that is not an object raises it with field ``"<row>"``.
        """
        if not isinstance(row, Mapping):
            raise _bad("<row>", "(the row) must be a JSON object of feature -> value", row,
                       f"send one object per row with the fields: {self._expected}")
        out: dict[str, Any] = {}
        for name, convert, nullable in self._checks:
            try:
                value = row[name]
            except KeyError:
                raise FieldError(name, f"field {name!r} is missing; the row must include every feature "
                                       f"({len(self.features)}), with null for a missing value") from None
            if value is not None:
                out[name] = convert(name, value)
            elif nullable:
                out[name] = None
            else:
                raise FieldError(name, f"field {name!r} is null, but training never had it missing; send a value")
        for name in row if len(row) > len(out) else ():
            if name not in self._allowed:
                raise FieldError(str(name), f"field {name!r} is not a feature of this model; the expected "
                                            f"fields are: {self._expected}")
        return out

    def screen(self, row: Mapping[str, Any]) -> list[str]:
        """Flags for a row returned by :meth:`validate` (see the class notes for ``"anomalous"``).

        Returns, in this order: ``"out_of_range:<feature>"`` and ``"unseen_category:<feature>"`` in
        feature order, then ``"anomalous"``, then ``"training_row"`` when the row's :func:`row_key`
        is one of the training rows' (an exact copy of a training row, as a membership probe sends).
        Missing values raise no flag.
        """
        flags: list[str] = []
        far = False
        values = []
        for name, is_number, check in self._flags:
            value = row[name]
            values.append(value)
            if value is None or check is None:
                continue
            if is_number:
                lo, hi, far_lo, far_hi = check
                if value < lo or value > hi:
                    flags.append("out_of_range:" + name)
                    far = far or value < far_lo or value > far_hi
            elif value not in check:
                flags.append("unseen_category:" + name)
        if flags and (far or 2 * len(flags) >= len(self._flags)):
            flags.append("anomalous")
        if _key_of(values) in self._hashes:
            flags.append("training_row")
        return flags
