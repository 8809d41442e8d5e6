"""The signal families of the monitor report, in the order it shows them, with what each value is."""

from __future__ import annotations

__all__ = ["FAMILIES"]

# (signal, section title, what its value is)
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("feature_drift", "Feature drift", "How far each feature's distribution moved from the reference's (PSI on the "
                                       "reference's deciles, or a distance, as the policy says)."),
    ("prediction_drift", "Prediction drift", "The PSI of the scores on the reference's score deciles, and the "
                                             "absolute change of the favourable decision rate."),
    ("data_quality", "Data quality", "Per feature: the increase of the missing rate over the reference's, the "
                                     "share of values outside the reference's range, or of categories it never saw."),
    ("performance", "Performance", "Once labels arrive: the drop of accuracy and AUC below the reference's (a "
                                   "breach also needs the drop to be significant); calibration is shown, not judged."),
    ("estimated_performance", "Estimated performance", "While labels are missing: the drop of accuracy and AUC "
                                                       "estimated from the scores' confidence, below the reference's."),
    ("fairness", "Fairness", "Per group: its favourable rate over its reference group's (adverse impact ratio) with "
                             "its interval, and with labels the true positive rate ratio; a breach is below the "
                             "minimum with the whole interval below parity."),
    ("fairness_drift", "Fairness drift", "A one-sided CUSUM of each group's adverse impact ratio falling below its "
                                         "reference value, in standard errors: a slow drift that lasts adds up."),
    ("screening", "Screening", "The share of rows the guard flagged, that were training rows, or duplicates."),
    ("key_volume", "Key volume", "Rows per caller key per window."),
    ("extraction", "Extraction", "PRADA: the Shapiro-Wilk W of each key's distances between queries; a model-"
                                 "extraction attack gives a low W."),
    ("oversight", "Oversight", "Per group: the share of reviewed decisions a person overturned, and of appeals "
                               "that succeeded (a breach also needs the interval above zero)."),
)
