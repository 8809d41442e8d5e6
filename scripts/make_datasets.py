"""Build the compressed dataset copies that ship inside the package, from ../shared/data.

Run from the repository root: ``python scripts/make_datasets.py``. The output is deterministic
(gzip without a timestamp), so re-running it changes nothing unless the source changes.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "steward" / "datasets" / "files"

PERSONAL = {"name", "first", "last", "dob"}


def compas() -> None:
    src = SHARED / "compas" / "compas-scores-two-years.csv"
    raw = src.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    keep, seen = [], {}
    for i, name in enumerate(header):
        if name in PERSONAL:
            continue
        if name in seen:
            first = seen[name]
            if any(r[first] != r[i] for r in body):
                raise SystemExit(f"duplicate column {name!r} differs from its first copy; not dropping it")
            continue
        seen[name] = i
        keep.append(i)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([header[i] for i in keep])
    for r in body:
        w.writerow([r[i] for i in keep])
    out = OUT / "compas-scores-two-years.csv.gz"
    with open(out, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    print(f"{out.relative_to(ROOT)}: {len(body)} rows, {len(keep)} columns, "
          f"source sha256 {hashlib.sha256(raw).hexdigest()}")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    compas()
