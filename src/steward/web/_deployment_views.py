"""What the deployment pages show, worked out from the registry's dicts (no HTML templates here, no database).

The guard settings in force in plain words, the decisions by route (a table and an offline SVG bar
chart), the flags and review reasons of logged decisions, and decisions as favourable or adverse.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from steward.serving._settings import SCREEN_FLAGS, GuardSettings
from steward.web._pages_core import when

__all__ = ["ROUTES", "decision_text", "duration", "flag_text", "guard_view", "model_of", "routes_chart",
           "routes_view", "safe_default", "stamp", "why_text"]

# Each route a logged decision can take: (its name on the page, what it means, its colour in the chart).
ROUTES: dict[str, tuple[str, str, str]] = {
    "model": ("Model", "the deployed version decided", "#1e7d45"),
    "backup": ("Backup", "the model failed or was too slow, so the backup version decided", "#e0a800"),
    "benchmark": ("Benchmark", "the benchmark disagreed and the guard takes its decision", "#6f42c1"),
    "sticky": ("Sticky", "the same person sent the same inputs recently and got the same decision again",
               "#52606d"),
    "review": ("Sent to review", "a person will decide; the caller got the interim decision", "#1d5fa6"),
    "refused": ("Refused", "the guard's screening refused the row (unlike the training data)", "#b42318"),
    "kill_switch": ("Kill switch", "the kill switch was pulled: the safe default answered", "#7a1a12"),
}

_FLAGS = {
    "out_of_range": "outside the training range",
    "unseen_category": "a category not seen in training",
    "anomalous": "anomalous row",
    "duplicate": "the same inputs again from the same key",
    "training_row": "an exact row of the training data",
    "benchmark_disagrees": "the benchmark decides otherwise",
    "model_unavailable": "neither the model nor the backup answered",
}

_WHY = {
    "near_threshold": "the score is close to the threshold",
    "benchmark_disagrees": "the benchmark decides otherwise",
    "kill_switch": "the kill switch is pulled",
    "model_unavailable": "neither the model nor the backup answered",
}

_ACTIONS = {"flag": "answer, and record the flag", "review": "send to a person's review",
            "refuse": "refuse the row (HTTP 422)"}


def model_of(ref: str | None) -> tuple[str, str] | None:
    """``MODEL:VERSION`` as (model, version), for a link to the model page; None when there is none."""
    if not ref or ":" not in ref:
        return None
    model, version = ref.rsplit(":", 1)  # a version holds no colon
    return model, version


def stamp(value: Any) -> str:
    """An ISO timestamp to the second (``30 Nov 2026, 12:18:33 UTC``), for logged decisions."""
    return when(value, seconds=True)


def duration(seconds: float) -> str:
    """A number of seconds as people say it: ``45 s``, ``10 minutes``, ``24 hours``, ``3 days``."""
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0 and not (unit == "day" and seconds / size < 2):
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds:g} s"


def decision_text(decision: Any, favourable: int) -> str:
    """A logged decision as ``1 (favourable)`` or ``0 (adverse)``; ``—`` when there is none (refused)."""
    if decision is None:
        return "—"
    return f"{decision} ({'favourable' if decision == favourable else 'adverse'})"


def flag_text(flag: str) -> str:
    """A flag (``out_of_range:age``) in plain words (``outside the training range: age``)."""
    kind, _, feature = str(flag).partition(":")
    text = _FLAGS.get(kind, kind.replace("_", " "))
    return f"{text}: {feature}" if feature else text


def why_text(why: str) -> str:
    """Why a decision went to review (``screening:unseen_category:occupation``, ``near_threshold``) in words."""
    if str(why).startswith("screening:"):
        return "screening: " + flag_text(str(why).removeprefix("screening:"))
    return _WHY.get(str(why), str(why).replace("_", " "))


def routes_view(routes: dict[str, int]) -> list[dict[str, Any]]:
    """The decisions by route, in the pipeline's order (unknown routes last), with their share."""
    total = sum(routes.values()) or 1
    order = [r for r in ROUTES if r in routes] + sorted(r for r in routes if r not in ROUTES)
    out = []
    for r in order:
        name, meaning, colour = ROUTES.get(r, (r.replace("_", " ").capitalize(), "", "#7f7f7f"))
        out.append({"route": r, "name": name, "meaning": meaning, "colour": colour, "count": routes[r],
                    "share": routes[r] / total})
    return out


