"""Numbers as people read them: counts with thousands separators, rates as percentages, small
p-values as ``p < 0.001``, and never an exponent (``2.713e-07``) or a count printed as ``18.00``."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["count", "number", "pct", "pp", "pvalue", "p_text", "ratio", "interval", "is_missing"]

UNDEFINED = "undefined"


def is_missing(x: Any) -> bool:
    """None, NaN, NA or an infinity: a value no one can read as a number."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def count(x: Any) -> str:
    """``12,345``: a whole number with thousands separators (a float count is rounded, never ``18.00``)."""
    return UNDEFINED if is_missing(x) else f"{round(float(x)):,}"


def number(x: Any, digits: int = 3, *, trim: bool = False) -> str:
    """About ``digits`` significant figures in fixed point; large numbers get separators, and a value
    too small to show is ``0.000``, never an exponent. ``trim`` drops trailing zeros (for a setting
    in a sentence, ``0.5`` rather than ``0.500``; a table keeps them so its decimals line up)."""
    if is_missing(x):
        return UNDEFINED
    try:
        v = float(x)
    except (TypeError, ValueError):  # a word among numbers (a method's name, say) is shown as it is
        return str(x)
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    magnitude = math.floor(math.log10(abs(v)))
    decimals = min(max(digits - 1 - magnitude, 0), 3)
    text = f"{v:,.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-"):
        return text[1:] if not text.strip("-0.,") else "−" + text[1:]  # no sign on a zero
    return text


def pct(x: Any, digits: int = 1) -> str:
    """``12.3%`` for a share or rate in [0, 1]; a tiny non-zero share is ``< 0.1%``, not ``0.0%``."""
    if is_missing(x):
        return UNDEFINED
    v = 100 * float(x)
    floor = 10 ** -digits
    if abs(v) < 1e-9:  # rounding noise of a zero, such as an interval's lower end
        v = 0.0
    if 0 < abs(v) < floor:
        return f"< {floor:.{digits}f}%" if v > 0 else f"> −{floor:.{digits}f}%"
    text = f"{v:.{digits}f}%"
    return text.replace("-", "−")


def pp(x: Any, digits: int = 1) -> str:
    """A change of a rate in percentage points, signed: ``+3.2 pp``, ``−0.4 pp``."""
    if is_missing(x):
        return UNDEFINED
    v = 100 * float(x)
    text = f"{v:+.{digits}f} pp"
    return "0.0 pp" if text in ("+0.0 pp", "-0.0 pp") else text.replace("-", "−")


def pvalue(p: Any) -> str:
    """A p-value for a table cell: ``< 0.001`` or three decimals (``0.042``)."""
    if is_missing(p):
        return "no test"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def p_text(p: Any) -> str:
    """A p-value in a sentence: ``p < 0.001`` or ``p = 0.042``."""
    if is_missing(p):
        return "no test"
    return "p < 0.001" if float(p) < 0.001 else f"p = {float(p):.3f}"


def ratio(x: Any) -> str:
    """A ratio of two rates (adverse impact ratio, FPR ratio): two decimals."""
    return UNDEFINED if is_missing(x) else f"{float(x):.2f}"


def interval(lo: Any, hi: Any, fmt: Any = number) -> str:
    """``lo–hi`` in the same format as its estimate; empty when either end is undefined."""
    if is_missing(lo) or is_missing(hi):
        return ""
    # a dash between two negative numbers reads as a third minus sign
    sep = " to " if float(lo) < 0 or float(hi) < 0 else "–"
    return f"{fmt(lo)}{sep}{fmt(hi)}"
