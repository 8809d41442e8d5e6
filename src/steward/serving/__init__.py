"""Guarded serving: the pipeline of checks around every prediction of a deployed model.

The registry (``steward.governance``) holds deployments, kill switches and the prediction log; the web
layer wires them to the guard. This package holds what needs neither: the training profile a version is
screened against, the guard's settings, its state between requests, the scorer and the pipeline.
"""

from steward.serving._profile import FieldError, Screen, TrainingProfile, build_profile, row_key
from steward.serving._settings import GuardSettings, guard_problems, load_guard

__all__ = ["FieldError", "GuardSettings", "Screen", "TrainingProfile", "build_profile", "guard_problems",
           "load_guard", "row_key"]
