"""The HTML of the PII scan: a verdict naming the identifier columns, the share of each kind per
column (a bar chart against ``min_share``), a sentence of what was done and the evidence table."""

from __future__ import annotations

from typing import Any

from steward._html import count, pct, table
from steward.debug._pages import _chart, _p, _section, _verdict

__all__ = ["pii_html", "pii_chart"]


def pii_chart(rep: Any, top: int = 20) -> str:
    """Horizontal bars: the share of each (column, kind) found, red beyond the report's ``min_share``."""
    from steward.debug._probe_charts import bars

    t = rep.table.sort_values("share", ascending=False, kind="stable").head(top)
    if t.empty:
        return ""
    return bars([f"{c} · {k}" for c, k in zip(t["column"], t["kind"])], t["share"].to_numpy(),
                limit=rep.min_share, percent=True, xmax=1.0,
                title="Share of each column's sampled values that are an identifier of the kind",
                xlabel="share of the non-missing sampled values")


def pii_html(rep: Any, heading: int = 2) -> str:
    t = rep.table
    flagged = t[t["identifier"]]
    cols = rep.identifier_columns()
    if cols:
        what = ", ".join(f"{r.column} ({r.kind}, {pct(r.share)})" for r in flagged.itertuples())
        verdict = _verdict("bad", f"{len(cols)} column{'s hold' if len(cols) != 1 else ' holds'} direct "
                                  f"identifiers: {what}. Keep them out of model features and reports.")
    else:
        verdict = _verdict("ok", f"No column holds direct identifiers: no kind reaches {pct(rep.min_share)} of a "
                                 f"column's sampled values.")
    of = f" of {count(rep.total_rows)}" if rep.total_rows is not None else ""
    deep = (" Microsoft Presidio's pattern recognisers also looked for identifiers inside the text (kinds "
            "'presidio:…')." if rep.deep else "")
    done = _p(f"Read {count(rep.sampled_rows)}{of} rows and tested every non-missing value of "
              f"{count(len(rep.columns_scanned))} columns against strict formats, with the identifier's checksum "
              f"where it has one; a column holds an identifier when at least {pct(rep.min_share)} of its values are "
              f"one. Dates of birth and person names are judged from the column's name as well; names are a "
              f"heuristic.{deep} Examples are masked.")
    parts = [verdict, _chart(pii_chart(rep)), done]
    parts += [_p(n[:1].upper() + n[1:] + ".") for n in rep.notes]
    parts.append(_section(heading, "Evidence per column", table(
        t, limit=15, order="share", formats={"matches": "count", "checked": "count", "share": "pct"},
        summary="the columns and kinds with the highest share")))
    return "\n".join(p for p in parts if p)
