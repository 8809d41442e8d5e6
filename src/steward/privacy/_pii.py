"""PII scan: which columns hold direct identifiers, judged on a sample of rows.

Every sampled value is read as text and tested against strict formats, each with its own validator
(a checksum where the identifier has one), so a number that merely looks like a card or an IBAN is
not counted. A value is counted once, for the first kind that accepts it, in the order of
:data:`KINDS`. A column holds an identifier of a kind when at least ``min_share`` of its non-missing
sampled values are one; the report gives the evidence (matches out of values checked) and masked
examples, never a raw value.

Two kinds are judged from the column's name as well as its values: a date of birth (a name that
suggests birth, and dates that make an age of 0 to 120 on the day of the scan) and a person's name.
The name test is a heuristic: capitalised alphabetic words (1 to 4 in a column whose name suggests
a person's name; otherwise 2 or 3, and only when the values are mostly distinct, so a column of
city names or job titles is not taken for names). Names written in capitals only, or in scripts
other than Latin, are not recognised.

``deep=True`` adds Microsoft Presidio's pattern recognisers (``pip install 'steward[privacy-deep]'``),
used directly on the text without any language model, on the values the strict tests did not
accept: they find identifiers inside free text and dozens of other countries' ids.
"""

from __future__ import annotations

import datetime as dt
import glob
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, MissingExtraError

__all__ = ["KINDS", "PiiReport", "scan_pii"]

# kind -> how a value is accepted (shown in the report). The order is the precedence of the kinds.
KINDS: dict[str, str] = {
    "email": "local@domain.tld with an RFC 5322 dot-atom local part",
    "payment_card": "13-19 digits, Luhn checksum and a card network's prefix",
    "iban": "country code, the country's IBAN length and the mod-97 check",
    "us_ssn": "AAA-GG-SSSS; area not 000, 666 or 9xx, group not 00, serial not 0000",
    "uk_nino": "UK National Insurance number: two allowed prefix letters, six digits, suffix A-D",
    "fr_nir": "French social security number (NIR): 13 digits and its mod-97 key",
    "nl_bsn": "Dutch citizen service number (BSN): 9 digits passing the 11-test",
    "ip_address": "an IPv4 or IPv6 address (Python's ipaddress)",
    "phone": "a valid number by phonenumbers: international (+ or 00) or in a national format",
    "date_of_birth": "a column named for birth holding dates that make an age of 0 to 120",
    "person_name": "capitalised alphabetic words (heuristic; see the module's notes)",
}

# national formats read: the North American plan and regions whose national numbers start with a trunk 0
# (or, in Italy, 0 or 3). Spain's nine digits without a prefix would take every SSN-like number for a phone.
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "IN", "AU", "IT")

# IBAN length per country (the SWIFT IBAN registry)
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}

# Card networks' prefixes (IIN ranges) and lengths: Visa; Mastercard (51-55, 2221-2720); American Express;
# Diners Club; JCB; Mir; Maestro (50, 56-58) and the 6-prefixed networks (Discover, UnionPay, Maestro, RuPay).
_CARD_IIN = re.compile(
    r"4(?:\d{12}|\d{15}|\d{18})|5[1-5]\d{14}|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}|3[47]\d{13}"
    r"|3(?:0[0-5]|[689]\d)\d{11,16}|35(?:2[89]|[3-8]\d)\d{12,15}|220[0-4]\d{12,15}|5[06-8]\d{11,17}|6\d{12,18}")

_EMAIL = (r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
          r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_CARD = r"[0-9](?:[ -]?[0-9]){12,18}"
_IBAN = r"[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}"
_SSN = r"([0-9]{3})-([0-9]{2})-([0-9]{4})"
_NINO = r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
_NINO_UNUSED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
_NIR = r"[12] ?\d{2} ?(?:0[1-9]|1[0-2]|20|3\d|4[0-2]|[5-9]\d) ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}"
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}"
_PHONE_CHARS = r"(?:\+|00)?[\d\s().\-/]{6,24}"
_NOT_PHONE = (r"[1-9]\d*|-?\d*\.\d+|\d{4}-\d{1,2}-\d{1,2}.*|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
              r"|\d{4}/\d{1,2}/\d{1,2}|\d{3}-\d{2}-\d{4}|" + _IPV4)
