"""Whole pages and notebook views in the shared look (``templates/base.html`` and ``steward.css``)."""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["fragment", "loader", "page", "stylesheet"]


def loader() -> Any:
    """The Jinja2 loader of ``base.html``, for a template elsewhere that extends it."""
    import jinja2

    return jinja2.PackageLoader("steward._html", "templates")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The shared stylesheet's text, inlined in every page (nothing is fetched)."""
    return resources.files("steward._html").joinpath("steward.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(loader=loader(), autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    return env.get_template("base.html")


def page(title: str, body: str, *, meta: str = "", kind: str = "") -> str:
    """One self-contained HTML document: the shared header (``kind`` above ``title``, ``meta`` below),
    ``body`` (trusted HTML), the footer, and the stylesheet inline."""
    from steward import __version__

    created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _template().render(title=title, body=body, meta=meta, kind=kind, stylesheet=stylesheet(),
                              version=__version__, created=created)


def fragment(body: str) -> str:
    """``body`` in the shared look for a notebook cell (the stylesheet is scoped to ``.steward``)."""
    return f'<div class="steward"><style>{stylesheet()}</style>{body}</div>'
