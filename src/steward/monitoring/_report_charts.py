"""The pictures of the monitor report (:mod:`steward.monitoring._report`): a small chart per signal and
subject (the value window by window, the threshold with its breach side shaded, alerts as triangles,
intervals where the signal has one), the heat grid of many subjects, and the table of the rest. Inline SVG,
written by hand as :mod:`steward._svgplot` does; every text from the data is escaped."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from steward._html import number, pvalue
from steward._svgplot import _text_width, esc, nice_ticks, svg_document, tick_label
from steward.monitoring._report_families import FAMILIES

_TITLES = {k: t for k, t, _ in FAMILIES}
_BELOW = {"fairness", "extraction"}  # a breach is a value below the threshold
_STRICT = {"fairness_drift", "key_volume"}  # a breach is a value above it (the others: at or above)
_ABSENT = {
    "feature_drift": "the reference has no feature",
    "data_quality": "the reference has no feature",
    "prediction_drift": "no window has been measured",
    "performance": "no window has labels yet (give them with `steward monitor labels`, or a label column)",
    "estimated_performance": "no window has scores",
    "fairness": "the reference has no protected attribute with a reference group",
    "fairness_drift": "no closed window has a group large enough (it needs protected attributes)",
    "screening": "the source has no screening flags (a deployment's guard writes them)",
    "key_volume": "off unless the policy turns it on (key_volume: {enabled: true}), and it needs a caller key column",
    "extraction": "the source has no caller key column",
    "oversight": "no human review has been recorded",
}
_SUFFIX = {"missing": "missing rate increase", "out_of_range": "share out of range",
           "unseen_category": "share of unseen categories", "air": "adverse impact ratio",
           "tpr_ratio": "true positive rate ratio", "cusum": "CUSUM (standard errors)",
           "override_rate": "override rate", "appeal_success_rate": "appeal success rate"}
_SEVERITY = {"critical": "#7b241c", "high": "#c0392b", "medium": "#d68910", "low": "#7f8c8d"}
_CAP = 12  # charts per family before the rest go to the table below them
_HARD_CAP = 48  # charts per family even when more subjects raised alerts

_BLUE, _RED, _GREY, _BAND = "#2c6fbb", "#c0392b", "#8a8f94", "#fbe3e0"

_CSS = """
.steward .mon-panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: .3rem 1rem; }
.steward .mon-panel svg { display: block; }
.steward .mon-panel.wide { grid-column: 1 / -1; }
.steward .mon-panel .why { color: #777; font-size: .78rem; margin: 0 0 .6rem .3rem; }
.steward .mon-legend { display: flex; flex-wrap: wrap; gap: .2rem 1.1rem; font-size: .8rem; color: #444;
  margin: .3rem 0 .6rem; }
.steward .mon-legend span { display: inline-flex; align-items: center; gap: .3rem; }
.steward .badge.sev-critical { background: #7b241c; } .steward .badge.sev-high { background: #c0392b; }
.steward .badge.sev-medium { background: #d68910; } .steward .badge.sev-low { background: #7f8c8d; }
.steward ul.notjudged li { margin: .15rem 0; }
.steward .mon-cards .card { min-width: 8rem; }
"""


# --- reading the monitor ------------------------------------------------------------------------------


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _direction(signal: str) -> str:
    return "below" if signal in _BELOW else ("above" if signal in _STRICT else "at or above")


def _series(windows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[dict[str, Any] | None]]]:
    """signal -> subject -> the subject's signal in each window (None where the window has none)."""
    n = len(windows)
    out: dict[str, dict[str, list[dict[str, Any] | None]]] = {}
    for i, w in enumerate(windows):
        for s in (w.get("result") or {}).get("signals") or []:
            out.setdefault(str(s.get("signal")), {}).setdefault(str(s.get("subject")), [None] * n)[i] = s
    return out


def _value(s: Mapping[str, Any] | None) -> float | None:
    v = None if s is None else s.get("value")
    return float(v) if _finite(v) else None


def _closeness(signal: str, sigs: Sequence[Mapping[str, Any] | None]) -> float:
    """How close the subject came to its threshold (1: at it), over the windows with a value."""
    best = 0.0
    for s in sigs:
        v, t = _value(s), (s or {}).get("threshold")
        if v is None or not _finite(t):
            continue
        if signal in _BELOW:
            c = t / v if v > 0 else math.inf
        else:
            c = v / t if t > 0 else 0.0
        best = max(best, c)
    return best


def _interval(signal: str, subject: str, s: Mapping[str, Any]) -> tuple[float, float] | None:
    """The interval of the value where the signal has one."""
    m = s.get("measures") or {}
    if signal == "fairness" and subject.endswith(":air"):
        lo, hi = m.get("air_ci_low"), m.get("air_ci_high")
    elif (signal == "fairness" and subject.endswith(":tpr_ratio")) or signal == "oversight":
        lo, hi = m.get("ci_low"), m.get("ci_high")
    elif signal == "performance" and subject in ("accuracy", "auc") and _finite(m.get("reference")):
        ref, lo_, hi_ = m.get("reference"), m.get("ci_low"), m.get("ci_high")
        lo, hi = (ref - hi_, ref - lo_) if _finite(lo_) and _finite(hi_) else (None, None)
    else:
        return None
    return (float(lo), float(hi)) if _finite(lo) and _finite(hi) else None


def _label(signal: str, subject: str, sigs: Sequence[Mapping[str, Any] | None]) -> tuple[str, str]:
    """A chart's title and what its value is (the y axis)."""
    head, _, tail = subject.rpartition(":")
    if head and tail in _SUFFIX:
        title, what = f"{head} · {tail.replace('_', ' ')}", _SUFFIX[tail]
    else:
        title, what = subject, ""
    if signal == "feature_drift":
        m = next((s.get("measures") or {} for s in sigs if s is not None and _value(s) is not None), {})
        v = next((_value(s) for s in sigs if _value(s) is not None), None)
        what = ("PSI" if v is not None and m.get("psi") == v else
                "Wasserstein / sd" if v is not None and m.get("wasserstein") == v else
                "Jensen-Shannon" if v is not None and m.get("jensen_shannon") == v else "drift")
    elif signal == "prediction_drift":
        what = {"score": "PSI of the scores", "decision_rate": "change of favourable rate"}.get(subject, what)
    elif signal in ("performance", "estimated_performance"):
        est = "estimated " if signal == "estimated_performance" else ""
        what = {"accuracy": f"{est}accuracy drop", "auc": f"{est}AUC drop",
                "calibration": "expected calibration error"}.get(subject, what)
    elif signal == "screening":
        what = "share of rows"
    elif signal == "key_volume":
        what = "rows"
    elif signal == "extraction":
        what, title = "Shapiro-Wilk W", f"key {subject}"
    return title, what or signal.replace("_", " ")


def _tip(key: str, s: Mapping[str, Any], open_: bool) -> str:
    v, t = _value(s), s.get("threshold")
    text = f"{key}{' (open)' if open_ else ''}: {number(v, 4)}"
    if _finite(t):
        text += f" (threshold {number(t, 4, trim=True)})"
    if not s.get("judged"):
        text += f" — not judged: {s.get('why') or 'shown only'}"
    elif s.get("breach"):
        text += " — breach"
    extra = []
    for k, x in (s.get("measures") or {}).items():
        if len(extra) >= 8 or isinstance(x, (list, dict)) or x is None or isinstance(x, bool) or k in (
                "attribute", "group", "reference_group", "reference", "large_enough"):
            continue
        if _finite(x):
            shown = pvalue(x) if k.endswith("p_value") else number(x, 4)
        else:
            shown = str(x)
        extra.append(f"{k.replace('_', ' ')} {shown}")
    return text + ("; " + ", ".join(extra) if extra else "")


def _alert_tip(a: Mapping[str, Any]) -> str:
    v = a.get("value")
    text = (f"alert {a.get('id')} [{a.get('severity')}] {a.get('window')}: {a.get('signal')} {a.get('subject')} "
            f"{number(v, 4) if _finite(v) else 'n/a'}")
    if _finite(a.get("threshold")):
        text += f" (threshold {number(a['threshold'], 4, trim=True)})"
    if a.get("incident_id"):
        text += f"; incident {a['incident_id']}"
    if a.get("tripped"):
        text += f"; kill switch pulled on {a['tripped']}"
    return text


# --- one chart ----------------------------------------------------------------------------------------

_W, _H, _L, _R, _T, _B = 370, 210, 50, 34, 42, 34
_LONG = 30  # windows beyond which a chart takes a whole row and intervals are drawn as a band


def _x_labels(keys: Sequence[str]) -> tuple[list[str], str]:
    """The windows' tick texts (a common year left out, and said once) and that note."""
    note = ""
    shown = list(keys)
    years = {k[:5] for k in keys}
    if len(years) == 1 and len(keys) and all(len(k) >= 7 and k[:4].isdigit() and k[4] == "-" for k in keys):
        note, shown = f"windows of {keys[0][:4]}", [k[5:] for k in keys]
    return shown, note


def _grid_ticks(n: int, cell: float, label_w: float, yb: float, shown: Sequence[str], year: str,
                longest: int) -> list[str]:
    """The window labels under a grid of ``n`` cells (and the year, when the labels leave it out)."""
    out = [f'<text x="{label_w + (i + 0.5) * cell:.1f}" y="{yb + 12}" text-anchor="middle" font-size="9" '
           f'fill="#555">{esc(shown[i])}</text>' for i in _tick_indices(n, cell * n, longest)]
    if year:
        out.append(f'<text x="{label_w + cell * n / 2:.1f}" y="{yb + 25}" text-anchor="middle" font-size="9" '
                   f'fill="#777">{esc(year)}</text>')
    return out


def _tick_indices(n: int, width: float, longest: int) -> list[int]:
    room = max(1, int(width // (longest * 5.6 + 10)))
    step = max(1, math.ceil(n / room))
    return sorted(range(n - 1, -1, -step))  # the latest window is always labelled


def _chart(signal: str, subject: str, keys: Sequence[str], sigs: Sequence[Mapping[str, Any] | None],
           alerts: Sequence[Mapping[str, Any]], open_: Sequence[bool]) -> str:
    n = len(keys)
    title, what = _label(signal, subject, sigs)
    below = signal in _BELOW
    W = _W if n <= _LONG else 2 * _W + 20
    plot_w, plot_h = W - _L - _R, _H - _T - _B
    step = plot_w / max(n, 1)

    def px(i: float) -> float:
        return _L + step * (i + 0.5)

    values = [_value(s) for s in sigs]
    thresholds = [(s or {}).get("threshold") if s is not None and _finite(s.get("threshold")) else None for s in sigs]
    intervals = [_interval(signal, subject, s) if s is not None else None for s in sigs]
    refs: list[tuple[float, str]] = []
    if signal == "fairness" and subject.endswith(":air"):
        ra = next(((s.get("measures") or {}).get("reference_air") for s in sigs if s is not None
                   and _finite((s.get("measures") or {}).get("reference_air"))), None)
        refs.append((1.0, "parity"))
        if ra is not None and abs(ra - 1.0) > 1e-9:
            refs.append((float(ra), f"the reference's adverse impact ratio ({ra:.2f})"))
    core = [v for v in values if v is not None] + [t for t in thresholds if t is not None] + [r for r, _ in refs]
    if signal not in _BELOW and all(v >= 0 for v in core):
        core.append(0.0)
    lo, hi = (min(core), max(core)) if core else (0.0, 1.0)
    span = max(hi - lo, 0.1 * max(abs(hi), abs(lo)), 1e-6)
    ends = [e for iv in intervals if iv for e in iv]
    if ends:
        lo, hi = max(min([lo, *ends]), lo - span), min(max([hi, *ends]), hi + span)
    pad = 0.07 * max(hi - lo, 1e-9)
    y0, y1 = lo - pad, hi + pad
    if lo >= 0 and y0 < 0 and lo - 0 < pad:
        y0 = 0.0 if lo == 0 else y0

    def py(v: float) -> float:
        return _T + plot_h * (1 - (min(max(v, y0), y1) - y0) / (y1 - y0))

    parts: list[str] = []
    # open windows: a grey column
    for i in range(n):
        if open_[i]:
            parts.append(f'<rect x="{px(i) - step / 2:.1f}" y="{_T}" width="{step:.1f}" height="{plot_h}" '
                         f'fill="#eef0f2"><title>{esc(keys[i])}: open, shown as it stands</title></rect>')
    # the breach side of the threshold, shaded (a step where the threshold changed)
    runs: list[tuple[int, int, float]] = []
    for i, t in enumerate(thresholds):
        if t is None:
            continue
        if runs and runs[-1][1] == i - 1 and runs[-1][2] == t:
            runs[-1] = (runs[-1][0], i, t)
        else:
            runs.append((i, i, t))
    for a, b, t in runs:
        x0, x1 = px(a) - step / 2, px(b) + step / 2
        yt = py(t)
        top, bottom = (yt, _T + plot_h) if below else (_T, yt)
        parts.append(f'<rect class="breach-band" x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" '
                     f'height="{max(bottom - top, 0):.1f}" fill="{_BAND}" fill-opacity="0.75"/>')
    yticks = nice_ticks(y0, y1, 4)
    tstep = yticks[1] - yticks[0] if len(yticks) > 1 else 1.0
    for t in yticks:
        if y0 - 1e-12 <= t <= y1 + 1e-12:
            parts.append(f'<line x1="{_L}" y1="{py(t):.1f}" x2="{_L + plot_w}" y2="{py(t):.1f}" stroke="#e3e5e8"/>'
                         f'<text x="{_L - 4}" y="{py(t) + 3.5:.1f}" text-anchor="end" font-size="9.5" fill="#555">'
                         f'{tick_label(t, False, tstep)}</text>')
    for r, text in refs:
        if y0 <= r <= y1:
            look = 'stroke="#95a5a6"' if text == "parity" else 'stroke="#566573" stroke-dasharray="1.5 2.5"'
            parts.append(f'<line class="reference-line" x1="{_L}" y1="{py(r):.1f}" x2="{_L + plot_w}" '
                         f'y2="{py(r):.1f}" {look}><title>{esc(text)}</title></line>')
    # the threshold: a dashed line, and its value in the right margin
    for a, b, t in runs:
        x0, x1 = px(a) - step / 2, px(b) + step / 2
        yt = py(t)
        parts.append(f'<line class="threshold" data-threshold="{t:g}" x1="{x0:.1f}" y1="{yt:.1f}" x2="{x1:.1f}" '
                     f'y2="{yt:.1f}" stroke="{_RED}" stroke-width="1.3" stroke-dasharray="5 3">'
                     f'<title>threshold {esc(number(t, 4, trim=True))}: a breach is {_direction(signal)} it</title>'
                     f'</line>')
    if runs:
        t = runs[-1][2]
        parts.append(f'<text x="{_L + plot_w + 3}" y="{py(t) + 3.5:.1f}" font-size="9.5" fill="{_RED}">'
                     f'<title>threshold</title>{esc(number(t, 3, trim=True))}</text>')
    parts.append(f'<rect x="{_L}" y="{_T}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    # intervals: a whisker per window, or over many windows a band (broken where a window has none)
    if n > _LONG:
        run: list[int] = []
        for i in range(n + 1):
            if i < n and intervals[i] is not None and values[i] is not None:
                run.append(i)
                continue
            if run:
                upper = " ".join(f"{px(j):.1f},{py(intervals[j][1]):.1f}" for j in run)
                lower = " ".join(f"{px(j):.1f},{py(intervals[j][0]):.1f}" for j in reversed(run))
                parts.append(f'<polygon class="interval" points="{upper} {lower}" fill="{_BLUE}" '
                             f'fill-opacity="0.16" stroke="none"/>')
                run = []
    for i, iv in enumerate(intervals):
        if iv is None or values[i] is None or n > _LONG:
            continue
        a, b = py(iv[0]), py(iv[1])
        x = px(i)
        cap = min(4.0, step / 4)
        path = f"M{x:.1f} {a:.1f}V{b:.1f}"
        if y0 <= iv[0] <= y1:
            path += f"M{x - cap:.1f} {a:.1f}H{x + cap:.1f}"
        if y0 <= iv[1] <= y1:
            path += f"M{x - cap:.1f} {b:.1f}H{x + cap:.1f}"
        parts.append(f'<path class="interval" d="{path}" stroke="#555" fill="none"/>')
    # the value: a line broken where a window has none, and a point per window
    seg: list[str] = []
    for i, v in enumerate([*values, None]):
        if v is not None:
            seg.append(f"{px(i):.1f},{py(v):.1f}")
        elif seg:
            if len(seg) > 1:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{_BLUE}" stroke-width="1.6"/>')
            seg = []
    r = 3.6 if n <= 40 else (2.6 if n <= 100 else 1.8)
    for i, s in enumerate(sigs):
        v = values[i]
        if v is None or s is None:
            continue
        tip = esc(_tip(keys[i], s, open_[i]))
        if not s.get("judged"):
            parts.append(f'<circle class="point not-judged" cx="{px(i):.1f}" cy="{py(v):.1f}" r="{r:.1f}" '
                         f'fill="#fff" stroke="{_GREY}" stroke-width="1.4"><title>{tip}</title></circle>')
        elif s.get("breach"):
            parts.append(f'<circle class="point breach" cx="{px(i):.1f}" cy="{py(v):.1f}" r="{r + 0.6:.1f}" '
                         f'fill="{_RED}" stroke="#fff" stroke-width="0.8"><title>{tip}</title></circle>')
        else:
            parts.append(f'<circle class="point" cx="{px(i):.1f}" cy="{py(v):.1f}" r="{r:.1f}" fill="{_BLUE}">'
                         f'<title>{tip}</title></circle>')
    # alerts: a triangle above the window that raised each (side by side when one window has several)
    index = {k: i for i, k in enumerate(keys)}
    per: Counter = Counter()
    for a in alerts:
        i = index.get(str(a.get("window")))
        if i is None:
            continue
        x = px(i) + 9 * per[i]
        per[i] += 1
        colour = _SEVERITY.get(str(a.get("severity")), _RED)
        yv = py(values[i]) if values[i] is not None else _T + plot_h
        parts.append(f'<g class="alert-marker" data-alert="{esc(a.get("id"))}" data-window="{esc(a.get("window"))}">'
                     f'<line x1="{x:.1f}" y1="{_T - 3}" x2="{x:.1f}" y2="{yv:.1f}" stroke="{colour}" '
                     f'stroke-opacity="0.55" stroke-dasharray="2 2"/>'
                     f'<path d="M{x - 5.5:.1f} {_T - 13}L{x + 5.5:.1f} {_T - 13}L{x:.1f} {_T - 3}Z" fill="{colour}"/>'
                     f'<title>{esc(_alert_tip(a))}</title></g>')
    # axes' texts
    shown, year = _x_labels(keys)
    longest = max((len(s) for s in shown), default=1)
    for i in _tick_indices(n, plot_w, longest):
        parts.append(f'<text x="{px(i):.1f}" y="{_T + plot_h + 12}" text-anchor="middle" font-size="9" '
                     f'fill="#555">{esc(shown[i])}</text>')
    if year:
        parts.append(f'<text x="{_L + plot_w / 2:.1f}" y="{_H - 5}" text-anchor="middle" font-size="9" '
                     f'fill="#777">{esc(year)}</text>')
    cy = _T + plot_h / 2
    parts.append(f'<text x="11" y="{cy:.1f}" text-anchor="middle" font-size="9" fill="#444" '
                 f'transform="rotate(-90 11 {cy:.1f})">{esc(what)}</text>')
    fit = int((W - 16) / 7)
    short = title if len(title) <= fit else title[: fit - 1] + "…"
    parts.append(f'<text x="{W / 2:.0f}" y="14" text-anchor="middle" font-size="12" font-weight="600">'
                 f'<title>{esc(subject)}</title>{esc(short)}</text>')
    judged = [v for v, s in zip(values, sigs) if v is not None and s is not None and s.get("judged")]
    summary = (f"{_TITLES.get(signal, signal)}: {subject}, {what}, over {n} windows; {len(judged)} judged, "
               f"{sum(1 for s in sigs if s and s.get('breach'))} breaching, {len(alerts)} alerts")
    return svg_document(W, _H, summary, "".join(parts))


# --- sections -----------------------------------------------------------------------------------------


def _legend(has_interval: bool, has_reference: bool, has_open: bool, band: bool = False) -> str:
    def item(svg: str, text: str) -> str:
        return (f'<span><svg xmlns="http://www.w3.org/2000/svg" width="26" height="14" viewBox="0 0 26 14" '
                f'aria-hidden="true">{svg}</svg>{esc(text)}</span>')

    out = [item(f'<line x1="1" y1="7" x2="25" y2="7" stroke="{_BLUE}" stroke-width="1.6"/>'
                f'<circle cx="13" cy="7" r="3.6" fill="{_BLUE}"/>', "value per window"),
           item(f'<circle cx="13" cy="7" r="4.2" fill="{_RED}"/>', "breach"),
           item(f'<circle cx="13" cy="7" r="3.6" fill="#fff" stroke="{_GREY}" stroke-width="1.4"/>',
                "not judged (hover for why)"),
           item(f'<rect x="1" y="1" width="24" height="6" fill="{_BAND}"/><line x1="1" y1="7" x2="25" y2="7" '
                f'stroke="{_RED}" stroke-dasharray="5 3"/>', "threshold, its breach side shaded"),
           item(f'<path d="M2 2L10 2L6 11Z" fill="{_SEVERITY["medium"]}"/><path d="M13 2L21 2L17 11Z" '
                f'fill="{_SEVERITY["high"]}"/>', "alert raised in that window (colour: severity)")]
    if has_interval:
        out.append(item(f'<rect x="1" y="2" width="24" height="10" fill="{_BLUE}" fill-opacity="0.16"/>' if band else
                        '<path d="M13 1V13M10 1H16M10 13H16" stroke="#555" fill="none"/>', "95% interval"))
    if has_reference:
        out.append(item('<line x1="1" y1="7" x2="25" y2="7" stroke="#95a5a6"/>', "parity (1)"))
        out.append(item('<line x1="1" y1="7" x2="25" y2="7" stroke="#566573" stroke-dasharray="1.5 2.5"/>',
                        "the reference's own ratio"))
    if has_open:
        out.append(item('<rect x="4" y="0" width="18" height="14" fill="#eef0f2"/>', "open window"))
    return f'<div class="mon-legend">{"".join(out)}</div>'


def _why_line(sigs: Sequence[Mapping[str, Any] | None], skip: Sequence[str]) -> str:
    """Why some windows were not judged (leaving out the windows that were not judged at all: the summary
    says why once)."""
    whys = Counter(str(s.get("why") or "shown, not judged") for i, s in enumerate(sigs)
                   if s is not None and not s.get("judged") and not (skip[i] and s.get("why") == skip[i]))
    if not whys:
        return ""
    n = sum(whys.values())
    text = "; ".join(f"{w} ({c})" if len(whys) > 1 else w for w, c in whys.most_common(3))
    return f"Not judged in {n} window{'s' if n != 1 else ''}: {text}"


def _rest_table(signal: str, rows: list[tuple[str, list]], keys: Sequence[str],
                alerts: Mapping[tuple[str, str], list]) -> str:
    head = ("<tr><th class=l>subject</th><th>windows with a value</th><th>latest value</th><th>lowest</th>"
            "<th>highest</th><th>threshold</th><th>breaches</th><th>alerts</th>"
            "<th class=l>not judged because</th></tr>")
    body = []
    for subject, sigs in rows:
        vals = [(i, _value(s)) for i, s in enumerate(sigs) if _value(s) is not None]
        last = vals[-1] if vals else None
        th = next((s.get("threshold") for s in reversed(sigs) if s is not None and _finite(s.get("threshold"))), None)
        breaches = sum(1 for s in sigs if s and s.get("breach"))
        whys = Counter(str(s.get("why") or "") for s in sigs if s is not None and not s.get("judged"))
        why = whys.most_common(1)[0][0] if whys else ""
        cells = [f'<td class="l">{esc(subject)}</td>', f"<td>{len(vals)}</td>",
                 f"<td>{esc(number(last[1], 3))} <span class=ci>{esc(keys[last[0]])}</span></td>" if last
                 else '<td class="und">none</td>',
                 f"<td>{esc(number(min(v for _, v in vals), 3))}</td>" if vals else "<td></td>",
                 f"<td>{esc(number(max(v for _, v in vals), 3))}</td>" if vals else "<td></td>",
                 f"<td>{esc(number(th, 3, trim=True)) if th is not None else ''}</td>",
                 f'<td{" class=fail" if breaches else ""}>{breaches}</td>',
                 f"<td>{len(alerts.get((signal, subject), []))}</td>", f'<td class="l wrap">{esc(why)}</td>']
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="data"><thead>{head}</thead><tbody>{"".join(body)}</tbody>'
            f"</table></div>")


def _heat_colour(signal: str, s: Mapping[str, Any] | None) -> tuple[str, float | None]:
    v = _value(s)
    if v is None:
        return "#fff", None
    if not s.get("judged"):
        return "#e5e8e8", None
    if s.get("breach"):
        return _RED, None
    c = _closeness(signal, [s])
    for limit, colour in ((0.25, "#f4f6f7"), (0.5, "#fdebd0"), (0.75, "#f8c471"), (1.0, "#eb984e")):
        if c < limit:
            return colour, c
    return "#d98880", c  # past the threshold, yet no breach (not significant)


_HEAT = (("#f4f6f7", "under ¼ of the way to the threshold"), ("#fdebd0", "¼ to ½"), ("#f8c471", "½ to ¾"),
         ("#eb984e", "¾ of the way or more"), ("#d98880", "past it, not significant"), (_RED, "breach"),
         ("#e5e8e8", "not judged"))


def _heat(signal: str, title: str, subjects: Sequence[str], series: Mapping[str, list], keys: Sequence[str],
          alerts: Mapping[tuple[str, str], list], limit: int = 60) -> str:
    """Every subject of a family at a glance: a row per subject, a cell per window, coloured by how close the
    value came to its threshold."""
    n = len(keys)
    rows = list(subjects)[:limit]
    names = [k if len(k) <= 30 else k[:29] + "…" for k in rows]
    label_w = max(_text_width(t, 10) for t in names) + 14
    cell = max(4.0, min(40.0, (1000 - label_w) / max(n, 1)))
    row, top = 15, 6
    shown, year = _x_labels(keys)
    longest = max(len(x) for x in shown)
    width = label_w + cell * n + longest * 3 + 8
    height = top + row * len(rows) + (30 if year else 18)
    index = {k: i for i, k in enumerate(keys)}
    parts = []
    for r, (subject, name) in enumerate(zip(rows, names)):
        y = top + r * row
        parts.append(f'<text x="{label_w - 6:.1f}" y="{y + 11}" text-anchor="end" font-size="10">'
                     f'<title>{esc(subject)}</title>{esc(name)}</text>')
        for i, s in enumerate(series[subject]):
            colour, _ = _heat_colour(signal, s)
            tip = f"{subject}, {_tip(keys[i], s, False)}" if s is not None else f"{subject}, {keys[i]}: no value"
            parts.append(f'<rect class="heat-cell" x="{label_w + i * cell + 0.5:.1f}" y="{y + 0.5}" '
                         f'width="{cell - 1:.1f}" height="{row - 1}" fill="{colour}"><title>{esc(tip)}</title></rect>')
        for a in alerts.get((signal, subject), []):
            i = index.get(str(a.get("window")))
            if i is not None:
                x = label_w + (i + 0.5) * cell
                parts.append(f'<circle class="heat-alert" cx="{x:.1f}" cy="{y + row / 2:.1f}" '
                             f'r="{min(4, cell / 3):.1f}" '
                             f'fill="#fff" stroke="#641e16" stroke-width="1.5"><title>{esc(_alert_tip(a))}</title>'
                             f'</circle>')
    yb = top + row * len(rows)
    parts.extend(_grid_ticks(n, cell, label_w, yb, shown, year, longest))
    svg = svg_document(width, height, f"{title}: every subject's value per window, as a share of its threshold",
                       "".join(parts))
    legend = ('<div class="mon-legend">' + "".join(
        f'<span><svg xmlns="http://www.w3.org/2000/svg" width="16" height="12" aria-hidden="true"><rect width="16" '
        f'height="12" fill="{c}" stroke="#ccc" stroke-width="0.5"/></svg>{esc(t)}</span>' for c, t in _HEAT)
        + '<span><svg xmlns="http://www.w3.org/2000/svg" width="14" height="12" aria-hidden="true"><circle cx="7" '
          'cy="6" r="4" fill="#fff" stroke="#641e16" stroke-width="1.5"/></svg>alert</span></div>')
    more = (f'<p class="meta">The first {limit} of {len(subjects)} subjects, in the order above.</p>'
            if len(subjects) > limit else "")
    return f'<div class="chart">{svg}</div>{legend}{more}'


