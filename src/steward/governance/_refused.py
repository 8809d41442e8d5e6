"""Values the database cannot hold, turned from driver errors into a :class:`StewardError`.

Callers (the HTTP layer, the CLI) check lengths, ranges and characters first and name the field;
this is the net under them. A value the database refuses is the caller's mistake, never an
internal error: text longer than its column or with a NUL character (PostgreSQL refuses both),
text with an unpaired surrogate (no UTF-8 encoding exists), a whole number out of the column's range.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, StatementError

from steward.errors import StewardError

__all__ = ["refused_value", "text_problem"]


def text_problem(value: str) -> str | None:
    """What makes ``value`` impossible to store as text, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\x00), which text may not hold; remove it"
    if any("\ud800" <= c <= "\udfff" for c in value):
        return "contains an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode text; remove it"
    return None


def _params(exc: BaseException) -> list[dict[str, Any]]:
    params = getattr(exc, "params", None)
    if isinstance(params, dict):
        return [params]
    if isinstance(params, (list, tuple)):
        return [p for p in params if isinstance(p, dict)]
    return []


def _field(exc: BaseException, bad) -> str:
    names = sorted({k for p in _params(exc) for k, v in p.items() if bad(v)})
    return f" (field {', '.join(names)})" if names else ""


def refused_value(exc: BaseException) -> StewardError | None:
    """The :class:`StewardError` for a driver error caused by a value, or None for any other error.

    Integrity errors (a duplicate), lost connections and the like are not values and stay as they are.
    """
    if isinstance(exc, UnicodeEncodeError) and "surrogate" in str(exc):
        return StewardError("a text value contains an unpaired surrogate (\\ud800-\\udfff), which is not valid "
                            "Unicode and cannot be stored; remove it")
    if isinstance(exc, OverflowError):
        return StewardError("a whole number is too large to be stored; ids and counts must fit in 64 bits")
    if isinstance(exc, DataError):
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        if "NUL" in detail:
            where = _field(exc, lambda v: isinstance(v, str) and "\x00" in v)
            return StewardError(f"a text value{where} contains a NUL character (\\x00), which text may not hold; "
                                "remove it")
        if "too long" in detail:
            limit = re.search(r"\((\d+)\)", detail)
            n = int(limit.group(1)) if limit else 0
            where = _field(exc, lambda v: isinstance(v, str) and len(v) > n) if limit else ""
            return StewardError(f"a text value{where} is longer than the registry stores: {detail}; shorten it")
        if "out of range" in detail:
            return StewardError(f"a number is out of the range the registry stores: {detail}; ids are whole "
                                "numbers from 1 to 2147483647")
        return StewardError(f"the database refused a value: {detail}; correct the value and try again")
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError) and isinstance(exc.orig, ValueError):
        # Raised while binding a value (a type's processor refused it), before the database saw it.
        return refused_value(exc.orig) or StewardError(f"a value could not be stored: {exc.orig}; correct the "
                                                       "value and try again")
    return None
