"""What a server process does in the background for the people in the loop: it delivers the callbacks of
settled decisions (a JSON POST to the deployment's ``callback.url``, retried with the guard's doubling
backoff, marked failed after ``callback.attempts``) and sweeps the review deadlines (an overdue item is
escalated once, with an incident when the guard says so).

Each process claims the callbacks it sends for a while (``LEASE_S``), so several processes serving the
same registry do not send one twice. A delivery is a success on any 2xx answer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from steward.governance import Registry

__all__ = ["Deliveries", "DELIVER_EVERY", "ESCALATE_EVERY", "TIMEOUT_S", "LEASE_S"]

log = logging.getLogger("steward.web")

DELIVER_EVERY = 0.5  # seconds between looks for callbacks due
ESCALATE_EVERY = 30.0  # seconds between sweeps of the review deadlines
TIMEOUT_S = 5.0  # a receiver that has not answered within this has failed this attempt
LEASE_S = 60.0  # a claimed callback is not due again for this long (a process that died mid-delivery)


class Deliveries:
    """The callback deliveries and the deadline sweep of one server process, in a daemon thread."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swept_at = time.monotonic()
        self._client: Any = None

    def start(self) -> "Deliveries":
        self._thread = threading.Thread(target=self._run, name="steward-callbacks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 5)
        if self._client is not None:
            self._client.close()

    def run_once(self) -> int:
        """Attempt every callback due now; the number attempted."""
        import httpx

        due = self.registry.due_callbacks(lease_s=LEASE_S)
        if due and self._client is None:
            self._client = httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        for c in due:
            try:
                r = self._client.post(c["url"], json=c["payload"],
                                      headers={"X-Steward-Callback": str(c["id"]),
                                               "X-Steward-Attempt": str(c["attempts"] + 1)})
                ok, error = 200 <= r.status_code < 300, f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            self.registry.callback_result(c["id"], ok=ok, error="" if ok else error)
        return len(due)

    def sweep(self) -> list[int]:
        """Escalate the review items past their deadline; their ids."""
        self._swept_at = time.monotonic()
        return self.registry.escalate_overdue()

    def _run(self) -> None:
        while not self._stop.wait(DELIVER_EVERY):
            try:
                self.run_once()
                if time.monotonic() - self._swept_at >= ESCALATE_EVERY:
                    self.sweep()
            except Exception:  # the database may be away for a moment: the next round tries again
                log.exception("callback delivery or deadline sweep failed; retrying")
