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

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from steward._html import number, page
from steward._svgplot import _text_width, esc, svg_document
from steward.monitoring._report_charts import (  # the pictures, in a module of their own
    _ABSENT, _CAP, _CSS, _HARD_CAP, _LONG, _TITLES, _chart, _closeness, _direction, _finite, _heat, _interval,
    _grid_ticks, _legend, _rest_table, _series, _value, _why_line, _x_labels)
from steward.monitoring._report_families import FAMILIES

__all__ = ["monitor_report_html", "FAMILIES"]


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
    parts.extend(_grid_ticks(n, cell, label_w, yb, shown, year, longest))
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
