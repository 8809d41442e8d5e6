"""Sufficient-statistics engines: NumPy for in-memory data, DuckDB for files (out of core)."""

from steward.engine._cells import STAT_COLUMNS, CellTable
from steward.engine._duckdb import cells_from_duckdb
from steward.engine._numpy import cells_from_frame

__all__ = ["CellTable", "STAT_COLUMNS", "cells_from_duckdb", "cells_from_frame"]
