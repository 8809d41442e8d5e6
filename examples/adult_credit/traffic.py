"""Send guarded decisions to a running Steward server, as an application would: single rows and a batch,
a few of them unlike the training data (routed to review), and a repeat of one customer's request.

    python examples/adult_credit/traffic.py URL CALLER_KEY DEPLOYMENT TEST.csv [ROWS]

Prints how many decisions took each route. Standard library only (urllib), so any application can copy it.
"""

from __future__ import annotations

import csv
import json
import sys
import urllib.error
import urllib.request
from collections import Counter

FEATURES_FILE = "features.txt"


def post(url: str, key: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main(url: str, key: str, deployment: str, test_csv: str, n: int = 200) -> None:
    from pathlib import Path

    features = (Path(test_csv).parent / FEATURES_FILE).read_text().strip().split(",")
    with open(test_csv, newline="") as f:
        rows = []
        for i, rec in enumerate(csv.DictReader(f)):
            if i >= n:
                break
            row = {c: (float(rec[c]) if c in ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
                       else rec[c]) for c in features}
            rows.append({**row, "subject_id": f"customer-{i}", "race": rec["race"], "sex": rec["sex"]})
    endpoint = f"{url.rstrip('/')}/api/deployments/{deployment}/predict"
    routes: Counter[str] = Counter()
    for row in rows[: n // 2]:  # one request per customer
        status, body = post(endpoint, key, {"row": row})
        routes[body.get("route") or body.get("result", {}).get("route") or f"HTTP {status}"] += 1
    status, body = post(endpoint, key, {"rows": rows[n // 2:]})  # the rest in one batch
    routes.update(r["route"] for r in body.get("results", []))
    unusual = [dict(rows[0], age=97.0, subject_id="customer-x1"), dict(rows[1], **{"hours-per-week": 120.0}),
               dict(rows[2], occupation="Astronaut")]
    for row in unusual + [rows[3]]:  # three unlike the training data, and a repeat of customer-3's request
        status, body = post(endpoint, key, {"row": row})
        routes[body.get("route") or body.get("result", {}).get("route") or f"HTTP {status}"] += 1
    print("guarded decisions by route: " + ", ".join(f"{k} {v}" for k, v in sorted(routes.items())))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        raise SystemExit(__doc__)
    main(*sys.argv[1:5], *( [int(sys.argv[5])] if len(sys.argv) == 6 else []))
