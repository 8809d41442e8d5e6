"""Audit data: roles, sources (DataFrame, Arrow, CSV, Parquet), validation of values."""

from steward.data._roles import Protected, Roles, parse_protected
from steward.data._source import Source, check_columns, file_sha256, load_frame, open_source
from steward.data._values import binary_mapping, group_labels, same_value

__all__ = [
    "Protected",
    "Roles",
    "Source",
    "binary_mapping",
    "check_columns",
    "file_sha256",
    "group_labels",
    "load_frame",
    "open_source",
    "parse_protected",
    "same_value",
]
