"""The two detectors that remember across windows: CUSUM on each group's adverse impact ratio, and PRADA
on each caller key's queries. Their state is a plain JSON-safe dict the monitor stores between runs.

CUSUM (Page 1954), one-sided, on the drop of a group's adverse impact ratio below its reference value, in
units of the window's standard error (Katz's, on the log scale, times the ratio) but never smaller than
``min_effect``: S = max(0, S + (target - air) / max(se, min_effect) - slack). It alarms when S exceeds
``limit`` and starts again from zero. Noise adds about -slack per window on average, so big and small
windows alike stay quiet when nothing moves; a small drift that persists adds up window after window.

PRADA (Juuti et al., "PRADA: Protecting against DNN Model Stealing Attacks", EuroS&P 2019): for each new
query of a key, its smallest distance to that key's earlier queries; benign traffic gives distances close
to a normal distribution, a model-extraction attack's synthetic queries do not. The Shapiro-Wilk statistic
W of a key's distances below ``shapiro_w`` raises the alarm. Numbers are standardised by the reference's
standard deviation; a category differing counts 1.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from steward.monitoring._reference import Reference, category_text
from steward.monitoring._settings import Extraction, FairnessDrift

__all__ = ["cusum_update", "ExtractionDetector"]

MAX_DISTANCES = 5000  # Shapiro-Wilk's p-value is exact up to 5,000 values; the W statistic is what we use


def cusum_update(state: dict[str, Any], fairness: Sequence[Mapping[str, Any]], rule: FairnessDrift, z: float,
                 window: str) -> list[dict[str, Any]]:
    """Update ``state`` (``{attribute=group: {"s": float, "windows": [...]}}``) with one closed window's
    fairness rows; return a signal-like dict per group (``breach`` when it alarms)."""
    out = []
    for r in fairness:
        if r.get("reference") or not r.get("large_enough") or r.get("air") is None:
            continue
        subject = f"{r['attribute']}={r['group']}"
        air = float(r["air"])
        lo, hi = r.get("air_ci_low"), r.get("air_ci_high")
        se = (math.log(hi) - math.log(lo)) / (2 * z) * air if lo and hi and lo > 0 else float("inf")
        target = r.get("reference_air") or 1.0
        target = min(float(target), 1.0)
        step = (target - air) / max(se, rule.min_effect) - rule.slack
        st = state.setdefault(subject, {"s": 0.0, "windows": []})
        s = max(0.0, st["s"] + step)
        alarm = s > rule.limit
        st["windows"] = (st["windows"] + [window])[-50:]
        st["s"] = 0.0 if alarm else s
        out.append({"signal": "fairness_drift", "subject": f"{subject}:cusum", "value": s, "threshold": rule.limit,
                    "breach": alarm, "judged": True, "why": "",
                    "measures": {"air": air, "target": target, "se": se if math.isfinite(se) else None,
                                 "step": step}})
    return out


class ExtractionDetector:
    """PRADA over the keys' queries; ``state`` is ``{key: {"history": [[...]], "distances": [...]}}``."""

    def __init__(self, reference: Reference, rule: Extraction, state: dict[str, Any] | None = None):
        self.ref, self.rule = reference, rule
        self.state: dict[str, Any] = state if state is not None else {}
        self.numbers = [n for n, f in reference.features.items() if f.kind == "number"]
        self.categories = [n for n, f in reference.features.items() if f.kind == "category"]

    def _vectors(self, batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        nums = np.zeros((len(batch), len(self.numbers)))
        for j, n in enumerate(self.numbers):
            f = self.ref.features[n]
            if n in batch.columns:
                x = pd.to_numeric(batch[n], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                nums[:, j] = np.nan_to_num((x - (f.mean or 0.0)) / (f.std or 1.0), nan=0.0)
        cats = np.zeros((len(batch), len(self.categories)), dtype=np.int64)
        for j, n in enumerate(self.categories):
            if n in batch.columns:
                text = category_text(batch[n])
                cats[:, j] = [zlib.crc32(t.encode()) if t is not None else -1 for t in text]  # stable across runs
        return nums, cats

    def update(self, batch: pd.DataFrame) -> None:
        """Add a batch's queries (with a ``key_id`` column), oldest first."""
        if "key_id" not in batch.columns or not len(batch):
            return
        nums, cats = self._vectors(batch)
        keys = batch["key_id"].astype(str).to_numpy()
        for key in pd.unique(keys):
            idx = np.flatnonzero(keys == key)
            st = self.state.setdefault(str(key), {"numbers": [], "categories": [], "distances": []})
            # the history's length, not -1: a reference without number (or category) features has 0 columns
            hn = np.asarray(st["numbers"], dtype=np.float64).reshape(len(st["numbers"]), len(self.numbers))
            hc = np.asarray(st["categories"], dtype=np.int64).reshape(len(st["categories"]), len(self.categories))
            dists = []
            for i in idx:
                if len(hn):
                    d2 = ((hn - nums[i]) ** 2).sum(axis=1) + (hc != cats[i]).sum(axis=1)
                    dists.append(float(math.sqrt(d2.min())))
                hn = np.vstack([hn, nums[i]])[-self.rule.history:]
                hc = np.vstack([hc, cats[i]])[-self.rule.history:]
            st["numbers"], st["categories"] = hn.tolist(), hc.tolist()
            st["distances"] = (st["distances"] + dists)[-MAX_DISTANCES:]

    def signals(self, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        out = []
        for key, st in sorted(self.state.items()):
            if keys is not None and key not in keys:
                continue
            d = np.asarray(st["distances"], dtype=np.float64)
            dims = len(self.numbers) + len(self.categories)
            enough = len(d) >= self.rule.min_queries and dims >= self.rule.min_dimensions
            w = float(sps.shapiro(d).statistic) if enough and np.ptp(d) > 0 else (0.0 if enough else float("nan"))
            why = (f"{dims} input(s): PRADA needs at least {self.rule.min_dimensions} (in few dimensions benign "
                   "nearest-neighbour distances are skewed too)" if dims < self.rule.min_dimensions
                   else f"{len(d)} distances, fewer than {self.rule.min_queries}")
            out.append({"signal": "extraction", "subject": key, "value": None if math.isnan(w) else w,
                        "threshold": self.rule.shapiro_w, "breach": bool(enough and w < self.rule.shapiro_w),
                        "judged": bool(enough), "why": "" if enough else why,
                        "measures": {"queries": len(d) + 1, "median_distance": float(np.median(d)) if len(d) else None}})
        return out
