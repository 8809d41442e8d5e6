"""NannyML's CBPE on two Parquet files; run by ``monitoring_peers.py`` in ``bench/.venv-monitoring``.

    python _nannyml_cbpe.py REF.parquet CUR.parquet

``CBPE(y_pred_proba='score', y_pred='decision', y_true='label', problem_type='classification_binary',
metrics=['roc_auc', 'accuracy'], chunk_number=1)``: fit on the reference (which has labels), estimate on
the current rows (their labels are dropped first), one chunk holding every current row. Reading the files is
not timed; fit + estimate + ``to_df()`` is, once (for information: there is no target on it). Prints one
line of JSON with the estimated accuracy and ROC AUC of the current chunk, their sampling errors, and
whether CBPE recalibrated the scores on the reference.
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def main() -> int:
    ref_path, cur_path = sys.argv[1], sys.argv[2]
    try:
        import nannyml
        import pandas as pd
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"status": "not installable", "reason": f"{type(exc).__name__}: {exc}"}))
        return 0
    warnings.simplefilter("ignore")
    cols = ["score", "decision", "label"]
    ref = pd.read_parquet(ref_path, columns=cols)
    cur = pd.read_parquet(cur_path, columns=["score", "decision"])
    t0 = time.perf_counter()
    est = nannyml.CBPE(y_pred_proba="score", y_pred="decision", y_true="label", problem_type="classification_binary",
                       metrics=["roc_auc", "accuracy"], chunk_number=1)
    est.fit(ref)
    res = est.estimate(cur)
    df = res.to_df()
    seconds = time.perf_counter() - t0
    analysis = df[df[("chunk", "period")] == "analysis"]
    if len(analysis) != 1:
        raise SystemExit(f"expected one analysis chunk, got {len(analysis)}")
    row = analysis.iloc[0]
    out = {"status": "ok", "version": f"nannyml {nannyml.__version__}, pandas {pd.__version__}", "seconds": seconds,
           "chunk_rows": int(row[("chunk", "end_index")] - row[("chunk", "start_index")] + 1),
           "accuracy": float(row[("accuracy", "value")]), "roc_auc": float(row[("roc_auc", "value")]),
           "needs_calibration": bool(getattr(est, "needs_calibration", False))}
    for m in ("accuracy", "roc_auc"):
        for k in ("sampling_error", "upper_confidence_boundary", "lower_confidence_boundary"):
            if (m, k) in df.columns:
                out[f"{m}_{k}"] = None if pd.isna(row[(m, k)]) else float(row[(m, k)])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