_PLAIN_NUMBER = r"-?[0-9]{1,6}|-?[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?|-?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+"
_DATE_SHAPE = (r"\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}/\d{1,2}/\d{1,2}"
               r"|(?:19|20)\d{6}")
_DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d")

_UP, _LO = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_WORD = (rf"(?:[{_UP}]\.|[{_UP}][{_UP}{_LO}]*[{_LO}](?:[-'’][{_UP}{_LO}]*[{_LO}])*"
         rf"|[{_UP}]['’][{_UP}][{_UP}{_LO}]*[{_LO}])")
_PARTICLE = r"(?:van|von|de|der|den|del|della|di|da|du|le|la|dos|das|bin|ibn|al|ter|ten)"
_NAME_HINTED = rf"{_WORD}(?: (?:{_PARTICLE} )*{_WORD}){{0,3}}"
_NAME_FREE = rf"{_WORD}(?: (?:{_PARTICLE} )*{_WORD}){{1,2}}"
_BIRTH_HINT = re.compile(r"(?:^|[^a-z])dob(?:[^a-z]|$)|birth|born|bday|geboren|geburt|naissance|nacimiento|nascita")
_NAME_WORDS = {"name", "names", "firstname", "lastname", "fullname", "surname", "forename", "givenname",
               "familyname", "middlename", "maidenname", "vorname", "nachname", "naam", "voornaam", "achternaam",
               "nom", "prenom", "prénom", "nombre", "apellido", "apellidos", "cognome", "nome"}
_NOT_PERSON = {"file", "filename", "host", "hostname", "product", "company", "column", "table", "model", "feature",
               "brand", "street", "city", "country", "org", "organisation", "organization", "domain", "dataset",
               "field", "item", "app", "device", "server", "path", "bank", "business", "team", "project", "store",
               "shop", "place", "region", "state", "event", "class", "type", "category", "key", "variable",
               "attribute", "branch", "school", "employer", "department", "job", "title", "species", "drug"}

_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


@dataclass
class PiiReport(HtmlView):
    """Which sampled columns hold direct identifiers.

    ``table`` has one row per (column, kind) with at least one match: ``matches`` values of that kind
    out of ``checked`` non-missing sampled values, their ``share``, ``identifier`` (share at least
    ``min_share``: the column holds that identifier), ``check`` (how a value was accepted) and
    ``examples`` (masked: never a raw value). ``sampled_rows`` rows were read of ``total_rows``
    (``None`` when the file's length was not counted); ``columns_scanned`` names every column tested.
    """

    table: pd.DataFrame
    sampled_rows: int
    total_rows: int | None
    columns_scanned: list[str]
    min_share: float
    deep: bool = False
    source: str = "dataframe"
    notes: list[str] = field(default_factory=list)

    page_title = "Personal identifiers in the data"
    page_kind = "probe"

    def identifier_columns(self) -> list[str]:
        """The columns holding at least one kind of identifier, in the data's order."""
        return list(dict.fromkeys(self.table.loc[self.table["identifier"], "column"]))

    def among(self, columns: Sequence[str]) -> list[str]:
        """The identifier columns among ``columns`` (a model's features, a report's columns), in their order."""
        found = set(self.identifier_columns())
        return [c for c in dict.fromkeys(map(str, columns)) if c in found]

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"sampled_rows": self.sampled_rows, "total_rows": self.total_rows, "source": self.source,
                "columns_scanned": list(self.columns_scanned), "min_share": self.min_share, "deep": self.deep,
                "identifier_columns": self.identifier_columns(), "notes": list(self.notes),
                "findings": json_rows(self.table, limit=len(self.table))}

    def html(self, heading: int = 2) -> str:
        """Page body: the verdict, each flagged column's share of identifiers, and the evidence."""
        from steward.privacy._pii_html import pii_html

        return pii_html(self, heading)


