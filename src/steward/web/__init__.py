"""The web layer (thin): the REST API and the server-rendered pages over the registry."""

from steward.web.app import create_app

__all__ = ["create_app"]
