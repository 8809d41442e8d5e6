"""Precomputed TreeSHAP for LightGBM models with numeric splits (the idea of FastTreeSHAP v2, Yang 2022).

Path-dependent TreeSHAP gives each leaf ``l`` (value ``v``, the distinct features ``U`` on its path,
``z_k`` the share of training rows that follow the path at feature ``k``'s splits) this share of a
feature ``j`` in ``U`` for a row ``x``::

    phi_j = v (s_j - z_j) * sum over S within T minus j of  |S|! (d - |S| - 1)! / d!  *  prod over k in U - j - S of z_k

where ``T`` is the set of path features whose splits ``x`` follows (``s_k = 1`` for them, else 0)
and ``d = |U|``. It depends on ``x`` only through ``T``: so for each leaf the ``2^d x d`` table of
values is computed once per model (elementary symmetric polynomials of the ``z`` make each entry
O(d^2)), and explaining a row is one pass over the leaves: find ``T`` from the path's splits, add
the table's row. That is O(leaves x depth) per row and tree, against TreeSHAP's
O(leaves x depth^2), and the rows are spread over all cores.

Used for LightGBM models whose trees are at most 8 deep (tables grow as 2^depth) and split only on
numbers; everything else goes to LightGBM's own ``pred_contrib``. Splits are followed exactly as
LightGBM does (missing values by the split's missing type and default direction), and the values
equal ``pred_contrib``'s to rounding (tested to 1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PrecomputedTreeShap", "precompute", "MAX_DEPTH"]

MAX_DEPTH = 8
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}


def _numba() -> Any:
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with shap
        return None
    return numba


@dataclass
class PrecomputedTreeShap:
    """The flattened leaves of a LightGBM model and their TreeSHAP tables."""

    n_features: int
    bias: float
    # per path node (all leaves' paths, concatenated)
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_missing: np.ndarray
    node_default_left: np.ndarray
    node_goes_left: np.ndarray
    node_unique: np.ndarray
    # per leaf
    path_start: np.ndarray
    leaf_depth: np.ndarray
    unique_start: np.ndarray
    table_start: np.ndarray
    # per (leaf, distinct path feature)
    unique_feature: np.ndarray
    table: np.ndarray

    def values(self, X: np.ndarray) -> np.ndarray:
        """``(rows, features)`` Shapley values of the rows of ``X`` (float64, the model's feature order)."""
        out = np.zeros((X.shape[0], self.n_features), dtype=np.float64)
        _kernels()["rows"](np.ascontiguousarray(X, dtype=np.float64), self.node_feature, self.node_threshold,
                           self.node_missing, self.node_default_left, self.node_goes_left, self.node_unique,
                           self.path_start, self.leaf_depth, self.unique_start, self.table_start,
                           self.unique_feature, self.table, out)
        return out


def _walk(node: dict, path: list, leaves: list) -> None:
    if "split_feature" not in node:
        leaves.append((list(path), float(node["leaf_value"]), float(node.get("leaf_count", 0))))
        return
    total = float(node["internal_count"])
    for side, child in (("left", node["left_child"]), ("right", node["right_child"])):
        count = float(child.get("internal_count", child.get("leaf_count", 0)))
        path.append((node, side == "left", count / total if total > 0 else 0.0))
        _walk(child, path, leaves)
        path.pop()


def precompute(booster: Any) -> PrecomputedTreeShap | None:
    """Tables for ``booster``, or None when its trees are not all numeric splits at most 8 deep."""
    if _numba() is None:
        return None
    dump = booster.dump_model()
    # random-forest mode averages the trees; linear trees fit a model in each leaf: not handled here
    if dump.get("average_output") or str(booster.params.get("linear_tree", "false")).lower() in ("true", "1"):
        return None
    nodes_f, nodes_t, nodes_m, nodes_d, nodes_l, nodes_u = [], [], [], [], [], []
    path_start, depth, ustart, tstart, ufeat = [0], [], [0], [0], []
    leaf_v, leaf_z = [], []
    bias = 0.0
    for info in dump["tree_info"]:
        root = info["tree_structure"]
        if "split_feature" not in root:  # a tree of one leaf: a constant
            bias += float(root["leaf_value"])
            continue
        leaves: list = []
        _walk(root, [], leaves)
        for path, value, _ in leaves:
            if len(path) > MAX_DEPTH:
                return None
            order: list[int] = []
            z: dict[int, float] = {}
            for node, left, frac in path:
                if node.get("decision_type") != "<=" or node.get("missing_type", "None") not in _MISSING:
                    return None
                f = int(node["split_feature"])
                if f not in z:
                    order.append(f)
                    z[f] = 1.0
                z[f] *= frac
                nodes_f.append(f)
                nodes_t.append(float(node["threshold"]))
                nodes_m.append(_MISSING[node.get("missing_type", "None")])
                nodes_d.append(bool(node.get("default_left", True)))
                nodes_l.append(left)
                nodes_u.append(order.index(f))
            path_start.append(len(nodes_f))
            depth.append(len(order))
            ufeat.extend(order)
            ustart.append(len(ufeat))
            tstart.append(tstart[-1] + (1 << len(order)) * len(order))
            leaf_v.append(value)
            leaf_z.append([z[f] for f in order])
            bias += value * float(np.prod([z[f] for f in order]))
    zs = np.zeros((len(leaf_z), MAX_DEPTH))
    for i, row in enumerate(leaf_z):
        zs[i, :len(row)] = row
    table = np.zeros(tstart[-1], dtype=np.float64)
    depth_a, tstart_a = np.asarray(depth, np.int64), np.asarray(tstart, np.int64)
    _kernels()["tables"](np.asarray(leaf_v, np.float64), zs, depth_a, tstart_a, _weights(), table)
    return PrecomputedTreeShap(
        booster.num_feature(), bias, np.asarray(nodes_f, np.int64), np.asarray(nodes_t, np.float64),
        np.asarray(nodes_m, np.int8), np.asarray(nodes_d, np.bool_), np.asarray(nodes_l, np.bool_),
        np.asarray(nodes_u, np.int64), np.asarray(path_start, np.int64), depth_a, np.asarray(ustart, np.int64),
        tstart_a, np.asarray(ufeat, np.int64), table)


def _weights() -> np.ndarray:
    """``w[d, m] = m! (d - m - 1)! / d!``, the Shapley weight of a coalition of m of the other d - 1."""
    from math import factorial

    w = np.zeros((MAX_DEPTH + 1, MAX_DEPTH + 1))
    for d in range(1, MAX_DEPTH + 1):
        for m in range(d):
            w[d, m] = factorial(m) * factorial(d - m - 1) / factorial(d)
    return w


_KERNELS: dict[str, Any] = {}


def _kernels() -> dict[str, Any]:
    """Compile the two loops once (numba caches them on disk)."""
    if _KERNELS:
        return _KERNELS
    numba = _numba()
    njit, prange = numba.njit, numba.prange

    @njit(cache=True)
    def tables(values, zs, depth, tstart, w, table):  # pragma: no cover - compiled
        e = np.zeros(MAX_DEPTH + 1)
        for leaf in range(values.shape[0]):
            d = depth[leaf]
            v = values[leaf]
            for mask in range(1 << d):
                for j in range(d):
                    # elementary symmetric polynomials of z over T minus j
                    e[:] = 0.0
                    e[0] = 1.0
                    size = 0
                    outside = 1.0
                    for k in range(d):
                        if k == j:
                            continue
                        if (mask >> k) & 1:
                            size += 1
                            for r in range(size, 0, -1):
                                e[r] += e[r - 1] * zs[leaf, k]
                        else:
                            outside *= zs[leaf, k]
                    total = 0.0
                    for m in range(size + 1):
                        total += w[d, m] * e[size - m]
                    s_j = 1.0 if (mask >> j) & 1 else 0.0
                    table[tstart[leaf] + mask * d + j] = v * (s_j - zs[leaf, j]) * outside * total

    @njit(parallel=True, cache=True)
    def rows(X, feat, thr, miss, default_left, goes_left, unique, path_start, depth, ustart, tstart, ufeat,
             table, out):  # pragma: no cover - compiled
        n_leaves = depth.shape[0]
        for i in prange(X.shape[0]):
            for leaf in range(n_leaves):
                d = depth[leaf]
                mask = (1 << d) - 1
                for p in range(path_start[leaf], path_start[leaf + 1]):
                    x = X[i, feat[p]]
                    if np.isnan(x) and miss[p] != 2:
                        x = 0.0
                    if (miss[p] == 1 and -1e-35 <= x <= 1e-35) or (miss[p] == 2 and np.isnan(x)):
                        left = default_left[p]
                    else:
                        left = x <= thr[p]
                    if left != goes_left[p]:
                        mask &= ~(1 << unique[p])
                base = tstart[leaf] + mask * d
                u0 = ustart[leaf]
                for u in range(d):
                    out[i, ufeat[u0 + u]] += table[base + u]

    _KERNELS.update(tables=tables, rows=rows)
    return _KERNELS
