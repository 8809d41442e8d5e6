"""Monitoring: drift, decay, fairness over time, attack patterns and human overrides, window by window.

The reference (:func:`build_reference`, or :meth:`Reference.from_profile` for a deployed version), each
window's mergeable statistics (:func:`reduce_batch`, :class:`WindowStats`), its signals (:func:`evaluate`),
and the :class:`Monitor` that turns windows into alerts by the policy's rules (:class:`MonitorSettings`).
Storage, incidents and the kill switch are the registry's (``steward.governance``).
"""

from steward.monitoring._monitor import Monitor, window_keys, window_span
from steward.monitoring._reference import FeatureReference, Reference, build_reference
from steward.monitoring._settings import SIGNALS, MonitorSettings, load_monitor_settings, monitor_problems
from steward.monitoring._signals import auc_from_bins, binned_ks, binned_wasserstein, evaluate, psi
from steward.monitoring._spark import monitor_spark
from steward.monitoring._window import WindowStats, group_table, reduce_batch

__all__ = ["Monitor", "window_keys", "window_span", "FeatureReference", "Reference", "build_reference", "SIGNALS",
           "MonitorSettings", "load_monitor_settings", "monitor_problems", "auc_from_bins", "binned_ks",
           "binned_wasserstein", "evaluate", "psi", "WindowStats", "group_table", "reduce_batch", "monitor_spark"]
