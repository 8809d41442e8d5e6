"""The prediction log's writer: every answered row is committed before its answer is released, and
concurrent requests share one transaction (group commit).

One thread owns the writing. A request hands over its rows and waits; the thread takes everything queued
since its last commit (up to ``max_rows``), inserts it in one transaction, commits, and only then wakes the
waiting requests. Under load a commit carries many requests, so durability does not cost a transaction
per request; with one request in flight the wait is one commit. A failed commit fails every request in
it (they answer 503 and nothing of theirs is stored: a transaction is all or nothing).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from steward.governance._tables import Prediction, ReviewItem

__all__ = ["PredictionLog"]


class PredictionLog:
    """Group-committing writer of predictions and review items to ``engine``'s registry database."""

    def __init__(self, engine: Engine, *, max_rows: int = 5_000) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self._q: queue.Queue[tuple[list[dict], list[dict], Future] | None] = queue.Queue()
        self.commits = 0  # transactions committed, and requests and rows they carried (for the benchmark)
        self.requests = 0
        self.rows = 0
        self._thread = threading.Thread(target=self._run, name="steward-prediction-log", daemon=True)
        self._thread.start()

    def submit(self, predictions: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> Future:
        fut: Future = Future()
        self._q.put((predictions, reviews, fut))
        return fut

    async def write(self, predictions: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> None:
        """Return once the rows are committed (raise if the commit failed)."""
        if predictions or reviews:
            await asyncio.wrap_future(self.submit(predictions, reviews))

    def write_sync(self, predictions: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> None:
        if predictions or reviews:
            self.submit(predictions, reviews).result()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            batch = [first]
            rows = len(first[0])
            while rows < self.max_rows:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(batch)
                    return
                batch.append(nxt)
                rows += len(nxt[0])
            self._commit(batch)

    def _commit(self, batch: list[tuple[list[dict], list[dict], Future]]) -> None:
        preds = [p for b in batch for p in b[0]]
        reviews = [r for b in batch for r in b[1]]
        try:
            with self.engine.begin() as conn:
                if preds:
                    conn.execute(insert(Prediction), preds)
                if reviews:
                    conn.execute(insert(ReviewItem), reviews)
        except Exception as exc:  # every request in the transaction learns that nothing of it was stored
            for _, _, fut in batch:
                fut.set_exception(exc)
            return
        self.commits += 1
        self.requests += len(batch)
        self.rows += len(preds)
        for _, _, fut in batch:
            fut.set_result(None)
