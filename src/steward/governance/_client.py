"""A client for a Steward server with the same methods as :class:`Registry`, so the CLI works the
same against the local database or a team's server (``--server URL --api-key KEY``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from steward.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    StewardError,
)

__all__ = ["RemoteRegistry"]

_ERRORS = {401: AuthenticationError, 403: PermissionDenied, 404: NotFoundError, 409: ConflictError}


class RemoteRegistry:
    def __init__(self, url: str, api_key: str | None, timeout: float = 60.0) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise StewardError(f"server URL {url!r} must start with http:// or https://")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise StewardError(f"cannot reach the Steward server at {self.url}: {exc}") from None
        if r.status_code >= 400:
            try:
                message = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = r.text[:200]
            cls = _ERRORS.get(r.status_code, StewardError)
            raise cls(f"server said ({r.status_code}): {message}")
        return None if r.status_code == 204 else r.json()

    def close(self) -> None:
        self._http.close()

    # The same names and arguments as Registry; ``actor`` is ignored: the server knows the caller.
    def register_model(self, name: str, *, actor: str = "", **fields: Any) -> dict:
        return self._call("POST", "/api/models", json={"name": name, **fields})

    def register_version(self, model: str, version: str, *, actor: str = "", privacy: dict | None = None,
                         **fields: Any) -> dict:
        body = {"version": version, **fields, **({"privacy": privacy} if privacy is not None else {})}
        return self._call("POST", f"/api/models/{quote(model)}/versions", json=body)

    def assess_risk(self, model: str, answers: dict, *, actor: str = "") -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/risk", json={"answers": answers})

    def record_audit(self, model: str, version: str, result: Any, *, actor: str = "",
                     context: dict | None = None) -> dict:
        body = {"report": result.to_dict(), "report_html": result.to_html(), "model_card": result.model_card(),
                "context": context}
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/audits", json=body)

    def sign_off(self, model: str, version: str, *, role: str, decision: str, comment: str = "", person: str = "",
                 actor: str = "") -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/signoffs",
                          json={"role": role, "decision": decision, "comment": comment})

    def approve(self, model: str, version: str, *, actor: str = "") -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/approve")

    def models(self, **filters: Any) -> list[dict]:
        return self._call("GET", "/api/models", params={k: v for k, v in filters.items() if v is not None})

    def model(self, name: str) -> dict:
        return self._call("GET", f"/api/models/{quote(name)}")

    def version(self, model: str, version: str) -> dict:
        return self._call("GET", f"/api/models/{quote(model)}/versions/{quote(version)}")

    def open_incident(self, model: str, *, title: str, severity: str, actor: str = "", description: str = "",
                      version: str | None = None) -> dict:
        return self._call("POST", "/api/incidents", json={"model": model, "version": version, "title": title,
                                                          "severity": severity, "description": description})

    def update_incident(self, incident_id: int, *, actor: str = "", note: str | None = None, status: str | None = None,
                        done: list[int] | None = None) -> dict:
        return self._call("POST", f"/api/incidents/{incident_id}/updates",
                          json={"note": note, "status": status, "done": list(done or [])})

    def incident(self, incident_id: int) -> dict:
        return self._call("GET", f"/api/incidents/{incident_id}")

    def incidents(self, *, model: str | None = None, status: str | None = None, team: str | None = None) -> list[dict]:
        return self._call("GET", "/api/incidents",
                          params={k: v for k, v in {"model": model, "status": status, "team": team}.items() if v})

    def create_key(self, name: str, roles: list[str], *, actor: str = "", deployments: list[str] | None = None) -> dict:
        return self._call("POST", "/api/keys", json={"name": name, "roles": roles, "deployments": deployments})

    def keys(self) -> list[dict]:
        return self._call("GET", "/api/keys")

    def revoke_key(self, key_id: str, *, actor: str = "") -> None:
        self._call("DELETE", f"/api/keys/{quote(key_id, safe='')}")

    def verify_trail(self, checkpoint: dict | None = None) -> dict:
        if checkpoint is None:
            return self._call("GET", "/api/trail/verify")
        return self._call("POST", "/api/trail/verify", json=checkpoint)

    def trail_checkpoint(self) -> dict:
        return self._call("GET", "/api/trail/checkpoint")

    def trail(self, *, subject: str | None = None, limit: int = 200) -> list[dict]:
        return self._call("GET", "/api/trail", params={k: v for k, v in {"subject": subject, "limit": limit}.items() if v})

    def accept(self, model: str, version: str, *, check: str, reason: str, until: str, actor: str = "") -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/acceptances",
                          json={"check": check, "reason": reason, "until": str(until)})

    def acceptances(self, model: str, version: str) -> list[dict]:
        return self._call("GET", f"/api/models/{quote(model)}/versions/{quote(version)}/acceptances")

    def record_reproduction(self, model: str, version: str, *, report: dict, actor: str = "",
                            audit_run: int | None = None) -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/reproductions",
                          json={"report": report, "audit_run": audit_run})

    def audit_report(self, run_id: int) -> dict:
        return self._call("GET", f"/api/audits/{int(run_id)}/report.json")

    def policy_text(self, sha256: str) -> str:
        return self._call("GET", f"/api/policies/{quote(sha256)}")["text"]

    # --- deployments -------------------------------------------------------------------------

    def record_profile(self, model: str, version: str, profile: dict, *, actor: str = "") -> dict:
        return self._call("POST", f"/api/models/{quote(model)}/versions/{quote(version)}/profile",
                          json={"profile": profile})

    def deploy(self, name: str, ref: str, *, actor: str = "", backup: str | None = None, benchmark: str | None = None,
               guard: dict | None = None) -> dict:
        return self._call("POST", "/api/deployments", json={"name": name, "version": ref, "backup": backup,
                                                            "benchmark": benchmark, "guard": guard})

    def deployments(self, *, include_replaced: bool = False, team: str | None = None) -> list[dict]:
        params = {k: v for k, v in {"all": "true" if include_replaced else None, "team": team}.items() if v}
        return self._call("GET", "/api/deployments", params=params or None)

    def deployment(self, name: str) -> dict:
        return self._call("GET", f"/api/deployments/{quote(name)}")

    def kill(self, name: str, *, reason: str, actor: str = "") -> dict:
        return self._call("POST", f"/api/deployments/{quote(name)}/kill", json={"reason": reason})

    def revive(self, name: str, *, actor: str = "") -> dict:
        return self._call("POST", f"/api/deployments/{quote(name)}/revive")

    def prediction_log(self, name: str, *, since: Any = None, until: Any = None, limit: int | None = None) -> list[dict]:
        params = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                  for k, v in {"since": since, "until": until, "limit": limit or 100_000}.items() if v is not None}
        return self._call("GET", f"/api/deployments/{quote(name)}/log", params=params)

    def decision_outcomes(self, name: str, *, since: Any = None, until: Any = None,
                          limit: int | None = None) -> list[dict]:
        params = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                  for k, v in {"since": since, "until": until, "limit": limit}.items() if v is not None}
        return self._call("GET", f"/api/deployments/{quote(name)}/outcomes", params=params)

    # --- teams and the standards console ------------------------------------------------------

    def standards(self, *, at: Any = None, team: str | None = None, trend_points: int = 6) -> dict:
        return self._call("GET", "/api/standards", params=_params(at=at, team=team, trend_points=trend_points))

    def standards_digest(self, *, at: Any = None, team: str | None = None, days: int = 7) -> dict:
        return self._call("GET", "/api/standards/digest", params=_params(at=at, team=team, days=days))

    def create_team(self, name: str, *, contact: str, actor: str = "", description: str = "") -> dict:
        return self._call("POST", "/api/teams", json={"name": name, "contact": contact, "description": description})

    def teams(self) -> list[dict]:
        return self._call("GET", "/api/teams")

    def team(self, name: str) -> dict:
        return self._call("GET", f"/api/teams/{quote(name, safe='')}")

    def add_team_member(self, team: str, principal: str, *, actor: str = "") -> dict:
        return self._call("POST", f"/api/teams/{quote(team, safe='')}/members", json={"principal": principal})

    def remove_team_member(self, team: str, principal: str, *, actor: str = "") -> dict:
        return self._call("DELETE", f"/api/teams/{quote(team, safe='')}/members/{quote(principal, safe='')}")

    def set_model_team(self, model: str, team: str, *, actor: str = "") -> dict:
        return self._call("PUT", f"/api/models/{quote(model)}/team", json={"team": team})

    def acknowledge_alert(self, alert_id: int, *, actor: str = "", note: str) -> dict:
        return self._call("POST", f"/api/monitors/alerts/{int(alert_id)}/acknowledge", json={"note": note})


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones not given; a date or datetime as ISO text."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items() if v is not None}
