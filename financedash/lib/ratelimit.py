"""A rate limiter and circuit-breaker state kept in the Django cache (Redis in production),
so all gunicorn workers and Celery processes share one request budget and one view of "this
service is failing, leave it alone for a minute", instead of each process finding out for
itself. marketdata.resilience puts every remote provider call through them."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pybreaker
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Indirection so tests can move time forward without sleeping.
clock = time.time
sleep = time.sleep


def incr(key: str, delta: int = 1, timeout: int | None = None) -> int:
    """Atomic counter in the cache (INCR on Redis), created at 0 when missing."""
    cache.add(key, 0, timeout)
    try:
        value = cache.incr(key, delta)
    except ValueError:
        # Expired or evicted between add and incr.
        cache.set(key, delta, timeout)
        return delta
    # None: Redis is down and its errors are ignored (settings.CACHES); nothing was counted.
    return 0 if value is None else value


class CacheBreakerStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker state in the Django cache. A cache failure must not take the market data
    down with it, so reads fall back to "closed"."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._prefix = f"breaker:{name}:"

    def _get(self, key: str, default):
        try:
            return cache.get(self._prefix + key, default)
        except Exception:
            logger.exception("Circuit breaker state unreadable; assuming %r", default)
            return default

    def _set(self, key: str, value) -> None:
        try:
            cache.set(self._prefix + key, value, None)
        except Exception:
            logger.exception("Circuit breaker state not saved")

    @property
    def state(self) -> str:
        return self._get("state", pybreaker.STATE_CLOSED)

    @state.setter
    def state(self, state: str) -> None:
        self._set("state", state)

    def increment_counter(self) -> None:
        incr(self._prefix + "failures")

    def reset_counter(self) -> None:
        self._set("failures", 0)

    def increment_success_counter(self) -> None:
        incr(self._prefix + "successes")

    def reset_success_counter(self) -> None:
        self._set("successes", 0)

    @property
    def counter(self) -> int:
        return int(self._get("failures", 0))

    @property
    def success_counter(self) -> int:
        return int(self._get("successes", 0))

    @property
    def opened_at(self) -> datetime | None:
        stamp = self._get("opened_at", None)
        return datetime.fromtimestamp(stamp, tz=UTC) if stamp else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._set("opened_at", value.timestamp())


def within_limit(name: str, limit: int, window: int) -> bool:
    """Count one call of `name` in the current window; False once over `limit` (0: no limit)."""
    if limit <= 0:
        return True
    slot = int(clock() // window)
    return incr(f"ratelimit:{name}:{slot}", timeout=window + 1) <= limit


def wait_for_share(name: str, limit: int, window: int) -> None:
    """For background work: wait until the current window has used less than half of
    `limit`, then count one call, so that interactive calls still get through."""
    if limit <= 0:
        return
    share = max(1, limit // 2)
    while True:
        slot = int(clock() // window)
        key = f"ratelimit:{name}:{slot}"
        # Read before counting: a refused background attempt must not eat into what is
        # left of the window for requests.
        if (cache.get(key) or 0) < share:
            incr(key, timeout=window + 1)
            return
        sleep((slot + 1) * window - clock() + 0.01)
