"""The PII scan: exact counts on a seeded table of planted identifiers and decoys.

Every valid identifier below is built here with its own check digit (Luhn, IBAN mod-97, NIR key,
BSN 11-test written out in the test), and every decoy breaks exactly one rule, so the expected
count of each (column, kind) is known by construction, not by running the scanner.
"""

from __future__ import annotations

import json
import socket
import sys

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from steward.errors import DataValidationError, MissingExtraError
from steward.privacy._pii import scan_pii

ROWS = 240
rng = np.random.default_rng(20261130)


def luhn_complete(body: str) -> str:
    """``body`` with the check digit that makes it pass Luhn (doubling every second digit from the right)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # once the check digit is appended these positions are doubled
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def iban(country: str, bban: str, *, wrong: bool = False) -> str:
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    if wrong:
        check = check % 97 + 1 if check != 97 else 2
    return f"{country}{check:02d}{bban}"


def nir(body13: str, *, wrong: bool = False) -> str:
    key = 97 - int(body13) % 97
    return body13 + f"{(key % 97) + 1 if wrong else key:02d}"


def bsn_passes(d: str) -> bool:
    return (sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1))) - int(d[8])) % 11 == 0


def valid_phone(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, None if text.startswith("+") else "US"))
    except phonenumbers.NumberParseException:
        return False


def column(valid: list[str], decoys: list[str], missing: int) -> list[str | None]:
    values: list[str | None] = [*valid, *decoys, *[None] * missing]
    assert len(values) <= ROWS
    # pad with repeats of the decoys so that every column is ROWS long and the decoys stay decoys
    pad = [decoys[i % len(decoys)] for i in range(ROWS - len(values))]
    out = np.array(values + pad, dtype=object)
    rng.shuffle(out)
    return list(out)


def planted() -> tuple[pd.DataFrame, dict[tuple[str, str], int], dict[str, list[str]]]:
    """The seeded table, the expected matches per (column, kind), and the raw identifiers planted."""
    expected: dict[tuple[str, str], int] = {}
    raw: dict[str, list[str]] = {}
    cols: dict[str, list[str | None]] = {}

    def add(name: str, kind: str | None, valid: list[str], decoys: list[str], missing: int = 10) -> None:
        cols[name] = column(valid, decoys, missing)
        if kind:
            expected[(name, kind)] = len(valid)
        raw[name] = valid

    firsts = ["Anna", "Bram", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kofi", "Lena"]
    lasts = ["Jansen", "Müller", "Dubois", "O'Brien", "McDonald", "Smith-Jones", "Rossi", "Novak", "Haddad", "Kim"]
    people = [(f, la) for f in firsts for la in lasts]
    order = rng.permutation(len(people))
    names = [f"{people[i][0]} {people[i][1]}" for i in order[:100]]
    ascii_ = str.maketrans({"é": "e", "ü": "u", "'": None})
    add("email", "email", [f"{f}.{la}{k}@example{k % 7}.org".lower().translate(ascii_)
                           for k, (f, la) in enumerate(people)],  # 120 addresses
        ["john@", "@example.com", "john@@example.com", "john@example", "john doe@example.com", "john.@example.com"])
    cards = ([luhn_complete("4" + "".join(map(str, rng.integers(0, 10, 14)))) for _ in range(60)]
             + [luhn_complete("5" + str(rng.integers(1, 6)) + "".join(map(str, rng.integers(0, 10, 13))))
                for _ in range(40)]
             + [luhn_complete("37" + "".join(map(str, rng.integers(0, 10, 12)))) for _ in range(20)])
    shown = [c if i % 3 else " ".join(c[j:j + 4] for j in range(0, len(c), 4)) for i, c in enumerate(cards)]
    bad_luhn = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards[:20]]
    no_network = [luhn_complete("9" + "".join(map(str, rng.integers(0, 10, 14)))) for _ in range(10)]
    add("card", "payment_card", shown, bad_luhn + no_network)
    ibans = ([iban("DE", "".join(map(str, rng.integers(0, 10, 18)))) for _ in range(30)]
             + [iban("NL", "ABNA" + "".join(map(str, rng.integers(0, 10, 10)))) for _ in range(30)]
             + [iban("GB", "WEST" + "".join(map(str, rng.integers(0, 10, 14)))) for _ in range(20)])
    decoy_ibans = ([iban("DE", "".join(map(str, rng.integers(0, 10, 18))), wrong=True) for _ in range(20)]
                   + [iban("DE", "".join(map(str, rng.integers(0, 10, 17))))]  # a digit short for Germany
                   + [iban("XX", "".join(map(str, rng.integers(0, 10, 18))))])  # no such country
    add("iban", "iban", [" ".join(x[j:j + 4] for j in range(0, len(x), 4)) if i % 2 else x
                         for i, x in enumerate(ibans)], decoy_ibans)
    areas = [a for a in range(1, 900) if a != 666]
    ssns = [f"{rng.choice(areas):03d}-{rng.integers(1, 100):02d}-{rng.integers(1, 10000):04d}" for _ in range(90)]
    add("ssn", "us_ssn", ssns, ["000-12-3456", "666-12-3456", "912-34-5678", "987-65-4321", "123-00-4567",
                                "123-45-0000"])
    first_ok = "ABCEGHJKLMNOPRSTWXYZ"
    second_ok = "ABCEGHJKLMNPRSTWXYZ"
    ninos = []
    while len(ninos) < 70:
        prefix = rng.choice(list(first_ok)) + rng.choice(list(second_ok))
        if prefix in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            continue
        digits = "".join(map(str, rng.integers(0, 10, 6)))
        suffix = rng.choice(list("ABCD"))
        ninos.append(f"{prefix}{digits}{suffix}" if len(ninos) % 2 else
                     f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}")
    add("nino", "uk_nino", ninos, ["DA123456A", "QQ123456C", "AO123456B", "GB123456A", "ZZ123456D", "AB123456E",
                                   "AB12345C"])
    bodies = [f"{rng.integers(1, 3)}{rng.integers(40, 100):02d}{rng.integers(1, 13):02d}{rng.integers(1, 96):02d}"
              f"{rng.integers(1, 1000):03d}{rng.integers(1, 1000):03d}" for _ in range(40)]
    corsica = "2850" + "5" + "2A" + "123456"  # sex 2, born 85-05 in Corse-du-Sud: the key counts 2A as 19
    corsica_key = f"{97 - int(corsica.replace('2A', '19')) % 97:02d}"
    nirs = [nir(b) for b in bodies] + [corsica + corsica_key]
    add("nir", "fr_nir", [f"{x[0]} {x[1:3]} {x[3:5]} {x[5:7]} {x[7:10]} {x[10:13]} {x[13:]}" if i % 2 else x
                          for i, x in enumerate(nirs)],
        [nir(b, wrong=True) for b in bodies[:15]] + [nir(bodies[0][:3] + "13" + bodies[0][5:])])  # month 13
    bsns = []
    while len(bsns) < 50:
        d = "".join(map(str, rng.integers(0, 10, 9)))
        if bsn_passes(d) and d != "000000000":
            bsns.append(d)
    not_bsn = []
    while len(not_bsn) < 20:
        d = "".join(map(str, rng.integers(1, 10, 9)))
        if not bsn_passes(d):
            not_bsn.append(d)
    add("bsn", "nl_bsn", bsns, not_bsn + ["000000000"])
    ips = ([".".join(map(str, rng.integers(0, 256, 4))) for _ in range(60)]
           + ["2001:db8::1", "fe80::1ff:fe23:4567:890a", "::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"])
    add("ip", "ip_address", ips, ["999.1.1.1", "256.10.10.10", "1.2.3", "1.2.3.4.5", "12:30:45", "2001:db8::g1"])
    phones = []
    for region in ["GB", "DE", "FR", "NL", "US", "IN", "AU", "IT", "JP", "BR", "ZA", "SE"]:
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            n = phonenumbers.example_number_for_type(region, kind)
            phones += [phonenumbers.format_number(n, PhoneNumberFormat.E164),
                       phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL)]
            if region in ("GB", "DE", "FR", "NL", "US", "AU", "IT"):
                phones.append(phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL))
    decoy_phones = ["+1 000 000 0000", "+999 1234 5678", "+44 12", "+33 1", "12345"]
    assert not any(valid_phone(d) for d in decoy_phones)  # the decoys' construction
    add("phone", "phone", phones, decoy_phones)
    today = pd.Timestamp.today()
    years = rng.integers(today.year - 100, today.year - 1, 80)
    births = [f"{y}-{m:02d}-{d:02d}" if i % 2 else f"{d:02d}/{m:02d}/{y}"
              for i, (y, m, d) in enumerate(zip(years, rng.integers(1, 13, 80), rng.integers(1, 29, 80)))]
    add("date_of_birth", "date_of_birth", births,
        [f"{today.year + 5}-01-01", f"{today.year - 130}-06-15", "31/31/1990", "not a date", "1980"])
    cols["signup_date"] = column(births, ["2020-13-01"], 10)  # the same dates, but not named for birth
    raw["signup_date"] = births
    add("full_name", "person_name", names, ["x", "john smith", "JOHN SMITH", "Acme Corp 123", "A B", "Lena 2"])
    add("contact_person", "person_name", names[:90], ["see notes", "n/a", "unknown"])  # no hint: distinct values
    add("city", None, [], ["New York", "Los Angeles", "San Francisco", "Rio de Janeiro"])  # names, not persons
    add("first_name", "person_name", [p[0] for p in people[:100]], ["x1", "—", "a b"])  # hinted: one word each
    cols["amount"] = [f"{x:.2f}" for x in rng.normal(100, 30, ROWS)]
    cols["count"] = [str(x) for x in rng.integers(0, 10 ** 6, ROWS)]
    return pd.DataFrame(cols), expected, raw


FRAME, EXPECTED, RAW = planted()


def found(rep) -> dict[tuple[str, str], int]:
    return {(r.column, r.kind): r.matches for r in rep.table.itertuples()}


def test_exact_counts_per_column_and_kind():
    rep = scan_pii(FRAME, sample=None)
    assert found(rep) == EXPECTED
    checked = {r.column: r.checked for r in rep.table.itertuples()}
    for col in checked:  # every column had 10 missing values planted
        assert checked[col] == ROWS - 10
    t = rep.table.set_index(["column", "kind"])
    assert t.loc[("card", "payment_card"), "share"] == pytest.approx(120 / 230)
    assert rep.sampled_rows == ROWS and rep.total_rows == ROWS
    assert rep.columns_scanned == list(FRAME.columns)


def test_identifier_flag_follows_min_share():
    rep = scan_pii(FRAME, sample=None, min_share=0.4)
    share = {c: m / (ROWS - 10) for (c, _), m in EXPECTED.items()}
    assert set(rep.identifier_columns()) == {c for c, s in share.items() if s >= 0.4}
    assert rep.identifier_columns() == [c for c in FRAME.columns if c in set(rep.identifier_columns())]
    assert "ip" not in rep.identifier_columns()  # 64 of 230 values
    assert "ip" in scan_pii(FRAME, sample=None, min_share=0.25).identifier_columns()
    default = scan_pii(FRAME, sample=None)  # min_share 0.3: SSNs (90 of 230) are in, IPs are out
    assert default.among(["amount", "ip", "ssn", "email", "city", "unknown", "ssn"]) == ["ssn", "email"]


def test_file_scans_match_the_frame_scan(tmp_path):
    frame_rep = scan_pii(FRAME, sample=10_000)
    parquet, csv = tmp_path / "people.parquet", tmp_path / "people.csv"
    FRAME.to_parquet(parquet, index=False)
    FRAME.to_csv(csv, index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    FRAME.iloc[:100].to_parquet(folder / "a.parquet", index=False)
    FRAME.iloc[100:].to_parquet(folder / "b.parquet", index=False)
    for path in (parquet, csv, str(csv), folder, str(folder / "*.parquet")):
        rep = scan_pii(path, sample=10_000)
        pd.testing.assert_frame_equal(rep.table, frame_rep.table)
        assert rep.sampled_rows == ROWS and rep.total_rows == ROWS


def test_the_sample_is_reproducible(tmp_path):
    big = pd.concat([FRAME] * 25, ignore_index=True)  # 6,000 rows
    path = tmp_path / "big.parquet"
    big.to_parquet(path, index=False)
    for data in (big, path):
        a, b = scan_pii(data, sample=500, seed=3), scan_pii(data, sample=500, seed=3)
        pd.testing.assert_frame_equal(a.table, b.table)
        assert a.sampled_rows == 500 and a.total_rows == len(big)
        assert a.table["checked"].max() <= 500
        other = scan_pii(data, sample=500, seed=4)
        assert found(other).keys() == found(a).keys()  # the same kinds, from other rows
        assert (other.table["matches"].to_numpy() != a.table["matches"].to_numpy()).any()
    # the frame's sample is the rows a seeded generator draws
    rows = np.sort(np.random.default_rng(3).choice(len(big), size=500, replace=False))
    assert found(scan_pii(big, sample=500, seed=3)) == found(scan_pii(big.iloc[rows], sample=None))


def test_csv_total_is_unknown_when_the_sample_is_smaller(tmp_path):
    path = tmp_path / "t.csv"
    FRAME.to_csv(path, index=False)
    rep = scan_pii(path, sample=100)
    assert rep.sampled_rows == 100 and rep.total_rows is None and rep.notes


def test_masking_never_leaks_a_raw_value():
    rep = scan_pii(FRAME, sample=None)
    dumped = json.dumps(rep.to_dict(), ensure_ascii=False)
    page = rep.html() + rep.to_html()
    leaked = [v for vals in RAW.values() for v in vals if len(v) >= 5 and (v in dumped or v in page)]
    assert leaked == []
    examples = rep.table.set_index(["column", "kind"])["examples"]
    assert examples[("card", "payment_card")].count(";") == 2
    for ex in examples[("card", "payment_card")].split("; "):
        digits = [c for c in ex if c.isdigit()]
        assert len(digits) == 4  # only the last four digits are shown
    assert all("@" in e and "***" in e for e in examples[("email", "email")].split("; "))


def test_report_views():
    rep = scan_pii(FRAME, sample=None)
    d = rep.to_dict()
    assert d["identifier_columns"] == rep.identifier_columns()
    assert len(d["findings"]) == len(EXPECTED)
    assert d["sampled_rows"] == ROWS and d["columns_scanned"] == list(FRAME.columns)
    body = rep.html()
    assert "<svg" in body and 'class="verdict bad"' in body and "payment_card" in body
    assert rep.to_frame() is rep.table


def test_unknown_column_and_bad_options():
    with pytest.raises(DataValidationError, match=r"'emial'.*not in the data; the columns are: email, card"):
        scan_pii(FRAME, columns=["email", "emial"])
    assert scan_pii(FRAME, columns=["email"]).columns_scanned == ["email"]
    for bad in ({"sample": 0}, {"min_share": 0}, {"min_share": 1.5}, {"seed": -1}):
        with pytest.raises(DataValidationError, match=next(iter(bad))):
            scan_pii(FRAME, **bad)
    with pytest.raises(DataValidationError, match="does not exist"):
        scan_pii("/nonexistent/file.parquet")
    with pytest.raises(DataValidationError, match="expected a pandas DataFrame"):
        scan_pii([1, 2, 3])


def test_unknown_column_of_a_file(tmp_path):
    path = tmp_path / "t.parquet"
    FRAME.to_parquet(path, index=False)
    with pytest.raises(DataValidationError, match=r"'nope' not in the data; the columns are: email"):
        scan_pii(path, columns=["nope"])


def test_adult_has_no_identifier_column():
    from steward.datasets import load_adult

    rep = scan_pii(load_adult())
    assert rep.identifier_columns() == [] and rep.table.empty
    assert 'class="verdict ok"' in rep.html()


def test_deep_pass_without_presidio_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'steward\[privacy-deep\]'"):
        scan_pii(FRAME, deep=True)


def test_deep_pass_finds_identifiers_in_free_text_without_fetching(monkeypatch):
    pytest.importorskip("presidio_analyzer")  # in the dev extra (privacy-deep), so CI runs it
    emails = RAW["email"][:30]
    good_iban = RAW["iban"][0].replace(" ", "")
    notes = ([f"Please write to {e} before Friday." for e in emails]
             + [f"Refund to {good_iban} requested" for _ in range(5)]
             + ["Nothing to report."] * 25)
    frame = pd.DataFrame({"notes": notes, "email": RAW["email"][:60]})

    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    plain = scan_pii(frame)
    assert found(plain) == {("email", "email"): 60}  # the strict tests take whole values only
    rep = scan_pii(frame, deep=True)
    got = found(rep)
    assert got[("notes", "presidio:EMAIL_ADDRESS")] == 30
    assert got[("notes", "presidio:IBAN_CODE")] == 5
    assert got[("email", "email")] == 60
    assert not any(c == "email" and k.startswith("presidio:") for c, k in got)  # already accepted: not rescanned
    dumped = json.dumps(rep.to_dict()) + rep.html()
    assert not any(e in dumped for e in emails) and good_iban not in dumped
    assert attempts == []  # nothing was fetched (tldextract's suffix list is its bundled copy)
