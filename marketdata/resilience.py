"""The rate limiter and circuit breaker every remote provider call goes through.

Both keep their state in the Django cache (Redis in production), so all gunicorn workers
and Celery processes share one view of "Yahoo is failing, leave it alone for a minute" and
one request budget, instead of each process finding out for itself.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pybreaker
from django.conf import settings
from django.core.cache import cache

from marketdata.providers.base import (
    MissingExchangeRate,
    Provider,
    ProviderUnavailable,
    UnknownSymbol,
)

logger = logging.getLogger(__name__)

# Indirection so tests can move time forward without sleeping.
clock = time.time
sleep = time.sleep
_patient: contextvars.ContextVar[bool] = contextvars.ContextVar("patient", default=False)


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


_breakers: dict[tuple, pybreaker.CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker(name: str) -> pybreaker.CircuitBreaker:
    key = (name, settings.MARKETDATA_BREAKER_FAILURES, settings.MARKETDATA_BREAKER_RESET)
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = pybreaker.CircuitBreaker(
                fail_max=settings.MARKETDATA_BREAKER_FAILURES,
                reset_timeout=settings.MARKETDATA_BREAKER_RESET,
                # An unknown symbol is an answer, not an outage.
                exclude=[UnknownSymbol, MissingExchangeRate],
                state_storage=CacheBreakerStorage(name),
                name=name,
            )
        return _breakers[key]


def breaker_status(name: str) -> dict:
    storage = CacheBreakerStorage(name)
    return {"state": storage.state, "failures": storage.counter, "opened_at": storage.opened_at}


def _within_rate_limit(name: str) -> bool:
    limit, window = settings.MARKETDATA_RATE_LIMIT, settings.MARKETDATA_RATE_WINDOW
    if limit <= 0:
        return True
    slot = int(clock() // window)
    return incr(f"ratelimit:{name}:{slot}", timeout=window + 1) <= limit


@contextmanager
def patient():
    """For background jobs (the nightly sync, cron commands): over the rate limit, wait for
    the next window instead of failing, and use at most half of each window, so that page
    requests made meanwhile still get through."""
    token = _patient.set(True)
    try:
        yield
    finally:
        _patient.reset(token)


def _wait_for_share(name: str) -> None:
    limit, window = settings.MARKETDATA_RATE_LIMIT, settings.MARKETDATA_RATE_WINDOW
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


def call(provider: Provider, method: str, *args):
    """provider.method(*args), through the rate limiter and the breaker when it is remote.
    Raises ProviderUnavailable, without calling, when either says no."""
    func = getattr(provider, method)
    if not provider.remote:
        return func(*args)
    if _patient.get():
        _wait_for_share(provider.name)
    elif not _within_rate_limit(provider.name):
        raise ProviderUnavailable(
            f"Over the limit of {settings.MARKETDATA_RATE_LIMIT} {provider.name} requests per "
            f"{settings.MARKETDATA_RATE_WINDOW} s; serving stored prices meanwhile."
        )
    circuit = breaker(provider.name)
    try:
        return circuit.call(func, *args)
    except pybreaker.CircuitBreakerError as exc:
        partial = getattr(exc.__context__, "partial", None)
        raise ProviderUnavailable(
            f"{provider.name} has failed {circuit.fail_max} times in a row; not asking it "
            f"again for {circuit.reset_timeout} s.",
            partial,
        ) from exc
