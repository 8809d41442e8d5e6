"""Audit data: roles, sources (DataFrame, Arrow, CSV, Parquet), validation of values."""

from steward.data._roles import Protected, Roles, parse_protected
from steward.data._source import Source, check_columns, check_csv_rows, file_sha256, load_frame, open_source
from steward.data._values import (
    LARGEST_INPUT,
    binary_mapping,
    check_feature_values,
    check_training_label,
    group_labels,
    row_name,
    same_value,
)

__all__ = [
    "LARGEST_INPUT",
    "Protected",
    "Roles",
    "Source",
    "binary_mapping",
    "check_columns",
    "check_csv_rows",
    "check_feature_values",
    "check_training_label",
    "file_sha256",
    "group_labels",
    "load_frame",
    "open_source",
    "parse_protected",
    "row_name",
    "same_value",
]
