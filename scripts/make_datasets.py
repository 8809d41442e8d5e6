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
    _gzip(out, buf.getvalue())
    print(f"{out.relative_to(ROOT)}: {len(body)} rows, {len(keep)} columns, "
          f"source sha256 {hashlib.sha256(raw).hexdigest()}")


def _gzip(out: Path, text: str) -> None:
    with open(out, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))


ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
                 "native-country", "income"]


def adult() -> None:
    """Both UCI files with a header row, whitespace stripped and the test labels' final period removed."""
    for split, name in (("train", "adult.data"), ("test", "adult.test")):
        src = SHARED / "adult" / name
        raw = src.read_bytes()
        lines = raw.decode("utf-8").splitlines()
        if lines[0].startswith("|"):
            lines = lines[1:]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(ADULT_COLUMNS)
        n = 0
        for line in lines:
            if not line.strip():
                continue
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != len(ADULT_COLUMNS):
                raise SystemExit(f"{name}: a row with {len(fields)} fields: {line!r}")
            fields[-1] = fields[-1].rstrip(".")
            w.writerow(fields)
            n += 1
        out = OUT / f"adult-{split}.csv.gz"
        _gzip(out, buf.getvalue())
        print(f"{out.relative_to(ROOT)}: {n} rows, source sha256 {hashlib.sha256(raw).hexdigest()}")


GERMAN_COLUMNS = ["checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
                  "employment_since", "installment_rate", "personal_status_sex", "other_debtors",
                  "residence_since", "property", "age_years", "other_installment_plans", "housing",
                  "existing_credits", "job", "num_dependents", "telephone", "foreign_worker", "class"]


def german() -> None:
    """The Statlog file with a header row and comma separators; codes (A11...) kept as they are."""
    src = SHARED / "german" / "german.data"
    raw = src.read_bytes()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(GERMAN_COLUMNS)
    n = 0
    for line in raw.decode("utf-8").splitlines():
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != len(GERMAN_COLUMNS):
            raise SystemExit(f"german.data: a row with {len(fields)} fields: {line!r}")
        w.writerow(fields)
        n += 1
    out = OUT / "german-credit.csv.gz"
    _gzip(out, buf.getvalue())
    print(f"{out.relative_to(ROOT)}: {n} rows, source sha256 {hashlib.sha256(raw).hexdigest()}")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    compas()
    adult()
    german()
