"""Seeded prediction logs for the monitor tests: a calibrated score of one number ``x``, a category ``c`` and a
group ``sex``, stamped over ``days`` from ``start``."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLEAN_ENV = {"STEWARD_API_KEY": None, "STEWARD_DATABASE_URL": None, "STEWARD_POLICY": None, "STEWARD_SERVER": None}


def log_rows(rng: np.random.Generator, n: int, shift: float, start: str, days: int) -> pd.DataFrame:
    """``n`` predictions; ``shift`` moves ``x`` (and with it the scores) by that many standard deviations."""
    x = rng.normal(shift, 1, n)
    s = 1 / (1 + np.exp(-x))
    return pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["F", "M"], n), "score": s,
                         "decision": (s >= 0.5).astype(int), "label": (rng.random(n) < s).astype(int),
                         "ts": pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.integers(0, days * 86400, n),
                                                                               unit="s")})