def routes_chart(routes: dict[str, int]) -> Markup | None:
    """A horizontal bar per route (drawn as SVG here, so the page fetches nothing); None without decisions."""
    from steward._svgplot import Bars, Panel, bar_chart

    rows = routes_view(routes)
    if not rows:
        return None
    notes = [f"{r['count']:,} ({r['share']:.0%})" for r in rows]
    panel = Panel(series=[Bars(values=[r["count"] for r in rows], colours=[r["colour"] for r in rows], notes=notes)],
                  xlabel="decisions logged", xmin=0)
    summary = "Decisions by route: " + ", ".join(f"{r['name']} {r['count']:,}" for r in rows)
    return Markup(bar_chart([r["name"] for r in rows], [panel], width=640, summary=summary))


def safe_default(guard: dict[str, Any]) -> str:
    """What a request gets while the kill switch is pulled (or when no model can answer)."""
    g = GuardSettings.model_validate(guard)
    if g.kill_switch.answer == "review":
        interim = g.adverse if g.review.interim == "adverse" else g.favourable
        return f"the interim {g.review.interim} decision ({interim}), and each request goes to a person's review"
    value = g.adverse if g.kill_switch.answer == "adverse" else g.favourable
    return f"the {g.kill_switch.answer} decision ({value})"


def guard_view(guard: dict[str, Any], *, backup: str | None = None) -> list[dict[str, Any]]:
    """The guard settings in force as rows of ``{name, text, items}`` (``items``: a list of lines, or empty)."""
    g = GuardSettings.model_validate(guard)  # stored with every default filled in, so this reads them back
    rows: list[dict[str, Any]] = []

    def row(name: str, text: str, items: list[str] | None = None) -> None:
        rows.append({"name": name, "text": text, "items": items or []})

    row("Decision rule", f"Decision 1 when the score is at least {g.threshold:g}, else 0; "
                         f"{g.favourable} is the decision favourable to the person.")
    t = g.throttle
    row("Throttle", "Off: no limit on requests." if t.rate == 0 else
        f"{t.rate:g} requests a second per API key, in bursts of up to {t.burst:,}; beyond that, HTTP 429.")
    after = (f"the backup ({backup}) answers" if backup else
             "with no backup, the safe default answers and the request goes to review")
    row("Latency budget", f"{g.latency_budget_ms:g} ms: when the model is slower than this, or fails, {after}.")
    sc = g.screening
    row("Screening", "Each row is compared with the training profile; on each finding:",
        [f"{_FLAGS[f]}: {_ACTIONS[getattr(sc, f)]}" for f in SCREEN_FLAGS] +
        [f"the same inputs from the same key count as a duplicate within {duration(sc.duplicate_window_s)}",
         f"values up to {sc.range_margin:.0%} of the training range beyond it are within range"])
    st = g.sticky
    row("Sticky decisions", "Off." if st.window_s == 0 else
        f"The same person (request field “{st.field}”) sending the same inputs within {duration(st.window_s)} "
        f"gets the same decision again.")
    rv = g.review
    conditions = []
    if rv.band > 0:
        conditions.append(f"the score is within {rv.band:g} of the threshold")
    if rv.on_flags:
        conditions.append("a screening finding whose action is review")
    conditions.append({"review": "the benchmark decides otherwise",
                       "benchmark": "never for a disagreement with the benchmark: its decision is taken instead",
                       "flag": "never for a disagreement with the benchmark: it is only flagged"}
                      [rv.benchmark_disagreement])
    conditions.append("neither the model nor the backup answers")
    interim = g.adverse if rv.interim == "adverse" else g.favourable
    row("Sent to a person's review when", f"Meanwhile the caller gets the interim {rv.interim} decision ({interim}).",
        conditions)
    row("Safe default", f"While the kill switch is pulled, every request gets {safe_default(guard)}. "
        + ("Revoking the version's approval pulls the kill switch." if g.kill_on_revocation else
           "Revoking the version's approval does not pull the kill switch."))
    rs = g.reasons
    never = sorted(set(rs.never_cite) | set(g.protected))
    row("Reasons", "None are given." if rs.count == 0 else
        f"Up to {rs.count} principal reasons with each adverse decision"
        + (f"; never citing {', '.join(never)}." if never else "."))
    row("Protected attributes", (f"{', '.join(g.protected)}: recorded with each decision for monitoring, "
                                 f"never given to the model.") if g.protected else "None recorded.")
    lg = g.log
    row("Prediction log", ("The inputs of each decision are stored" if lg.inputs == "store" else
                           "Only a SHA-256 hash of each decision's inputs is stored")
        + ("; kept for ever." if lg.retention_days is None else f"; kept for {lg.retention_days:g} days."))
    return rows
