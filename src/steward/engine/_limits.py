"""Limits shared by the engines."""

from __future__ import annotations

from steward.errors import DataValidationError

MAX_GROUPS = 1000


def check_group_count(column: str, count: int) -> None:
    """A protected attribute needs two groups or more, and not so many that it is surely not categorical."""
    if count < 2:
        raise DataValidationError(
            f"protected attribute {column!r} has a single group, so there is nothing to compare; "
            "audit data that holds at least two groups, or drop this attribute"
        )
    if count > MAX_GROUPS:
        raise DataValidationError(
            f"protected attribute {column!r} has {count:,} distinct values (more than {MAX_GROUPS}); "
            "it looks continuous or like an identifier: bin it into groups first (e.g. age bands)"
        )
