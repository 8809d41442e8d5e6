"""Every page Steward writes shares the audit report's look and reads well: the shared stylesheet,
long tables summarised with the rest folded in <details>, numbers as people write them (no
``2.713e-07``; counts, checked in the table tests, never as ``18.00``), and nothing fetched."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import steward
from steward._html import count, number, pct, pp, pvalue, ratio, stylesheet, table
from steward.datasets import load_german, path

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("shap")

FEATURES = ["checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
            "installment_rate", "age_years", "existing_credits"]
# a number in exponent notation, as Python and pandas print it: 2.713e-07, 1E+05
EXPONENT = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")
# anything a browser would fetch: src/href/url() pointing at http(s) or a protocol-relative host
NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)


def visible_text(page: str) -> str:
    """What a reader sees: the page without its stylesheet, charts and tags."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", page)


def check_page(name: str, page: str) -> None:
    assert page.lstrip().lower().startswith("<!doctype html>"), name
    assert stylesheet() in page and 'class="steward"' in page, f"{name}: not in the shared look"
    assert 'class="page-header"' in page and "<h1>" in page, f"{name}: no shared header"
    text = visible_text(page)
    assert not EXPONENT.findall(text), f"{name}: exponent notation {EXPONENT.findall(text)[:5]}"
    assert not NETWORK.search(page), f"{name}: fetches from the network"
    assert "<script" not in page, name


@pytest.fixture(scope="module")
def german():
    g = load_german()
    X = g[FEATURES].astype({c: "category" for c in FEATURES if not pd.api.types.is_numeric_dtype(g[c])})
    y = (g["class"] == 2).astype(int).to_numpy()  # 1: bad credit, the adverse side
    model = lgb.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, random_state=0).fit(X, y)
    g = g.assign(bad=y, sex=g["personal_status_sex"].map({"A92": "female", "A95": "female"}).fillna("male"))
    return g, X, y, model


@pytest.fixture(scope="module")
def pages(german):
    """(name, result, whether one of its tables is long enough to be folded) for every page."""
    from steward import debug, remediate
    from steward.audit._remediation import remediate as remediate_with
    from steward.debug._situation import SituationTests
    from steward.explain._report import explain_model
    from steward.models import wrap_model
    from steward.slices import find_slices

    g, X, y, model = german
    m = wrap_model(model, features=FEATURES)
    score = m.score(g)
    decision = (score >= 0.5).astype(int)
    favour = 1 - decision  # good credit is the favourable decision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = [
            ("slices", find_slices(g, (decision != y).astype(float), features=FEATURES, k=15), True),
            ("explain", explain_model(model, X, reasons=path("german-reasons"), label=y, quality_rows=100),
             True),
            ("flip", debug.flip_test(wrap_model(lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(
                g[["duration_months", "credit_amount", "foreign_worker"]].astype({"foreign_worker": "category"}), y),
                features=["duration_months", "credit_amount", "foreign_worker"]), g, ["foreign_worker"]), False),
            ("situation", SituationTests([debug.situation_testing(g, favour, attribute="sex", reference="male",
                                                                  features=["duration_months", "credit_amount"])]),
             False),
            ("proxies", debug.proxy_detection(g, ["sex", "foreign_worker"], FEATURES), True),
            ("sensitivity", debug.sensitivity_analysis(m, g, by="sex", sample=200), True),
            ("stress", debug.stress_test(m, g, [{"name": "longer", "change": {"duration_months": {"add": 12}}}],
                                         by="sex"), False),
            ("adversarial", debug.adversarial_search(m, g, protected=["sex"], sample=40, time_budget=5), True),
            ("residuals", debug.residual_analysis(g, y, score, features=FEATURES), True),
            ("churn", debug.prediction_churn(decision, (score >= 0.4).astype(int), data=g, protected=["sex"]), False),
            ("selection", remediate.select_model(g, label="bad", features=FEATURES[:4], protected="sex",
                                                 reference="male", favourable=0,
                                                 candidates=remediate.default_candidates(12), folds=2, n_jobs=1),
             True),
            ("remediation", remediate_with("reweighing", g.iloc[:700], g.iloc[700:], label="bad", features=FEATURES,
                                           protected={"sex": "male"}, favourable=0), True),
        ]
    return out


def test_every_page_is_in_the_shared_look_and_reads_well(pages):
    for name, result, long in pages:
        page = result.to_html()
        check_page(name, page)
        if long:
            assert "<details>" in page, f"{name}: a long table is not folded"
    slices = next(r for name, r, _ in pages if name == "slices")
    assert any(" AND " in s and len(s) > 44 for s in slices.table["slice"])  # long enough to need two lines
    assert "…</text>" not in slices.chart(), "a slice's label is cut in the chart"


