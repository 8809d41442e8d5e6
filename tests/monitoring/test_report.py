"""The monitor report (``monitor_report_html``): one offline HTML page of what ``Registry.monitor`` returns.

Two monitors feed it: a file monitor run through the registry on seeded data (a feature shifted on the last
three days, as in ``tests/cli/test_monitor_commands.py``), and one run through the storage-free
:class:`Monitor` on a richer log (twenty features, caller keys with an extraction attack, screening flags,
human reviews, labels, a window too small to judge and an open one), shaped as the registry returns it.
The page must parse, draw a chart per family with values, mark every alert, show the thresholds, keep
many subjects readable, and fetch nothing.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steward.monitoring import Monitor, MonitorSettings, build_reference
from steward.monitoring._report import FAMILIES, monitor_report_html
from tests.monitoring._data import log_rows


# --- a monitor through the registry -------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry_monitor(tmp_path_factory) -> dict:
    pytest.importorskip("sqlalchemy")
    from steward.governance import Registry

    folder = tmp_path_factory.mktemp("monitor")
    rng = np.random.default_rng(7)
    log_rows(rng, 6000, 0.0, "2026-10-01", 30).to_csv(folder / "reference.csv", index=False)
    log = pd.concat([log_rows(rng, 3000, 0.0, "2026-11-01", 3), log_rows(rng, 3000, 1.0, "2026-11-04", 3)],
                    ignore_index=True)
    log.drop(columns=["label"]).to_parquet(folder / "log.parquet")
    ref = build_reference(pd.read_csv(folder / "reference.csv"), features=["x", "c"], protected=["sex"],
                          reference_groups={"sex": "M"}, score="score", decision="decision", label="label",
                          source=str(folder / "reference.csv")).to_dict()
    reg = Registry(f"sqlite:///{folder / 'reg.db'}")
    try:
        reg.register_model("scorer", actor="setup", purpose="Scores", domain="operations", owner="Ana")
        reg.create_monitor("ext", actor="setup", data=str(folder / "log.parquet"), reference=ref,
                           columns={"time": "ts", "score": "score", "decision": "decision"}, model="scorer",
                           tier="high")
        reg.run_monitor("ext", actor="setup", close_all=True)
        return json.loads(json.dumps(reg.monitor("ext"), default=str))
    finally:
        reg.close()


# --- a richer monitor through the storage-free Monitor ------------------------------------------------

FEATURES = [f"f{i:02d}" for i in range(20)]


def _log(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    data = {f: rng.normal(0, 1, n) for f in FEATURES}
    data["f03"] = data["f03"] + shift
    x = data["f00"] + data["f03"]
    s = 1 / (1 + np.exp(-x))
    return pd.DataFrame({**data, "sex": rng.choice(["F", "M"], n), "score": s, "decision": (s >= 0.5).astype(int),
                         "label": (rng.random(n) < s).astype(int)})


def synthetic_monitor() -> dict:
    """Six windows of 600 rows (the third shifted on f03 and with a flagged share), one of 60 rows (too small
    to judge) and an open one; a caller key that extracts the model; reviews overturned for one group."""
    rng = np.random.default_rng(11)
    reference = _log(rng, 5000)
    ref = build_reference(reference, features=FEATURES, protected=["sex"], reference_groups={"sex": "M"},
                          score="score", decision="decision", label="label", source="training.parquet")
    settings = MonitorSettings.model_validate({"window": {"by": "day"}, "min_rows": 100,
                                               "extraction": {"min_queries": 100, "trip": True},
                                               "screening": {"max_rate": 0.1}})
    mon = Monitor(ref, settings)
    day0 = pd.Timestamp("2026-03-01", tz="UTC")
    seeds = rng.normal(0, 1, (3, len(FEATURES)))
    for day, n in enumerate([600, 600, 600, 600, 600, 600, 60, 300]):
        frame = _log(rng, n, shift=1.5 if day in (2, 3) else 0.0)
        frame["time"] = day0 + pd.Timedelta(days=day) + pd.to_timedelta(np.sort(rng.integers(0, 86_000, n)), unit="s")
        frame["key_id"] = rng.choice(["alice", "bob"], n)
        if day >= 3:  # an attacker: small perturbations around three seeds
            k = min(80, n // 4)
            idx = rng.choice(n, k, replace=False)
            pert = seeds[rng.integers(0, 3, k)] + rng.normal(0, 0.01, (k, len(FEATURES)))
            for j, f in enumerate(FEATURES):
                frame.loc[idx, f] = pert[:, j]
            frame.loc[idx, "key_id"] = "mallory"
        frame["flags"] = np.where(rng.random(n) < (0.3 if day == 2 else 0.02), "out_of_range:f03", "")
        frame["reviewed"] = (rng.random(n) < 0.3).astype(int)
        over = 0.5 if day == 4 else 0.05
        frame["overturned"] = ((frame["reviewed"] == 1) & (rng.random(n) < np.where(frame["sex"] == "F", over, 0.05))
                               ).astype(int)
        frame["appeals_decided"] = 0
        frame["appeals_overturned"] = 0
        mon.add(frame)
    alerts = []
    for key, raised in mon.close(mon.complete()):
        alerts += raised
    windows = [{"key": k, "rows": mon.windows[k].rows, "closed": k in mon.state["closed"],
                "result": mon.results[k] if k in mon.results else mon.view(k)} for k in sorted(mon.windows)]
    out = {"name": "scorer <prod>", "deployment": "scorer-prod", "tier": "high", "source": {"kind": "deployment"},
           "settings": {}, "reference": ref.to_dict(), "reference_source": "training.parquet", "incident_id": 7,
           "windows": windows,
           "alerts": [{"id": i + 1, "window": a["window"], "signal": a["signal"], "subject": a["subject"],
                       "severity": a["severity"], "value": a["value"], "threshold": a["threshold"],
                       "evidence": {"measures": a["measures"], "windows": a["windows"]}, "incident_id": 7,
                       "tripped": "scorer-prod" if a["trip"] else None, "created_at": "2026-03-09T00:00:00+00:00"}
                      for i, a in enumerate(alerts)]}
    return json.loads(json.dumps(out, default=float))


@pytest.fixture(scope="module")
def rich_monitor() -> dict:
    return synthetic_monitor()


# --- reading the page ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.sections: dict[str, dict] = {}
        self.section: str | None = None
        self.links: list[str] = []
        self.alerts: list[str] = []
        self.thresholds: list[str] = []
        self.svgs = 0
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
            self.sections[self.section] = {"svgs": 0, "alerts": [], "thresholds": []}
        if tag == "svg":
            self.svgs += 1
            if self.section:
                self.sections[self.section]["svgs"] += 1
        if tag == "script":
            self.scripts += 1
        for k in ("src", "href"):
            if a.get(k):
                self.links.append(a[k])
        cls = (a.get("class") or "").split()
        if "alert-marker" in cls:
            self.alerts.append(a.get("data-alert"))
            if self.section:
                self.sections[self.section]["alerts"].append(a.get("data-alert"))
        if "threshold" in cls:
            self.thresholds.append(a.get("data-threshold"))
            if self.section:
                self.sections[self.section]["thresholds"].append(a.get("data-threshold"))
        if tag not in ("meta", "br", "img", "input", "link", "circle", "rect", "line", "path", "polyline"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "section":
            self.section = None

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    p.close()
    return p


def _check(m: dict, html: str) -> _Page:
    p = parse(html)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert p.scripts == 0
    assert not [u for u in p.links if re.match(r"\s*(https?:)?//", u)], p.links  # nothing fetched
    # a chart per family that has a value, in its own section
    families = {s["signal"] for w in m["windows"] for s in (w["result"] or {}).get("signals", [])
                if s["value"] is not None}
    for fam in families:
        assert p.sections.get(fam, {}).get("svgs", 0) >= 1, fam
    # an alert marker for each alert, in its signal's section
    assert sorted(p.alerts, key=int) == [str(a["id"]) for a in m["alerts"]]
    for a in m["alerts"]:
        assert str(a["id"]) in p.sections[a["signal"]]["alerts"]
    return p


def test_the_registry_monitor_report_charts_each_family_marks_each_alert_and_shows_thresholds(registry_monitor):
    m = registry_monitor
    assert m["alerts"], "the shifted days raise alerts"
    html = monitor_report_html(m)
    p = _check(m, html)
    text = " ".join(p.text)
    # the summary: the monitor, its source, its reference, its tier, windows, rows and the alerts' incident
    assert "Monitor ext" in text and "log.parquet" in text and "reference.csv" in text
    assert "high" in text and "2026-11-01 to 2026-11-06" in text and "6,000" in text
    assert f"incident {m['alerts'][0]['incident_id']}" in text
    # the thresholds: PSI 0.2 on the feature, 0.1 on the decision rate, 0.8 on the adverse impact ratio
    assert {"0.2", "0.1", "0.8"} <= set(p.sections["feature_drift"]["thresholds"]
                                         + p.sections["prediction_drift"]["thresholds"]
                                         + p.sections["fairness"]["thresholds"])
    assert "A breach is a value below the threshold" in text  # fairness: the breach side is below
    # the AIR's interval per window, and the reference's value beside parity
    fair = html[html.index('<section id="fairness"'):]
    fair = fair[: fair.index("</section>")]
    assert fair.count('class="interval"') == len(m["windows"])
    assert "parity" in fair
    # no labels: performance is not measured, and the page says why
    assert "Not measured" in text and "no window has labels yet" in text


def test_many_subjects_are_capped_with_a_note_and_unjudged_signals_say_why(rich_monitor):
    m = rich_monitor
    signals = {s["signal"] for w in m["windows"] for s in w["result"]["signals"]}
    assert {"extraction", "screening", "oversight", "performance", "fairness_drift"} <= signals
    assert {a["signal"] for a in m["alerts"]} >= {"feature_drift", "extraction", "screening"}
    assert any(a["tripped"] for a in m["alerts"])
    html = monitor_report_html(m)
    p = _check(m, html)
    text = " ".join(p.text)
    # twenty features: the drifting one charted first, at most twelve charts, every feature in the grid below
    sec = html[html.index('<section id="feature_drift"'):]
    sec = sec[: sec.index("</section>")]
    charts = sec.count('class="mon-panel"')
    assert 1 <= charts <= 12
    assert ">f03</text>" in sec.split('class="mon-panel"')[1]
    assert f"Charts for {charts} of the 20 subjects with a value" in sec
    assert sec.count('class="heat-cell"') == 20 * len(m["windows"])
    assert f"The other {20 - charts} subjects" in sec
    # the window too small to judge (hollow points, and why), and the open one
    small = next(w for w in m["windows"] if w["rows"] == 60)
    assert not small["result"]["judged"]
    assert "fewer than the 100 a window needs to be judged" in text
    assert 'class="point not-judged"' in html
    assert "open, shown as it stands" in html
    # the kill switch and the incident in the summary; the monitor's name is escaped
    assert "kill switch pulled" in text and "pulled on scorer-prod" in text and "incident 7" in text
    assert "Monitor scorer &lt;prod&gt;" in html and "<prod>" not in html
    # extraction and fairness: a breach is a value below the threshold; W is what is drawn
    ext = html[html.index('<section id="extraction"'):]
    ext = ext[: ext.index("</section>")]
    assert "A breach is a value below the threshold" in ext and "Shapiro-Wilk W" in ext
    assert "0.65" in p.sections["extraction"]["thresholds"]
    # oversight and performance draw their intervals
    for fam in ("oversight", "performance"):
        sec = html[html.index(f'<section id="{fam}"'):]
        assert 'class="interval"' in sec[: sec.index("</section>")], fam


def test_a_monitor_without_windows_or_with_only_unjudged_signals_still_renders():
    empty = {"name": "new", "deployment": None, "tier": None, "source": {"kind": "file", "path": "/x.parquet"},
             "settings": {}, "reference": {}, "reference_source": "ref.csv", "incident_id": None, "windows": [],
             "alerts": []}
    p = parse(monitor_report_html(empty))
    assert "No window yet" in " ".join(p.text) and p.svgs == 0
    why = "the reference has no scores (give a reference file with a score column)"
    one = dict(empty, windows=[{"key": "2026-01-01", "rows": 10, "closed": True, "result": {
        "rows": 10, "judged": False, "why": "", "fairness": [],
        "signals": [{"signal": "prediction_drift", "subject": "score", "value": None, "threshold": 0.2,
                     "breach": False, "judged": False, "why": why, "measures": {}}]}}])
    html = monitor_report_html(one)
    p = parse(html)
    text = " ".join(p.text)
    assert "Not judged in any window" in text and why in text
    assert p.sections["prediction_drift"]["svgs"] == 0  # nothing to draw: said, not drawn


def test_families_cover_every_signal_of_the_settings():
    from steward.monitoring import SIGNALS

    assert [k for k, _, _ in FAMILIES] == list(SIGNALS)


if __name__ == "__main__":  # write the rich report, to look at it
    Path("monitor_report.html").write_text(monitor_report_html(synthetic_monitor()), encoding="utf-8")
