"""Evidently's ``DataDriftPreset`` on two Parquet files; run by ``monitoring_peers.py`` in ``bench/.venv-monitoring``.

    python _evidently_drift.py REF.parquet CUR.parquet --numerical a,b --categorical c,d [--repeats N]

Reading the files is not timed. Each repeat times ``Report.run`` plus ``Report.as_dict()`` (how a user gets
the figures out); a warm-up on the first 2,000 rows (above 1,000, so the same default tests) pays for the lazy
imports first. Prints one line of JSON: the drifted columns, each column's test name, score and threshold,
and the seconds (best of the repeats; the run and the extraction apart as well).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("current")
    ap.add_argument("--numerical", default="")
    ap.add_argument("--categorical", default="")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    num = [c for c in args.numerical.split(",") if c]
    cat = [c for c in args.categorical.split(",") if c]
    try:
        import evidently
        import pandas as pd
        from evidently import ColumnMapping
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"status": "not installable", "reason": f"{type(exc).__name__}: {exc}"}))
        return 0
    warnings.simplefilter("ignore")
    cols = num + cat
    ref = pd.read_parquet(args.reference, columns=cols)
    cur = pd.read_parquet(args.current, columns=cols)
    mapping = ColumnMapping(target=None, prediction=None, numerical_features=num, categorical_features=cat)

    def run(r, c):
        report = Report(metrics=[DataDriftPreset()])
        report.run(reference_data=r, current_data=c, column_mapping=mapping)
        t = time.perf_counter()
        d = report.as_dict()
        return d, time.perf_counter() - t

    run(ref.head(2000), cur.head(2000))  # warm-up: lazy imports
    best = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        d, extract = run(ref, cur)
        total = time.perf_counter() - t0
        if best is None or total < best[0]:
            best = (total, extract, d)
    total, extract, d = best
    table = next(m["result"] for m in d["metrics"] if m["metric"] == "DataDriftTable")
    columns = {name: {"stattest": c["stattest_name"], "score": float(c["drift_score"]),
                      "threshold": float(c["stattest_threshold"]), "drifted": bool(c["drift_detected"]),
                      "type": c["column_type"]}
               for name, c in table["drift_by_columns"].items()}
    print(json.dumps({"status": "ok", "version": f"evidently {evidently.__version__}, pandas {pd.__version__}",
                      "seconds": total, "run_seconds": total - extract, "extract_seconds": extract,
                      "metrics": [m["metric"] for m in d["metrics"]],
                      "drifted": sorted(n for n, c in columns.items() if c["drifted"]), "columns": columns}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