def scan_pii(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    sample: int | None = 10_000,
    seed: int = 0,
    min_share: float = 0.3,
    deep: bool = False,
) -> PiiReport:
    """Find the columns that hold direct identifiers (e-mail, phone, card, IBAN, national ids, IP
    addresses, dates of birth, person names), judged on a sample of rows.

    Parameters
    ----------
    data : pandas.DataFrame or path
        A frame, or a CSV or Parquet file, a folder of Parquet files or a glob of either. A file is
        never read whole: DuckDB draws the sample (reservoir sampling, reproducible for a ``seed``),
        every column as text.
    columns : list of str, optional
        The columns to scan (default: all).
    sample : int or None
        Rows to read (default 10,000); ``None`` reads every row. A longer frame is sampled with a
        seeded random generator.
    seed : int
        Seed of the sample: the same seed gives the same rows and the same counts.
    min_share : float
        A column holds an identifier when at least this share of its non-missing sampled values is one.
    deep : bool
        Also run Microsoft Presidio's pattern recognisers (needs ``presidio-analyzer``; no language
        model is used or downloaded) over the values the strict tests did not accept. Their findings
        are kinds named ``presidio:<ENTITY>`` and count values that *contain* such an entity, so they
        find identifiers inside free text and other countries' ids; they are looser than the strict
        tests (a bare pattern without its checksum counts when Presidio scores it 0.4 or more).

    Returns
    -------
    PiiReport
        One row per (column, kind) found, with the evidence counts and masked examples.

    Raises
    ------
    DataValidationError
        An unknown column, an unreadable or missing file, or an invalid option.
    MissingExtraError
        ``deep=True`` without presidio-analyzer installed.

    Examples
    --------
    >>> import pandas as pd
    >>> rep = scan_pii(pd.DataFrame({"contact": ["ann@example.org", "bo@example.net"], "n": [1, 2]}))
    >>> rep.identifier_columns(), rep.among(["n", "contact"])
    (['contact'], ['contact'])
    """
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, (int, np.integer))
                               or sample < 1):
        raise DataValidationError(f"sample: expected a positive whole number of rows or None, got {sample!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataValidationError(f"seed: expected a whole number >= 0, got {seed!r}")
    if isinstance(min_share, bool) or not isinstance(min_share, (int, float)) or not 0 < min_share <= 1:
        raise DataValidationError(f"min_share: expected a share in (0, 1], got {min_share!r}")
    try:
        import phonenumbers  # noqa: F401 - every scan tests for phone numbers
    except ImportError as exc:
        raise MissingExtraError("phonenumbers is needed for the PII scan: pip install 'steward[privacy]'") from exc
    recognisers = _presidio_recognisers() if deep else None
    if isinstance(data, pd.DataFrame):
        frame, total, source = _sample_frame(data, columns, sample, seed), len(data), "dataframe"
    elif isinstance(data, (str, Path)):
        frame, total, source = _sample_file(data, columns, sample, seed)
    else:
        raise DataValidationError(f"data: expected a pandas DataFrame or a path to a CSV or Parquet file, "
                                  f"got {type(data).__name__}")
    rows = []
    for name in frame.columns:
        values, counts, checked = _text_values(frame[name])
        found = _detect(values, counts, str(name))
        for kind, hit in found:
            rows.append(_row(str(name), kind, values, counts, hit, checked, min_share))
        if recognisers is not None:
            # Presidio looks only at what the strict tests left: text around identifiers, other countries' ids
            left = ~_full(values, _PLAIN_NUMBER)
            for _, hit in found:
                left &= ~hit
            for kind, hit in _presidio_hits(values, left, recognisers):
                rows.append(_row(str(name), kind, values, counts, hit, checked, min_share, masker=_mask_generic))
    cols = ["column", "kind", "matches", "checked", "share", "identifier", "check", "examples"]
    table = pd.DataFrame(rows, columns=cols)
    table = table.astype({"matches": "int64", "checked": "int64", "share": "float64", "identifier": "bool"})
    notes = [] if total is not None else ["the file's rows were not counted (a CSV file is not read whole)"]
    return PiiReport(table, len(frame), total, [str(c) for c in frame.columns], float(min_share), bool(deep),
                     source, notes)


def _row(column: str, kind: str, values: pd.Series, counts: np.ndarray, hit: np.ndarray, checked: int,
         min_share: float, masker: Callable[[str, str], str] | None = None) -> dict[str, Any]:
    matches = int(counts[hit].sum())
    share = matches / checked if checked else 0.0
    masker = masker or _mask
    examples = "; ".join(list(dict.fromkeys(masker(kind, v) for v in values[hit].head(50)))[:3])
    check = KINDS.get(kind, "Presidio pattern recogniser (its own validation where it has one)")
    return {"column": column, "kind": kind, "matches": matches, "checked": checked, "share": share,
            "identifier": share >= min_share, "check": check, "examples": examples}


# ----------------------------------------------------------------------------------------------- reading

def _check_columns(want: Sequence[str] | None, have: list[str]) -> list[str]:
    if want is None:
        return have
    if isinstance(want, str):
        want = [want]
    unknown = [c for c in want if c not in have]
    if unknown:
        raise DataValidationError(f"columns: {', '.join(map(repr, unknown))} not in the data; the columns are: "
                                  f"{', '.join(have[:50])}{' ...' if len(have) > 50 else ''}")
    return list(dict.fromkeys(want))


def _sample_frame(data: pd.DataFrame, columns: Sequence[str] | None, sample: int | None, seed: int) -> pd.DataFrame:
    frame = data.set_axis([str(c) for c in data.columns], axis=1)
    doubled = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if doubled:
        raise DataValidationError(f"data: column name(s) {', '.join(map(repr, doubled))} occur more than once; "
                                  f"rename them so that each column has its own name")
    frame = frame[_check_columns(columns, list(frame.columns))]
    if sample is not None and len(frame) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=sample, replace=False))
        frame = frame.iloc[rows]
    return frame


