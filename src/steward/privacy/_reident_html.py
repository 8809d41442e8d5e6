"""The HTML of a re-identification risk report: verdict, records by class size, smallest classes, l and t."""

from __future__ import annotations

from typing import Any

from steward._html import count, number, pct, table
from steward._svgplot import Bars, Panel, bar_chart
from steward.debug._pages import _chart, _p, _section, _verdict

__all__ = ["reident_html", "sizes_chart"]

_RED, _BLUE = "#c0392b", "#2c6fbb"


def sizes_chart(rep: Any) -> str:
    """Bars of the share of records by the size of their class, red below ``k``."""
    b = rep.buckets()
    b = b[b["classes"] > 0]
    if b.empty:
        return ""
    notes = [f"{count(r)} records in {count(c)} classes" for r, c in zip(b["records"], b["classes"])]
    panel = Panel([Bars(b["share_of_records"].to_numpy(float), [_RED if x else _BLUE for x in b["below_k"]],
                        notes=notes)],
                  title=f"Records by the size of their equivalence class (red: smaller than k = {rep.k})",
                  xlabel="share of records", percent=True, xmin=0, xmax=1)
    return bar_chart([f"size {s}" for s in b["class_size"]], [panel], width=800,
                     summary="share of records by class size: " + "; ".join(
                         f"{s}: {pct(v)}" for s, v in zip(b["class_size"], b["share_of_records"])))


def _verdict_line(rep: Any) -> str:
    qis = ", ".join(rep.quasi_identifiers)
    if not rep.passes_k:
        return _verdict("bad", f"Not {rep.k}-anonymous: {count(rep.records_below_k)} records "
                               f"({pct(rep.share_below_k)}) are in classes smaller than {rep.k}, and "
                               f"{count(rep.unique_records)} ({pct(rep.share_unique)}) are unique on {qis}.")
    d = rep.diversity
    weak = [f"{a} (entropy l {number(e)})" for a, e, ok in zip(d["attribute"], d["entropy_l"], d["passes_l"]) if not ok]
    far = [f"{a} (t {number(x)})" for a, x, ok in zip(d["attribute"], d["t_closeness"], d["passes_t"]) if not ok]
    if weak or far:
        parts = [f"fewer than l = {rep.l:g} well-represented values in some class: {', '.join(weak)}"] * bool(weak) \
            + [f"farther than t = {rep.t:g} from the whole table in some class: {', '.join(far)}"] * bool(far)
        return _verdict("bad", f"{rep.k}-anonymous (smallest class {count(rep.k_anonymity)}), but the sensitive "
                               f"values leak: {'; '.join(parts)}.")
    more = f", {rep.l:g}-diverse and {rep.t:g}-close" if len(d) else ""
    return _verdict("ok", f"{rep.k}-anonymous{more}: every combination of {qis} is shared by at least "
                          f"{count(rep.k_anonymity)} records.")


def reident_html(rep: Any, heading: int = 2) -> str:
    coarse = "; ".join(f"{c} coarsened into {len(v['bands'])} bands ({v['how']})" for c, v in rep.coarsening.items())
    did = (f"Records were grouped by their values of {', '.join(rep.quasi_identifiers)} into {count(rep.classes)} "
           f"equivalence classes of {number(rep.mean_class_size)} records on average ({count(rep.rows)} records); "
           "a missing value forms a class of its own" + (f"; {coarse}" if coarse else "") + ". "
           f"k-anonymity is the size of the smallest class ({count(rep.k_anonymity)}).")
    parts = [_verdict_line(rep), _chart(sizes_chart(rep)), _p(did)]
    if len(rep.diversity):
        parts.append(_p("Per sensitive attribute: distinct l-diversity is the fewest distinct values in a class, "
                        "entropy l-diversity the smallest exp(entropy) of a class's values; t-closeness is the "
                        "largest Earth Mover's Distance between a class's values and the whole table's (equal "
                        "distance between categories, i.e. total variation; ordered distance between numbers)."))
        parts.append(_section(heading, "Sensitive attributes: l-diversity and t-closeness", table(rep.diversity)))
    parts.append(_section(heading, f"The {min(rep.smallest, rep.classes)} smallest classes", table(
        rep.smallest_cells(), limit=rep.smallest)))
    parts.append(_section(heading, "Classes by size", table(rep.buckets().drop(columns=["below_k"]))))
    return "\n".join(parts)
