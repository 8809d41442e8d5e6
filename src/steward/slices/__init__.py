"""Slice discovery: the subgroups (conjunctions of feature = value) where a model does worst.

>>> from steward.slices import find_slices, misclassified
>>> report = find_slices(df, misclassified(df.label, df.decision), features=["age", "sex", "region"])  # doctest: +SKIP
>>> report.to_frame()  # doctest: +SKIP
"""

from steward.slices._encode import BINNINGS, Encoding, encode_features
from steward.slices._find import SliceReport, find_slices, misclassified
from steward.slices._sliceline import Lattice, sliceline
from steward.slices._spark import find_slices_spark

__all__ = ["BINNINGS", "Encoding", "Lattice", "SliceReport", "encode_features", "find_slices", "find_slices_spark",
           "misclassified", "sliceline"]
