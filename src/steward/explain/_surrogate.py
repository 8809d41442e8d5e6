"""A global surrogate: a shallow decision tree trained to mimic the model's scores, with its fidelity.

The tree is fitted on part of the rows and judged on the rest: R² between its predictions and the
model's scores, and (for a classifier) the share of rows where both make the same decision. A
surrogate with low fidelity explains a different model, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["SurrogateTree", "surrogate_tree"]


@dataclass
class SurrogateTree:
    """A decision tree that mimics a model, with its fidelity on held-out rows."""

    tree: Any
    columns: list[str]
    rules: str
    r2: float
    agreement: float | None
    max_depth: int
    train_rows: int
    test_rows: int

    def to_frame(self) -> pd.DataFrame:
        """The fidelity figures as one row."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "rules"}])

    def to_dict(self) -> dict[str, Any]:
        return {"max_depth": self.max_depth, "r2": self.r2, "agreement": self.agreement, "rules": self.rules,
                "train_rows": self.train_rows, "test_rows": self.test_rows, "leaves": int(self.tree.get_n_leaves())}

    def chart(self) -> str:
        from steward.explain._charts import tree_chart

        said = f"R² {self.r2:.3f}" + ("" if self.agreement is None else f", same decision on {self.agreement:.1%}")
        return tree_chart(self.tree, self.columns, f"Surrogate tree of depth {self.max_depth} ({said} of held-out rows)")

    def _repr_html_(self) -> str:
        import html

        from steward._html import fragment

        return fragment(self.chart() + f"<details><summary>The tree's rules</summary><pre>{html.escape(self.rules)}"
                        "</pre></details>")


def _encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as they are, text and categories as one 0/1 column per value (``feature=value``)."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)
            or isinstance(frame[c].dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(frame[c].dtype)]
    if not text:
        return frame.astype(float)
    return pd.get_dummies(frame.astype({c: object for c in text}), columns=text, prefix_sep="=", dtype=float)


def surrogate_tree(model: Any, X: pd.DataFrame, *, max_depth: int = 3, min_samples_leaf: int = 20,
                   threshold: float = 0.5, test_size: float = 0.3, random_state: int = 0) -> SurrogateTree:
    """Fit a depth-``max_depth`` regression tree to the model's scores on ``X``; report its fidelity."""
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeRegressor, export_text

    from steward.models import wrap_model

    if not 1 <= int(max_depth) <= 8:
        raise DataValidationError(f"max_depth must be between 1 and 8 (a deeper tree is no longer read at a glance), "
                                  f"got {max_depth}")
    if not 0 < test_size < 1:
        raise DataValidationError(f"test_size must be between 0 and 1, got {test_size}")
    model = wrap_model(model)
    frame = model.inputs(X)
    if len(frame) < 2 * min_samples_leaf + 10:
        raise DataValidationError(f"a surrogate tree needs more rows: {len(frame)} given, at least "
                                  f"{2 * min_samples_leaf + 10} with min_samples_leaf={min_samples_leaf}")
    score = model.score(frame)
    enc = _encode(frame)
    a, b, sa, sb = train_test_split(enc, score, test_size=test_size, random_state=random_state)
    tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=random_state)
    tree.fit(a, sa)
    pred = tree.predict(b)
    r2 = float(r2_score(sb, pred)) if np.var(sb) > 0 else float("nan")
    agreement = float(np.mean((pred >= threshold) == (sb >= threshold))) if model.task == "classification" else None
    return SurrogateTree(tree, list(enc.columns), export_text(tree, feature_names=list(enc.columns), decimals=3),
                         r2, agreement, int(max_depth), len(a), len(b))
