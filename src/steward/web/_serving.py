"""What one server process holds to serve guarded endpoints: each deployment's guard (models loaded with
the safe loaders, SHA-256 checked), the kill-switch states (re-read from the database at least every half
second, so a kill reaches every process within a second), an API-key cache, the guard's shared state
and the group-committing prediction log."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from steward.errors import NotFoundError, PermissionDenied, WorkflowError
from steward.governance import Registry
from steward.governance._predlog import PredictionLog

__all__ = ["ServingRuntime", "STATE_TTL", "KEY_TTL"]

STATE_TTL = 0.5  # seconds a process trusts its copy of the kill switches
KEY_TTL = 1.0  # seconds a process trusts a key it checked (a revoked key stops within this)
RETENTION_EVERY = 3600.0  # seconds between applications of the log's retention setting


def _probe_rows(profile: Any) -> list[dict[str, Any]]:
    """Two rows from the profile (the first and last category, the lower and upper quartile) to check a
    scorer's direct path against the model's own scoring."""
    rows: list[dict[str, Any]] = [{}, {}]
    for name, f in profile.features.items():
        if f.kind == "category":
            cats = sorted(f.categories or {"": 0})
            rows[0][name], rows[1][name] = cats[0], cats[-1]
        else:
            q = f.quantiles or [f.min or 0.0] * 11
            rows[0][name], rows[1][name] = float(q[2]), float(q[8])
    return rows


class ServingRuntime:
    def __init__(self, registry: Registry) -> None:
        from steward.serving._state import make_state

        self.registry = registry
        self.state = make_state()
        self.log = PredictionLog(registry.engine)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="steward-model")
        self.backup_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="steward-backup")
        self._guards: dict[str, Any] = {}
        self._states: dict[str, tuple[int, bool]] = {}
        self._states_at = -1.0
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, asyncio.Lock] = {}
        self._retention = threading.Thread(target=self._retain, name="steward-log-retention", daemon=True)
        self._retention.start()

    def close(self) -> None:
        self.log.close()
        self.executor.shutdown(wait=False)
        self.backup_executor.shutdown(wait=False)

    # --- per request ---------------------------------------------------------------------------

    def states(self, *, fresh: bool = False) -> dict[str, tuple[int, bool]]:
        t = time.monotonic()
        if fresh or t - self._states_at > STATE_TTL:
            self._states = self.registry.deployment_states()
            self._states_at = t
        return self._states

    def authenticate(self, key: str | None, deployment: str) -> dict[str, Any]:
        """The caller of ``deployment``: a valid key (cached for a second), role ``caller``, scoped to it."""
        principal = self.caller(key, deployment)
        if deployment not in principal.get("deployments", []):
            raise PermissionDenied(f"this caller key may call {', '.join(principal.get('deployments', [])) or 'nothing'}, "
                                   f"not {deployment!r}; ask an admin for a key scoped to it")
        return principal

    def caller(self, key: str | None, deployment: str = "NAME") -> dict[str, Any]:
        """The principal of a valid key (cached for a second) with role ``caller``, whatever it is scoped to."""
        t = time.monotonic()
        hit = self._keys.get(key or "")
        if hit is None or hit[0] < t:
            principal = self.registry.authenticate(key)
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[key or ""] = (t + KEY_TTL, principal)
        else:
            principal = hit[1]
        if "caller" not in principal["roles"]:
            raise PermissionDenied(f"{principal['name']} ({', '.join(principal['roles'])}) may not call guarded "
                                   f"endpoints; it needs one of the roles: caller (an application's key: steward keys "
                                   f"create --role caller --deployment {deployment})")
        return principal

    async def guard(self, name: str) -> tuple[Any, bool]:
        """The deployment's guard (loaded on first use and after a new deployment of the name) and whether
        its kill switch is pulled."""
        states = self.states()
        if name not in states:  # deployed since the last read? (else a new deployment answers 404 for 0.5 s)
            states = self.states(fresh=True)
        if name not in states:
            raise NotFoundError(f"no active deployment named {name!r}")
        dep_id, killed = states[name]
        g = self._guards.get(name)
        if g is None or g.deployment_id != dep_id:
            lock = self._loading.setdefault(name, asyncio.Lock())
            async with lock:
                g = self._guards.get(name)
                if g is None or g.deployment_id != dep_id:
                    g = await asyncio.get_running_loop().run_in_executor(None, self._build, name)
                    self._guards[name] = g
            if g.deployment_id != dep_id:  # replaced while loading: the next request loads the new one
                self._states_at = -1.0
        return g, killed

    # --- loading a deployment -------------------------------------------------------------------

    def _build(self, name: str) -> Any:
        from steward.models import load_model
        from steward.serving._pipeline import Guard, Model
        from steward.serving._profile import TrainingProfile
        from steward.serving._scorer import RowScorer
        from steward.serving._settings import GuardSettings

        spec = self.registry.serving_spec(name)
        if spec["profile"] is None:
            raise WorkflowError(f"deployment {name!r} serves {spec['version']}, which has no training profile")
        profile = TrainingProfile.from_dict(spec["profile"])
        kinds = {f: p.kind for f, p in profile.features.items()}
        probe = _probe_rows(profile)

        def model(art: dict[str, Any] | None) -> Any:
            if art is None:
                return None
            loaded = load_model(art["uri"], sha256=art["sha256"])  # refuses a file changed since registration
            scorer = RowScorer(loaded, list(profile.features), kinds)
            scorer.check_fast_path(probe)
            return Model(scorer=scorer, ref=art["ref"], version_id=art["version_id"])

        return Guard(name=name, deployment_id=spec["id"], settings=GuardSettings.model_validate(spec["guard"]),
                     profile=profile, model=model(spec["model"]), backup=model(spec["backup_model"]),
                     benchmark=model(spec["benchmark_model"]), state=self.state, executor=self.executor,
                     backup_executor=self.backup_executor)

    def _retain(self) -> None:
        while True:
            time.sleep(RETENTION_EVERY)
            try:
                self.registry.apply_retention(actor="steward (log retention)")
            except Exception:  # a failed sweep is retried at the next one; serving goes on
                continue

