"""The report's charts are SVG written directly: well-formed, every text from the data escaped, and
the figures in each bar's tooltip."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

import steward
from steward._svgplot import Bars, Line, LinePanel, Panel, bar_chart, line_chart, nice_ticks, tick_label
from steward.audit._charts import attribute_chart


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything not well-formed, an unescaped "<" or "&" included


def test_attribute_chart_is_well_formed_and_escapes_group_names():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"g": rng.choice(["a", "<script>alert(1)</script>", "$5k_$10k & more"], n),
                       "y": rng.integers(0, 2, n), "d": rng.integers(0, 2, n)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = steward.audit(df, label="y", prediction="d", protected={"g": "a"})
    svg = attribute_chart(r.groups, favourable=1)
    root = _parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "$5k_$10k & more" in texts and "a (ref)" in texts
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    rate = r.groups.set_index("group").loc["a", "favourable_rate"]
    assert any(tip and f"favourable rate {100 * rate:.1f}%" in tip for tip in tips)


def test_bar_and_line_charts_handle_negative_missing_and_categorical_values():
    series = Bars([0.2, -0.1, np.nan], ["#000"] * 3, [0.1, -0.2, np.nan], [0.3, 0.0, np.nan])
    bars = bar_chart(["x", "y", "z"], [Panel([series], title="two\nlines", lines=[(0, "#999", False, "zero")])])
    _parse(bars)
    lines = line_chart([LinePanel([Line([0, 1, 2], [0.1, np.nan, 0.3], label="all")], categories=["a", "b", "c"]),
                        LinePanel([Line([1e4, 5e4], [0.2, 0.4])], percent_y=True)])
    _parse(lines)
    assert bar_chart([], [Panel([])]) == ""


def test_ticks_are_round_and_labelled_to_their_step():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 1.3, 5) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    assert [tick_label(t, False, 0.25) for t in (0.25, 0.5)] == ["0.25", "0.50"]
    assert tick_label(0.25, True, 0.25) == "25%" and tick_label(50_000, False, 25_000) == "50k"
