"""State the guard keeps between requests: token buckets (throttling), recent requests (duplicates) and
sticky decisions.

With ``STEWARD_REDIS_URL`` set, it lives in Redis and every server process (``steward serve --workers
N``) shares it: one bucket per key, one memory of recent requests and decisions. Without it, each process
keeps its own in memory: with N workers a key may then send N times its rate, and a repeated request that
lands on another worker is neither a duplicate nor sticky there. The kill switch does not live here: it
is in the database, read by every process at least every half second.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Protocol

__all__ = ["GuardState", "MemoryState", "RedisState", "make_state"]


class GuardState(Protocol):
    def take(self, bucket: str, tokens: float, rate: float, burst: float) -> float:
        """Take ``tokens`` from the bucket; 0.0 when allowed, else the seconds until they would be there."""

    def seen(self, key: str, window_s: float) -> bool:
        """Whether ``key`` was recorded within the last ``window_s`` seconds; records it now either way."""

    def get(self, key: str) -> dict[str, Any] | None:
        """A remembered answer (sticky decision), or None."""

    def put(self, key: str, value: dict[str, Any], window_s: float) -> None:
        """Remember an answer for ``window_s`` seconds."""


class MemoryState:
    """In-process state (one server process). Bounded: expired entries are swept as it grows."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, at)
        self._seen: dict[str, float] = {}  # key -> expiry
        self._kept: dict[str, tuple[float, dict[str, Any]]] = {}  # key -> (expiry, value)
        self._max = max_entries

    def take(self, bucket: str, tokens: float, rate: float, burst: float) -> float:
        t = time.monotonic()
        with self._lock:
            have, at = self._buckets.get(bucket, (burst, t))
            have = min(burst, have + (t - at) * rate)
            if tokens > burst:  # can never be served at once: say how long the bucket takes to fill
                self._buckets[bucket] = (have, t)
                return max((tokens - have) / rate, 1.0)
            if have >= tokens:
                self._buckets[bucket] = (have - tokens, t)
                return 0.0
            self._buckets[bucket] = (have, t)
            return (tokens - have) / rate

    def _sweep(self, table: dict[str, Any], t: float, expiry: Any) -> None:
        if len(table) > self._max:
            for k in [k for k, v in table.items() if expiry(v) <= t]:
                del table[k]

    def seen(self, key: str, window_s: float) -> bool:
        t = time.monotonic()
        with self._lock:
            before = self._seen.get(key)
            self._seen[key] = t + window_s
            self._sweep(self._seen, t, lambda v: v)
            return before is not None and before > t

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._kept.get(key)
            return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, key: str, value: dict[str, Any], window_s: float) -> None:
        t = time.monotonic()
        with self._lock:
            self._kept[key] = (t + window_s, value)
            self._sweep(self._kept, t, lambda v: v[0])


# A token bucket in one atomic step on the Redis server: KEYS[1] the bucket; ARGV tokens, rate, burst, now.
_TAKE = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local burst = tonumber(ARGV[3]); local rate = tonumber(ARGV[2]); local want = tonumber(ARGV[1])
local t = tonumber(ARGV[4])
local have = tonumber(b[1]) or burst
local at = tonumber(b[2]) or t
have = math.min(burst, have + math.max(0, t - at) * rate)
local wait = 0
if want > burst then
  wait = math.max((want - have) / rate, 1.0)
elseif have >= want then
  have = have - want
else
  wait = (want - have) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(have), 'at', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisState:
    """State shared by every server process through Redis (``STEWARD_REDIS_URL``)."""

    def __init__(self, url: str, prefix: str = "steward:guard:") -> None:
        try:
            import redis
        except ModuleNotFoundError:
            from steward.errors import MissingExtraError

            raise MissingExtraError("STEWARD_REDIS_URL needs the redis client: pip install 'steward[server]'") from None
        self._r = redis.Redis.from_url(url, socket_timeout=2.0)
        self._p = prefix
        self._take = self._r.register_script(_TAKE)
        try:
            self._r.ping()
        except redis.RedisError as exc:
            from steward.errors import StewardError

            raise StewardError(f"cannot reach Redis at STEWARD_REDIS_URL={url!r}: {exc}; start it, or unset "
                               f"STEWARD_REDIS_URL to keep the guard's state in each process") from None

    def take(self, bucket: str, tokens: float, rate: float, burst: float) -> float:
        # the Redis server's clock, so that processes with skewed clocks share one bucket correctly
        sec, usec = self._r.time()
        return float(self._take(keys=[self._p + "b:" + bucket], args=[tokens, rate, burst, sec + usec / 1e6]))

    def seen(self, key: str, window_s: float) -> bool:
        fresh = self._r.set(self._p + "s:" + key, b"1", px=max(1, int(window_s * 1000)), nx=True)
        if not fresh:  # seen before within the window: the window starts again from now
            self._r.pexpire(self._p + "s:" + key, max(1, int(window_s * 1000)))
        return not fresh

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._r.get(self._p + "k:" + key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: dict[str, Any], window_s: float) -> None:
        self._r.set(self._p + "k:" + key, json.dumps(value), px=max(1, int(window_s * 1000)))


def make_state(url: str | None = None) -> GuardState:
    """Redis state when ``url`` (default ``STEWARD_REDIS_URL``) is set, else in-process state."""
    url = url if url is not None else os.environ.get("STEWARD_REDIS_URL")
    return RedisState(url) if url else MemoryState()