def _sql_text(s: str) -> str:
    return s.replace("'", "''")


def _relation(data: str | Path) -> tuple[str, str]:
    """The DuckDB table function reading ``data`` and the source's kind ("parquet" or "csv")."""
    text = str(data)
    path = Path(text)
    lower = text.lower()
    if any(ch in path.name for ch in "*?["):
        if not glob.glob(text, recursive=True):
            raise DataValidationError(f"data: no file matches {text!r}; check the pattern")
    elif not path.exists():
        raise DataValidationError(f"data: file {text!r} does not exist; check the path")
    elif path.is_dir():
        if not any(path.rglob("*.parquet")):
            raise DataValidationError(f"data: folder {text!r} holds no .parquet file; give a Parquet folder, or a "
                                      f"CSV or Parquet file")
        return f"read_parquet('{_sql_text(str(path / '**' / '*.parquet'))}', union_by_name=true)", "parquet"
    elif path.stat().st_size == 0:
        raise DataValidationError(f"data: file {text!r} is empty (0 bytes); give a file with a header and rows")
    if lower.endswith(_PARQUET_SUFFIXES):
        return f"read_parquet('{_sql_text(text)}', union_by_name=true)", "parquet"
    if lower.endswith(_CSV_SUFFIXES):
        delim = "\\t" if lower.endswith((".tsv", ".tsv.gz")) else ","
        return f"read_csv('{_sql_text(text)}', header=true, delim=E'{delim}', all_varchar=true)", "csv"
    raise DataValidationError(f"data: {path.name!r} is neither CSV ({', '.join(_CSV_SUFFIXES)}) nor Parquet "
                              f"({', '.join(_PARQUET_SUFFIXES)}); give a file with one of these endings")


def _sample_file(data: str | Path, columns: Sequence[str] | None, sample: int | None,
                 seed: int) -> tuple[pd.DataFrame, int | None, str]:
    import duckdb

    rel, kind = _relation(data)
    con = duckdb.connect()
    try:
        try:
            have = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
            names = _check_columns(columns, have)
            quoted = ['"' + c.replace('"', '""') + '"' for c in names]
            select = ", ".join(f"CAST({q} AS VARCHAR) AS {q}" for q in quoted)
            using = f" USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE ({int(seed)})" if sample else ""
            frame = con.execute(f"SELECT {select} FROM {rel}{using}").df()
            total = int(con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]) if kind == "parquet" else None
        except duckdb.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise DataValidationError(f"data: {str(data)!r} cannot be read as {kind.upper()}: {first}") from None
    finally:
        con.close()
    if total is None and (sample is None or len(frame) < sample):
        total = len(frame)  # the reservoir held every row
    return frame, total, kind


