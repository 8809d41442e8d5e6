"""The monitor report: one HTML file of a monitor's windows, signal by signal, that works offline.

:func:`monitor_report_html` takes what ``Registry.monitor(name)`` returns (a plain dict: no database here)
and writes a summary (the monitor, its source and reference, its windows and its alerts with their
incidents and kill-switch trips), an overview of breaches per family and window, then a section per signal
family with a small chart per subject: the value window by window, the threshold with its breach side
shaded, breaching points in red, windows not judged as hollow points (with the reason), alerts as
triangles above the window that raised them, and intervals where the signal has one (a group's adverse
impact ratio, accuracy). Charts are inline SVG written by hand (as :mod:`steward._svgplot` does); nothing
is fetched and no script runs. Every text from the data is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from steward._html import number, page, pvalue
from steward._svgplot import _text_width, esc, nice_ticks, svg_document, tick_label

__all__ = ["monitor_report_html", "FAMILIES"]

# (signal, section title, what its value is)
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("feature_drift", "Feature drift", "How far each feature's distribution moved from the reference's (PSI on the "
                                       "reference's deciles, or a distance, as the policy says)."),
    ("prediction_drift", "Prediction drift", "The PSI of the scores on the reference's score deciles, and the "
                                             "absolute change of the favourable decision rate."),
    ("data_quality", "Data quality", "Per feature: the increase of the missing rate over the reference's, the "
                                     "share of values outside the reference's range, or of categories it never saw."),
    ("performance", "Performance", "Once labels arrive: the drop of accuracy and AUC below the reference's (a "
                                   "breach also needs the drop to be significant); calibration is shown, not judged."),
    ("estimated_performance", "Estimated performance", "While labels are missing: the drop of accuracy and AUC "
                                                       "estimated from the scores' confidence, below the reference's."),
    ("fairness", "Fairness", "Per group: its favourable rate over its reference group's (adverse impact ratio) with "
                             "its interval, and with labels the true positive rate ratio; a breach is below the "
                             "minimum with the whole interval below parity."),
    ("fairness_drift", "Fairness drift", "A one-sided CUSUM of each group's adverse impact ratio falling below its "
                                         "reference value, in standard errors: a slow drift that lasts adds up."),
    ("screening", "Screening", "The share of rows the guard flagged, that were training rows, or duplicates."),
    ("key_volume", "Key volume", "Rows per caller key per window."),
    ("extraction", "Extraction", "PRADA: the Shapiro-Wilk W of each key's distances between queries; a model-"
                                 "extraction attack gives a low W."),
    ("oversight", "Oversight", "Per group: the share of reviewed decisions a person overturned, and of appeals "
                               "that succeeded (a breach also needs the interval above zero)."),
)
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
    for i in _tick_indices(n, cell * n, longest):
        parts.append(f'<text x="{label_w + (i + 0.5) * cell:.1f}" y="{yb + 12}" text-anchor="middle" font-size="9" '
                     f'fill="#555">{esc(shown[i])}</text>')
    if year:
        parts.append(f'<text x="{label_w + cell * n / 2:.1f}" y="{yb + 25}" text-anchor="middle" font-size="9" '
                     f'fill="#777">{esc(year)}</text>')
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


def _family(signal: str, title: str, blurb: str, subjects: Mapping[str, list], keys: Sequence[str],
            open_: Sequence[bool], alerts: Mapping[tuple[str, str], list], skip: Sequence[str]) -> str:
    with_value = {k: v for k, v in subjects.items() if any(_value(s) is not None for s in v)}
    without = {k: v for k, v in subjects.items() if k not in with_value}
    n_alerts = sum(len(alerts.get((signal, k), [])) for k in subjects)
    breached = [k for k, v in subjects.items() if any(s and s.get("breach") for s in v)]

    def rank(k: str) -> tuple:
        v = subjects[k]
        return (-len(alerts.get((signal, k), [])), -sum(1 for s in v if s and s.get("breach")),
                -_closeness(signal, v), k)

    ordered = sorted(with_value, key=rank)
    # a chart for each subject that raised an alert, breached or came within half of its threshold (at least
    # a few, so the family has a picture), at most _CAP unless more raised alerts
    alerted = [k for k in ordered if alerts.get((signal, k))]
    shown_only = [k for k in ordered if all(s is None or not _finite(s.get("threshold")) for s in subjects[k])]
    worth = [k for k in ordered if k in alerted or k in breached or k in shown_only
             or _closeness(signal, subjects[k]) >= 0.5]
    cap = min(max(_CAP, len(alerted)), _HARD_CAP)
    charted = (ordered if len(ordered) <= 6 else (worth or ordered[:3]))[:cap]
    out = [f'<section id="{esc(signal)}"><h2>{esc(title)}</h2>',
           f'<p>{esc(blurb)} A breach is a value {_direction(signal)} the threshold.</p>',
           f'<p class="meta">{len(subjects)} subject{"s" if len(subjects) != 1 else ""}; '
           f'{len(breached)} breached in some window; {n_alerts} alert{"s" if n_alerts != 1 else ""}.</p>']
    if charted:
        has_iv = any(_interval(signal, k, s) for k in charted for s in subjects[k] if s is not None)
        has_ref = signal == "fairness" and any(k.endswith(":air") for k in charted)
        out.append(_legend(has_iv, has_ref, any(open_), band=len(keys) > _LONG))
        whys = {k: _why_line(subjects[k], skip) for k in charted}
        common = len(set(whys.values())) == 1 and len(charted) > 1
        if common and whys[charted[0]]:
            out.append(f'<p class="meta">{esc(whys[charted[0]])}.</p>')
        wide = " wide" if len(keys) > _LONG else ""
        panels = [f'<div class="mon-panel{wide}">'
                  f'{_chart(signal, k, keys, subjects[k], alerts.get((signal, k), []), open_)}'
                  + (f'<p class="why">{esc(whys[k])}</p>' if whys[k] and not common else "") + "</div>"
                  for k in charted]
        out.append(f'<div class="mon-panels">{"".join(panels)}</div>')
    rest = [k for k in ordered if k not in charted]
    if rest:
        why = ("those that raised alerts or breached first, then those closest to their threshold"
               if len(worth) > len(charted) else
               "those that raised alerts, breached or came within half of their threshold" if worth else
               "none came within half of its threshold: the closest")
        out.append(f'<p class="meta">Charts for {len(charted)} of the {len(with_value)} subjects with a value '
                   f'({esc(why)}).</p>')
        grid = _heat(signal, title, ordered, subjects, keys, alerts)
        # nothing left out came near its threshold: the grid is there to check, folded
        out.append(grid if any(k in worth for k in rest) else f"<details><summary>Every subject, window by "
                                                             f"window</summary>{grid}</details>")
        out.append(f"<details><summary>The other {len(rest)} subjects' figures</summary>"
                   f"{_rest_table(signal, [(k, subjects[k]) for k in rest], keys, alerts)}</details>")
    if without:
        items = []
        for k, v in sorted(without.items()):
            whys_ = Counter(str(s.get("why") or "no value") for s in v if s is not None)
            items.append(f"<li><strong>{esc(k)}</strong>: {esc('; '.join(w for w, _ in whys_.most_common(2)))}</li>")
        out.append(f'<p>Not judged in any window:</p><ul class="notjudged">{"".join(items)}</ul>')
    out.append("</section>")
    return "\n".join(out)


def _overview(families: Sequence[tuple[str, str]], series: Mapping[str, Mapping[str, list]], keys: Sequence[str],
              open_: Sequence[bool], alerts: Sequence[Mapping[str, Any]]) -> str:
    """A grid of families by windows: red where a subject breached (dark with the alert count where one was
    raised), green where everything judged passed, grey where nothing was judged."""
    n = len(keys)
    if not n or not families:
        return ""
    label_w = max(_text_width(t, 11) for _, t in families) + 16
    cell = max(5.0, min(56.0, (1100 - label_w) / n))
    row, top = 22, 8
    shown, year = _x_labels(keys)
    longest = max(len(s) for s in shown)
    width = label_w + cell * n + longest * 3 + 8  # room for the last window's label
    height = top + row * len(families) + 30
    raised = Counter((str(a.get("signal")), str(a.get("window"))) for a in alerts)
    parts = []
    for r, (signal, title) in enumerate(families):
        y = top + r * row
        parts.append(f'<text x="{label_w - 8:.1f}" y="{y + 15}" text-anchor="end" font-size="11">{esc(title)}</text>')
        for i, key in enumerate(keys):
            sigs = [v[i] for v in series.get(signal, {}).values() if v[i] is not None]
            breach = sorted(s["subject"] for s in sigs if s.get("breach"))
            judged = sum(1 for s in sigs if s.get("judged"))
            k = raised[(signal, key)]
            fill = ("#922b21" if k else "#e6b0aa" if breach else "#c8e6c9" if judged else
                    "#eceff1" if sigs else "#fff")
            what = (f"{k} alert{'s' if k != 1 else ''}; " if k else "") + (
                f"breach: {', '.join(breach[:6])}{'…' if len(breach) > 6 else ''}" if breach else
                f"{judged} judged, no breach" if judged else "not judged" if sigs else "no signal")
            x = label_w + i * cell
            dash = ' stroke="#999" stroke-dasharray="2 2"' if open_[i] else ""
            parts.append(f'<rect class="cell" x="{x + 0.5:.1f}" y="{y + 1}" width="{cell - 1:.1f}" height="{row - 2}" '
                         f'fill="{fill}"{dash}>'
                         f'<title>{esc(title)}, {esc(key)}{" (open)" if open_[i] else ""}: {esc(what)}</title></rect>')
            if cell >= 16 and (k or breach):
                parts.append(f'<text x="{x + cell / 2:.1f}" y="{y + 15}" text-anchor="middle" font-size="10" '
                             f'fill="{"#fff" if k else "#7b241c"}">{k if k else len(breach)}</text>')
    yb = top + row * len(families)
    for i in _tick_indices(n, cell * n, longest):
        parts.append(f'<text x="{label_w + (i + 0.5) * cell:.1f}" y="{yb + 12}" text-anchor="middle" font-size="9" '
                     f'fill="#555">{esc(shown[i])}</text>')
    if year:
        parts.append(f'<text x="{label_w + cell * n / 2:.1f}" y="{yb + 25}" text-anchor="middle" font-size="9" '
                     f'fill="#777">{esc(year)}</text>')
    svg = svg_document(width, height, "Breaches and alerts per signal family and window", "".join(parts))
    key_ = ('<div class="mon-legend">'
            + "".join(f'<span><svg xmlns="http://www.w3.org/2000/svg" width="16" height="12" aria-hidden="true">'
                      f'<rect width="16" height="12" fill="{c}"/></svg>{esc(t)}</span>'
                      for c, t in (("#922b21", "alert raised (count)"), ("#e6b0aa", "breach (subjects)"),
                                   ("#c8e6c9", "judged, no breach"), ("#eceff1", "not judged")))
            + "</div>")
    return f'<h2>Overview</h2><div class="chart">{svg}</div>{key_}'


# --- the page -----------------------------------------------------------------------------------------


def _source_text(m: Mapping[str, Any]) -> str:
    src = m.get("source") or {}
    kind = src.get("kind", "")
    if m.get("deployment"):
        return f"deployment {m['deployment']}"
    if kind == "file":
        return f"file {src.get('path', '')}"
    return str(kind or "unknown")


def _summary(m: Mapping[str, Any], keys: Sequence[str], open_: Sequence[bool], rows: int,
             series: Mapping[str, Mapping[str, list]]) -> str:
    alerts = list(m.get("alerts") or [])
    ref = m.get("reference") or {}
    settings = m.get("settings") or {}
    incidents = sorted({a["incident_id"] for a in alerts if a.get("incident_id")} |
                       ({m["incident_id"]} if m.get("incident_id") else set()))
    tripped = sorted({str(a["tripped"]) for a in alerts if a.get("tripped")})
    breaches = sum(1 for fam in series.values() for v in fam.values() for s in v if s and s.get("breach"))
    out = []
    if not keys:
        out.append('<div class="verdict info">No window yet: run the monitor (<code>steward monitor run</code>).</div>')
    elif alerts:
        sev = Counter(str(a.get("severity")) for a in alerts)
        out.append(f'<div class="verdict bad"><strong>{len(alerts)} alert{"s" if len(alerts) != 1 else ""}</strong> '
                   f'over {len(keys)} windows ({", ".join(f"{c} {s}" for s, c in sev.most_common())})'
                   + (f"; incident{'s' if len(incidents) != 1 else ''} {', '.join(map(str, incidents))}"
                      if incidents else "")
                   + (f"; <strong>kill switch pulled</strong> on {esc(', '.join(tripped))}" if tripped else "")
                   + ".</div>")
    else:
        out.append(f'<div class="verdict ok">No alert over {len(keys)} window{"s" if len(keys) != 1 else ""}.</div>')
    cards = [(f"{len(keys):,}", "windows"), (f"{rows:,}", "rows"), (f"{breaches:,}", "breaching signals"),
             (f"{len(alerts):,}", "alerts"), (f"{len(incidents):,}", "incidents"),
             (f"{len(tripped):,}", "kill-switch trips")]
    out.append('<div class="cards mon-cards">' + "".join(f'<div class="card"><span class="big">{esc(v)}</span>'
                                                          f'<span class="what">{esc(t)}</span></div>'
                                                          for v, t in cards) + "</div>")
    window = settings.get("window") or {}
    closed = sum(1 for o in open_ if not o)
    protected = ref.get("protected") or []
    groups = ref.get("reference_groups") or {}
    facts = [("Monitor", m.get("name", "")), ("Source", _source_text(m)),
             ("Reference", str(m.get("reference_source") or ref.get("source") or "given")
              + (f" ({int(ref['rows']):,} rows)" if _finite(ref.get("rows")) else "")),
             ("Features", ", ".join(str(f.get("name")) for f in ref.get("features") or []) or "none"),
             ("Protected", ", ".join(f"{a} (reference {groups[a]})" if a in groups else str(a) for a in protected)
              or "none"),
             ("Reference measures", "; ".join(t for t in (
                 f"favourable rate {number(ref['decision_rate'], 3)}" if _finite(ref.get("decision_rate")) else "",
                 f"accuracy {number(ref['accuracy'], 3)}" if _finite(ref.get("accuracy")) else "",
                 f"AUC {number(ref['auc'], 3)}" if _finite(ref.get("auc")) else "",
                 "scores" if ref.get("score_counts") else "no scores") if t)),
             ("Tier", m.get("tier") or "none"),
             ("Windows", (f"{len(keys):,}: {keys[0]} to {keys[-1]}; {closed:,} closed, {len(keys) - closed:,} open"
                          if keys else "none")
              + (f" (by {window.get('by')}{', ' + str(window.get('size')) + ' rows' if window.get('size') else ''})"
                 if window.get("by") else "")),
             ("Rows", f"{rows:,}"),
             ("Last run", _when(m.get("last_run_at")) or "never"),
             ("Incident", ", ".join(map(str, incidents)) or "none")]
    out.append("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>")
    small = [(str(w.get("key")), str((w.get("result") or {}).get("why") or "no result"))
             for w in m.get("windows") or [] if not (w.get("result") or {}).get("judged", False)]
    if small:
        listed = "; ".join(f"{k} ({why})" for k, why in small[:10]) + (f"; and {len(small) - 10} more"
                                                                         if len(small) > 10 else "")
        out.append(f'<p class="meta">Windows not judged: {esc(listed)}. Their points are hollow; the signals '
                   "counted on their own (screening, extraction, oversight) may still be judged in them.</p>")
    opened = [k for k, o in zip(keys, open_) if o]
    if opened:
        out.append(f'<p class="meta">Open: {esc(", ".join(opened))}, shown as it stands (grey): it is judged, and '
                   "can raise alerts, when it closes.</p>")
    if alerts:
        out.append("<h3>Alerts</h3>" + _alerts_table(alerts))
    return "\n".join(out)


def _when(text: Any) -> str:
    """An ISO time as ``2026-11-30 15:34 UTC``."""
    t = str(text or "")
    if len(t) >= 16 and t[10] == "T" and t[16:].startswith((":", "+00:00", "Z")):
        return t[:10] + " " + t[11:16] + " UTC"
    return t


def _alerts_table(alerts: Sequence[Mapping[str, Any]], limit: int = 30) -> str:
    head = ("<tr><th>alert</th><th class=l>window</th><th class=l>signal</th><th class=l>subject</th>"
            "<th class=l>severity</th><th>value</th><th>threshold</th><th>in a row</th><th>incident</th>"
            "<th class=l>kill switch</th><th class=l>raised</th></tr>")

    def rows(items: Sequence[Mapping[str, Any]]) -> str:
        out = []
        for a in items:
            ev = a.get("evidence") or {}
            sev = str(a.get("severity") or "")
            out.append(
                f"<tr><td><a href=\"#{esc(a.get('signal'))}\">{esc(a.get('id'))}</a></td>"
                f'<td class="l">{esc(a.get("window"))}</td>'
                f'<td class="l">{esc(_TITLES.get(str(a.get("signal")), a.get("signal")))}</td>'
                f'<td class="l">{esc(a.get("subject"))}</td>'
                f'<td class="l"><span class="badge sev-{esc(sev)}">{esc(sev)}</span></td>'
                f"<td>{esc(number(a.get('value'), 4))}</td>"
                f"<td>{esc(number(a.get('threshold'), 4, trim=True)) if a.get('threshold') is not None else ''}</td>"
                f"<td>{esc(ev.get('windows', ''))}</td>"
                f"<td>{esc(a.get('incident_id') or '—')}</td>"
                f'<td class="l{" fail" if a.get("tripped") else ""}">'
                f"{esc('pulled on ' + str(a['tripped']) if a.get('tripped') else '—')}</td>"
                f'<td class="l">{esc(_when(a.get("created_at")))}</td></tr>')
        return "".join(out)

    newest = list(reversed(alerts))
    table = (f'<div class="scroll"><table class="data"><thead>{head}</thead><tbody>{rows(newest[:limit])}</tbody>'
             f"</table></div>")
    if len(alerts) > limit:
        table += (f'<p class="meta">Showing the latest {limit} of {len(alerts):,} alerts.</p><details><summary>'
                  f'All {len(alerts):,} alerts</summary><div class="scroll"><table class="data"><thead>{head}</thead>'
                  f"<tbody>{rows(alerts)}</tbody></table></div></details>")
    return table


def monitor_report_html(monitor: Mapping[str, Any], *, max_windows: int = 180) -> str:
    """One self-contained HTML page of a monitor (what ``Registry.monitor(name)`` returns): a summary with
    the alerts, an overview of breaches per window, and per signal family a chart per subject over the
    latest ``max_windows`` windows (the summary and the alerts table count them all)."""
    every = sorted(monitor.get("windows") or [], key=lambda w: str(w.get("key")))
    all_keys = [str(w.get("key")) for w in every]
    all_open = [not w.get("closed") for w in every]
    rows = sum(int(w.get("rows") or 0) for w in every)
    windows = every[-max_windows:] if max_windows > 0 else every
    keys = [str(w.get("key")) for w in windows]
    open_ = [not w.get("closed") for w in windows]
    series = _series(windows)
    alerts = list(monitor.get("alerts") or [])
    by_subject: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in alerts:
        by_subject.setdefault((str(a.get("signal")), str(a.get("subject"))), []).append(a)
    known = [k for k, _, _ in FAMILIES]
    order = [(k, t, b) for k, t, b in FAMILIES if k in series] + [
        (k, k.replace("_", " ").capitalize(), "") for k in sorted(series) if k not in known]
    body = [f"<style>{_CSS}</style>", _summary(monitor, all_keys, all_open, rows, _series(every))]
    if len(windows) < len(every):
        body.append(f'<p class="meta">The charts below show the latest {len(windows):,} of the {len(every):,} '
                    f"windows ({esc(keys[0])} to {esc(keys[-1])}).</p>")
    body.append(_overview([(k, t) for k, t, _ in order], series, keys, open_, alerts))
    skip = [("" if (w.get("result") or {}).get("judged", True) else str((w.get("result") or {}).get("why") or ""))
            for w in windows]
    sections = [_family(k, t, b, series[k], keys, open_, by_subject, skip) for k, t, b in order]
    if order:
        body.append('<p class="meta">Sections: ' + ", ".join(f'<a href="#{esc(k)}">{esc(t)}</a>'
                                                             for k, t, _ in order) + "</p>")
    body += sections
    own = monitor.get("settings") or {}
    absent = [(k, t) for k, t, _ in FAMILIES if k not in series]
    if all_keys and absent:
        items = "".join(f"<li><strong>{esc(t)}</strong>: "
                        + esc("off in the monitor's settings" if (own.get(k) or {}).get("enabled") is False else
                              _ABSENT.get(k, "no signal") + ("" if k == "key_volume" else
                                                             "; or it is off in the policy")) + "</li>"
                        for k, t in absent)
        body.append(f'<section id="not-measured"><h2>Not measured</h2><ul class="notjudged">{items}</ul></section>')
    meta = (f"{_source_text(monitor)} · tier {monitor.get('tier') or 'none'} · {len(all_keys):,} windows · "
            f"{rows:,} rows")
    return page(f"Monitor {monitor.get('name', '')}", "\n".join(body), meta=meta, kind="monitor report")
