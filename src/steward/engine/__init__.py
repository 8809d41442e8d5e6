"""Sufficient-statistics engines: NumPy for in-memory data, DuckDB for files (out of core), Spark for data a
cluster holds (``spark_session``; PySpark is imported only when a Spark engine runs)."""

from steward.engine._cells import STAT_COLUMNS, CellTable
from steward.engine._duckdb import cells_from_duckdb
from steward.engine._numpy import cells_from_frame
from steward.engine._spark import spark_session
from steward.engine._spark_cells import cells_from_spark

__all__ = ["CellTable", "STAT_COLUMNS", "cells_from_duckdb", "cells_from_frame", "cells_from_spark", "spark_session"]