def _text_values(col: pd.Series) -> tuple[pd.Series, np.ndarray, int]:
    """The column's distinct non-missing values as stripped text (most frequent first), their counts, and
    the number of non-missing values."""
    s = col[col.notna()].astype("str").str.strip()
    s = s[s != ""]
    # most frequent first, ties in text order: the examples do not depend on the order rows were read in
    vc = s.value_counts(sort=False).sort_index().sort_values(ascending=False, kind="stable")
    return pd.Series(vc.index, dtype="str"), vc.to_numpy(dtype=np.int64), int(len(s))


# ----------------------------------------------------------------------------------------------- detectors

def _detect(values: pd.Series, counts: np.ndarray, name: str) -> list[tuple[str, np.ndarray]]:
    """Each kind with at least one value, and which distinct values are of that kind (each value at most once)."""
    out = []
    # a decimal, or a whole number of at most six digits, is no kind of identifier: most numeric columns end here
    left = ~_full(values, _PLAIN_NUMBER)
    for kind, test in _DETECTORS:
        idx = np.flatnonzero(left)
        if not len(idx):
            break
        sub = values.iloc[idx].reset_index(drop=True)
        found = test(sub, counts[idx], name)
        if found.any():
            hit = np.zeros(len(values), dtype=bool)
            hit[idx[found]] = True
            left &= ~hit
            out.append((kind, hit))
    return out


def _full(values: pd.Series, pattern: str) -> np.ndarray:
    return values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool, copy=True)


def _digits_matrix(digits: pd.Series) -> np.ndarray:
    """Equal-length digit strings as a (rows, length) array of ints."""
    width = len(digits.iloc[0])
    return (np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8).reshape(-1, width) - 48).astype(np.int64)


def _email(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    hit = values.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool, copy=True)
    if hit.any():
        idx = np.flatnonzero(hit)
        hit[idx] = _full(values.iloc[idx], _EMAIL)
    return hit


def _luhn(digits: pd.Series) -> np.ndarray:
    ok = np.zeros(len(digits), dtype=bool)
    lengths = digits.str.len().to_numpy()
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        d = _digits_matrix(digits.iloc[rows])
        doubled = d[:, ::-1].copy()
        doubled[:, 1::2] *= 2
        doubled[doubled > 9] -= 9
        ok[rows] = doubled.sum(axis=1) % 10 == 0
    return ok


