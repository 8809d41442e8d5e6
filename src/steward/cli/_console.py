"""The Rich console every command prints with, and numbers formatted for people in its tables.

Outside a terminal (a pipe, a file, a CI log) Rich assumes 80 columns and cuts table cells to fit
(``African-American`` becomes ``Africa…``); there is no screen to fit, so this console is as wide as
its widest line instead. ``COLUMNS`` still decides when it is set.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.console import Console as _RichConsole
from rich.console import ConsoleDimensions
from rich.markup import escape

__all__ = ["Console", "cell"]

_UNLIMITED = 10_000


class Console(_RichConsole):
    """``rich.console.Console`` that never wraps or cuts output that does not go to a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in self._environ:
            return ConsoleDimensions(_UNLIMITED, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        _RichConsole.size.fset(self, new_size)


# table columns that hold counts of rows, and ones that hold shares of rows (0-1)
_COUNTS = {"rows", "flipped", "flips", "unfavourable", "flagged", "decisions_changed", "size", "candidate",
           "violating_rows", "to_favourable", "to_unfavourable"}
_SHARES = {"any_flip", "rows_flipping", "favourable_share", "share", "share_flagged", "share_changed",
           "share_of_flips", "flip_rate"}


def cell(column: str, value: Any) -> str:
    """A table cell as people read it: counts with separators (never ``18.00``), shares as percentages,
    other numbers with three significant figures and never an exponent (``2.713e-07`` is ``0.000``),
    an undefined value as ``n/a``; text escaped for Rich."""
    from steward._html import count, number, pct

    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, (int, np.integer)) or (column in _COUNTS and isinstance(value, (float, np.floating))):
        return count(value)
    if isinstance(value, (float, np.floating)):
        return pct(value) if column in _SHARES else number(value, 3)
    return escape(str(value))
