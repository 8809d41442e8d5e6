"""Privacy and security probes, each beside its baseline and judged by a policy check:

- :func:`membership_inference`: can the model's outputs tell its training rows from unseen ones (overall and
  per protected group)?
- :func:`attribute_inference`: do the outputs reveal a protected attribute beyond what the other features do?
- :func:`extraction_probe`: how many queries copy the model, and how long that takes at the throttle?
- :func:`scan_pii`: which columns hold direct identifiers (e-mail, phone, card, IBAN, national ids, IP
  addresses, dates of birth, names)?
- :func:`reidentification_risk`: k-anonymity, l-diversity and t-closeness over quasi-identifiers.
- :func:`private_training`: differentially private EBMs at several ε, and what each costs every group.

The attacks and private training need the ``privacy`` extra (``pip install 'steward[privacy]'``); a missing
extra is a one-line error when a probe runs, never at import.

>>> from steward.privacy import scan_pii, reidentification_risk  # doctest: +SKIP
>>> scan_pii("applicants.parquet").identifier_columns()  # doctest: +SKIP
>>> reidentification_risk("applicants.parquet", ["age", "sex", "zip"]).k_anonymity  # doctest: +SKIP
"""

from steward.privacy._attribute import AttributeInferenceReport, attribute_inference
from steward.privacy._extraction import ExtractionReport, extraction_probe, sample_from_profile
from steward.privacy._membership import MembershipReport, membership_inference
from steward.privacy._pii import KINDS as PII_KINDS
from steward.privacy._pii import PiiReport, scan_pii
from steward.privacy._private import PrivateTrainingReport, private_training
from steward.privacy._reident import (
    ReidentificationReport,
    reidentification_risk,
    suggest_quasi_identifiers,
    suppress_small_cells,
)

__all__ = [
    "AttributeInferenceReport", "ExtractionReport", "MembershipReport", "PII_KINDS", "PiiReport",
    "PrivateTrainingReport", "ReidentificationReport", "attribute_inference", "extraction_probe",
    "membership_inference", "private_training", "reidentification_risk", "sample_from_profile", "scan_pii",
    "suggest_quasi_identifiers", "suppress_small_cells",
]
