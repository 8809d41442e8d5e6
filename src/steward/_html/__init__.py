"""The look every HTML page and notebook view of Steward shares: one base template, one stylesheet,
tables with numbers formatted for people, and long tables folded into ``<details>``.

It sits below every capability that writes HTML (audit, explain, debug, slices, remediate), like
``steward._svg``, so none of them imports another to share it. Nothing here fetches anything.
"""

from abc import ABC, abstractmethod

from steward._html._format import count, interval, number, p_text, pct, pp, pvalue, ratio
from steward._html._page import fragment, loader, page, stylesheet
from steward._html._table import badge, label, table

__all__ = ["HtmlView", "badge", "count", "fragment", "interval", "label", "loader", "number", "p_text", "page", "pct",
           "pp", "pvalue", "ratio", "stylesheet", "table"]


class HtmlView(ABC):
    """Mixin for results: ``to_html()`` (a whole page) and ``_repr_html_()`` (a notebook view), both
    from the result's ``html()`` (the body) and its ``page_title``."""

    page_title = "Steward"
    page_kind = ""

    @abstractmethod
    def html(self, heading: int = 2) -> str:
        """The result's body: headings from level ``heading`` down, tables and charts."""

    def to_html(self) -> str:
        """One self-contained HTML page (styles and charts inline, nothing fetched)."""
        return page(self.page_title, self.html(), kind=self.page_kind)

    def _repr_html_(self) -> str:
        return fragment(self.html())