def test_notebook_views_carry_the_scoped_stylesheet(pages):
    for name, result, _ in pages:
        view = result._repr_html_()
        assert view.startswith('<div class="steward">') and stylesheet() in view, name
        assert not EXPONENT.findall(visible_text(view)), name


def test_the_model_audit_report_folds_its_tables_and_formats_its_numbers(german, tmp_path):
    g, X, y, model = german
    from steward.models import wrap_model

    old = lgb.LGBMClassifier(n_estimators=10, num_leaves=4, verbose=-1, random_state=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = steward.audit(g, label="bad", protected={"sex": "male"}, favourable=0, features=FEATURES,
                          model=wrap_model(model, features=FEATURES), previous=wrap_model(old, features=FEATURES))
    page = r.to_html()
    check_page("audit report", page)
    residuals = page[page.index('id="residuals"'):]
    residuals = residuals[:residuals.index("</section>")]
    assert "<details>" in residuals and "Showing 10 of" in residuals
    # every table of the residuals section shows at most a dozen rows before the fold
    for shown in re.findall(r"<table.*?</table>", residuals.split("<details>")[0], flags=re.S):
        assert shown.count("<tr") <= 13


def test_the_cli_pages_use_the_shared_look(german, tmp_path):
    from click.testing import CliRunner

    from steward.cli import cli

    g, X, y, model = german
    g.to_csv(tmp_path / "german.csv", index=False)
    r = CliRunner().invoke(cli, ["probe", "proxies", str(tmp_path / "german.csv"), "--protected", "sex",
                                 "--features", ",".join(FEATURES), "--out", str(tmp_path / "px")])
    assert r.exit_code in (0, 1), r.output
    check_page("steward probe proxies", (tmp_path / "px" / "proxies.html").read_text())


@pytest.mark.parametrize("value, text", [(18.0, "18"), (1234567, "1,234,567"), (np.float64(3000.0), "3,000")])
def test_counts_have_separators_and_no_decimals(value, text):
    assert count(value) == text


def test_numbers_never_use_exponents():
    assert pvalue(2.713e-07) == "< 0.001" and pvalue(0.0412) == "0.041"
    assert number(2.713e-07) == "0.000" and number(-2.713e-07) == "0.000" and number(-0.25) == "−0.250"
    assert number(0.5, trim=True) == "0.5" and number(2.0, trim=True) == "2"
    assert number(0.92553) == "0.926" and number(1.9137) == "1.91" and number(123456.7) == "123,457"
    assert pct(0.1234) == "12.3%" and pct(0.0004) == "< 0.1%" and pct(1e-17) == "0.0%"
    assert pp(0.0321) == "+3.2 pp" and pp(-0.004) == "−0.4 pp"
    assert ratio(0.63158) == "0.63" and count(float("nan")) == "undefined"


def test_a_long_table_is_summarised_and_folded():
    frame = pd.DataFrame({"feature": [f"f{i}" for i in range(40)], "rows": np.arange(40) * 100.0,
                          "error_rate": np.linspace(0, 0.4, 40), "p_value": np.full(40, 1e-9)})
    out = table(frame, limit=10, order="error_rate", summary="the worst features")
    shown, folded = out.split("<details>")
    assert shown.count("<tr>") == 11 and "Showing 10 of 40: the worst features." in shown
    assert "f39" in shown.split("</table>")[0] and "f0<" not in shown  # the highest first
    assert folded.count("<tr") == 41 and "All 40 rows" in folded
    assert "3,900" in out and "40.0%" in out and "&lt; 0.001" in out and "e-09" not in out


def test_numbers_stored_as_objects_are_still_numbers():
    frame = pd.DataFrame({"check": ["a", "b"], "value": pd.Series([0.3308217984632087, None], dtype=object),
                          "rows": pd.Series([18.0, 2400.0], dtype=object)})
    out = table(frame)
    assert "0.331" in out and "0.3308" not in out and ">18<" in out and "2,400" in out


def test_a_short_table_is_not_folded_and_intervals_sit_beside_their_estimate():
    frame = pd.DataFrame({"group": ["a", "b"], "share": [0.25, 0.5], "share_ci_low": [0.2, 0.45],
                          "share_ci_high": [0.3, 0.55]})
    out = table(frame)
    assert "<details>" not in out and "ci low" not in out
    assert '25.0% <span class="ci">20.0%–30.0%</span>' in out