def _card(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    hit = _full(values, _CARD)
    if hit.any():
        idx = np.flatnonzero(hit)
        digits = values.iloc[idx].str.replace(r"[ -]", "", regex=True)
        hit[idx] = _luhn(digits) & _full(digits, _CARD_IIN.pattern)
    return hit


def _iban_ok(value: str) -> bool:
    s = value.replace(" ", "").upper()
    if _IBAN_LENGTH.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _validated(values: pd.Series, hit: np.ndarray, ok: Callable[[str], bool]) -> np.ndarray:
    """``hit`` narrowed to the values that ``ok`` accepts (``ok`` runs only on the candidates)."""
    idx = np.flatnonzero(hit)
    if len(idx):
        hit[idx] = [ok(v) for v in values.iloc[idx].tolist()]
    return hit


def _iban(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    return _validated(values, _full(values, _IBAN), _iban_ok)


def _ssn(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    hit = _full(values, _SSN)
    if hit.any():
        idx = np.flatnonzero(hit)
        parts = values.iloc[idx].str.extract(_SSN)
        area = parts[0].astype("int64").to_numpy()
        hit[idx] = ((area != 0) & (area != 666) & (area < 900) & (parts[1] != "00").to_numpy(bool)
                    & (parts[2] != "0000").to_numpy(bool))
    return hit


def _nino(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    upper = values.str.upper()
    hit = _full(upper, _NINO)
    if hit.any():
        idx = np.flatnonzero(hit)
        hit[idx] = ~upper.iloc[idx].str.slice(0, 2).isin(_NINO_UNUSED).to_numpy(bool)
    return hit


def _nir_ok(value: str) -> bool:
    s = value.replace(" ", "").upper()
    # Corsica's departments 2A and 2B count as 19 and 18 in the key
    body = s[:5] + {"2A": "19", "2B": "18"}.get(s[5:7], s[5:7]) + s[7:13]
    return body.isdigit() and 97 - int(body) % 97 == int(s[13:])


def _nir(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    return _validated(values, _full(values, _NIR), _nir_ok)


def _bsn(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    hit = _full(values, r"[0-9]{9}")
    if hit.any():
        idx = np.flatnonzero(hit)
        d = _digits_matrix(values.iloc[idx])
        total = d[:, :8] @ np.arange(9, 1, -1) - d[:, 8]
        hit[idx] = (total % 11 == 0) & (d.sum(axis=1) > 0)
    return hit


def _ip(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    hit = _full(values, _IPV4) | (_full(values, _IPV6) & values.str.contains(":", regex=False).to_numpy(bool))
    return _validated(values, hit, _ip_ok)


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _phone_ok(value: str) -> bool:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat

    digits = re.sub(r"\D", "", value)
    if not 7 <= len(digits) <= 15:
        return False
    if value.startswith(("+", "00")):
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse("+" + value[1 if value[0] == "+" else 2:], None))
        except phonenumbers.NumberParseException:
            return False
    for region in _PHONE_REGIONS:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        # written the way the region writes its numbers (trunk prefix and all), not any digits that parse
        if phonenumbers.is_valid_number(number) and \
                re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)) == digits:
            return True
    return False


def _phone(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    # a bare run of digits not starting with 0 is more often an id than a phone, a decimal a number, and
    # a date a date: none of them is parsed as a phone
    return _validated(values, _full(values, _PHONE_CHARS) & ~_full(values, _NOT_PHONE), _phone_ok)


def _name_tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-zà-ÿ]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()) if t]


def _dob(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    if not _BIRTH_HINT.search(" ".join(_name_tokens(name))) and not _BIRTH_HINT.search(name.lower()):
        return np.zeros(len(values), dtype=bool)
    hit = _full(values, _DATE_SHAPE)
    if not hit.any():
        return hit
    idx = np.flatnonzero(hit)
    text = values.iloc[idx]
    iso = text.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})")[0]
    when = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    for fmt in _DATE_FORMATS:
        todo = when.isna().to_numpy()
        if not todo.any():
            break
        when[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    today = pd.Timestamp(dt.date.today())
    age = (today - when).dt.days / 365.2425
    hit[idx] = ((age >= 0) & (age <= 120)).fillna(False).to_numpy(bool)
    return hit


def _name_hint(name: str) -> bool:
    tokens = _name_tokens(name)
    return any(t in _NAME_WORDS for t in tokens) and not any(t in _NOT_PERSON for t in tokens)


def _person(values: pd.Series, counts: np.ndarray, name: str) -> np.ndarray:
    if _name_hint(name):
        return _full(values, _NAME_HINTED)
    hit = _full(values, _NAME_FREE)
    # names are mostly distinct; a category of few values (cities, job titles) is not a name column
    if hit.any() and hit.sum() / counts[hit].sum() < 0.5:
        hit[:] = False
    return hit


_DETECTORS: list[tuple[str, Callable[[pd.Series, np.ndarray, str], np.ndarray]]] = [
    ("email", _email), ("payment_card", _card), ("iban", _iban), ("us_ssn", _ssn), ("uk_nino", _nino),
    ("fr_nir", _nir), ("nl_bsn", _bsn), ("ip_address", _ip), ("phone", _phone), ("date_of_birth", _dob),
    ("person_name", _person)]


# ----------------------------------------------------------------------------------------------- masking

def _mask_chars(value: str, first: int, last: int) -> str:
    """``value`` with every letter and digit starred except its first ``first`` and last ``last``."""
    pos = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(pos[:first]) | set(pos[len(pos) - last:] if last else [])
    if len(keep) >= len(pos):
        keep = set()
    return "".join("*" if i not in keep and ch.isalnum() else ch for i, ch in enumerate(value))


def _mask(kind: str, value: str) -> str:
    if kind == "email":
        local, _, domain = value.partition("@")
        labels = domain.split(".")
        masked = f"{local[:1]}***@{labels[0][:1]}***.{labels[-1]}"
    elif kind == "person_name":
        masked = " ".join(w[:1] + "***" for w in value.split())
    elif kind == "ip_address":
        sep = "." if "." in value and ":" not in value else ":"
        masked = value.split(sep)[0] + sep + sep.join("*" * 3 for _ in range(3 if sep == "." else 2))
    else:
        first = {"iban": 2, "uk_nino": 2}.get(kind, 0)
        last = {"payment_card": 4, "date_of_birth": 0}.get(kind, 2)
        masked = _mask_chars(value, first, last)
    return masked if value not in masked else "*" * len(value)


def _mask_generic(kind: str, value: str) -> str:
    masked = _mask_chars(value, 0, 2)
    return masked if value not in masked else "*" * len(value)


# ----------------------------------------------------------------------------------------------- Presidio

# Recognisers left out: dates (any date column; dates of birth are judged above), web addresses (they match
# every e-mail address's domain, and a URL is seldom personal) and the ones that need a
# language model. A result counts when Presidio scores it at least this without context words: a match its
# checksum confirms scores 1; bare patterns (any nine digits for a passport) score below.
_PRESIDIO_MIN_SCORE = 0.4
_PRESIDIO_SKIP = {"DateRecognizer", "UrlRecognizer"}
_SEPARATOR = "\n\x00\n"


def _presidio_recognisers() -> list[Any]:
    import inspect

    try:
        import tldextract
        from presidio_analyzer import LocalRecognizer, PatternRecognizer
        from presidio_analyzer import predefined_recognizers as predefined
    except ImportError as exc:
        raise MissingExtraError("presidio-analyzer is needed for scan_pii(deep=True): pip install "
                                "'steward[privacy-deep]'") from exc

    # the e-mail recogniser checks the domain with tldextract, which downloads the public suffix list by
    # default; its bundled copy is used instead, so that nothing is fetched
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(predefined.EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline(pattern_text).fqdn != ""

    out = []
    for cls_name, cls in inspect.getmembers(predefined, inspect.isclass):
        if cls_name in _PRESIDIO_SKIP or not issubclass(cls, LocalRecognizer):
            continue
        if not (issubclass(cls, PatternRecognizer) or "Phone" in cls_name or "Mobile" in cls_name
                or "Telephone" in cls_name):
            continue
        try:
            out.append(OfflineEmailRecognizer() if cls is predefined.EmailRecognizer else cls())
        except Exception:  # noqa: BLE001 - a recogniser whose own dependency is missing is left out
            continue
    return out


def _presidio_hits(values: pd.Series, left: np.ndarray, recognisers: list[Any]) -> list[tuple[str, np.ndarray]]:
    """Per Presidio entity, which distinct values (of those ``left``) contain one, scored at least
    ``_PRESIDIO_MIN_SCORE``. The values are joined into one text, so each recogniser runs once."""
    keep = np.flatnonzero(left)
    texts = values.iloc[keep].tolist()
    if not texts:
        return []
    starts = np.cumsum([0] + [len(t) + len(_SEPARATOR) for t in texts[:-1]])
    ends = starts + np.array([len(t) for t in texts])
    blob = _SEPARATOR.join(texts)
    found: dict[str, np.ndarray] = {}
    import regex

    from presidio_analyzer import PatternRecognizer

    # Presidio's default flags include DOTALL, with which a look-ahead such as (?=.*?[0-9]) scans the whole
    # joined text from every position; without it, '.' stops at the newlines around each value
    flags = regex.IGNORECASE | regex.MULTILINE
    for rec in recognisers:
        kwargs = {"regex_flags": flags} if isinstance(rec, PatternRecognizer) else {}
        for res in rec.analyze(blob, entities=rec.supported_entities, nlp_artifacts=None, **kwargs):
            if res.score < _PRESIDIO_MIN_SCORE:
                continue
            i = int(np.searchsorted(starts, res.start, side="right")) - 1
            if i < 0 or res.end > ends[i]:  # a match across two values is not one
                continue
            found.setdefault(f"presidio:{res.entity_type}", np.zeros(len(values), dtype=bool))[keep[i]] = True
    return sorted(found.items())
