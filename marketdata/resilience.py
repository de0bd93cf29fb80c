"""The rate limiter and circuit breaker every remote provider call goes through (their
shared state is financedash.lib.ratelimit's)."""

from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager

import pybreaker
from django.conf import settings

from financedash.lib import metrics, ratelimit
from marketdata.providers import deadline
from marketdata.providers.base import (
    MissingExchangeRate,
    Provider,
    ProviderTimeout,
    ProviderUnavailable,
    UnknownSymbol,
)

_patient: contextvars.ContextVar[bool] = contextvars.ContextVar("patient", default=False)


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
                state_storage=ratelimit.CacheBreakerStorage(name),
                name=name,
            )
        return _breakers[key]


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


def call(provider: Provider, method: str, *args):
    """provider.method(*args), through the rate limiter and the breaker when it is remote,
    and within a hard deadline (MARKETDATA_DEADLINE; MARKETDATA_JOB_DEADLINE when patient):
    a page waits that long at most, whatever the network does. Raises ProviderUnavailable,
    without calling, when the limiter or the breaker says no, or while an earlier call that
    missed its deadline is still hanging in this process. Every call is counted by outcome
    (financedash.lib.metrics)."""
    with metrics.provider_call(provider.name, method) as counted:
        try:
            answer = _call(provider, method, args, counted)
        except (UnknownSymbol, MissingExchangeRate):
            counted["outcome"] = "not_found"
            raise
        except ProviderTimeout:
            counted["outcome"] = "timeout"
            raise
        counted["outcome"] = "ok"
        return answer


def _call(provider: Provider, method: str, args: tuple, counted: dict):
    func = getattr(provider, method)
    if not provider.remote:
        return func(*args)
    if deadline.abandoned_calls(provider.name):
        # Checked before the breaker: one hanging call must not count as five failures.
        counted["outcome"] = "busy"
        raise ProviderUnavailable(
            f"{provider.name} has not answered an earlier request yet; serving stored prices "
            "meanwhile."
        )
    limit, window = settings.MARKETDATA_RATE_LIMIT, settings.MARKETDATA_RATE_WINDOW
    if _patient.get():
        ratelimit.wait_for_share(provider.name, limit, window)
    elif not ratelimit.within_limit(provider.name, limit, window):
        counted["outcome"] = "rate_limited"
        raise ProviderUnavailable(
            f"Over the limit of {limit} {provider.name} requests per {window} s; serving stored "
            "prices meanwhile."
        )
    circuit = breaker(provider.name)
    seconds = settings.MARKETDATA_JOB_DEADLINE if _patient.get() else settings.MARKETDATA_DEADLINE
    try:
        with deadline.deadline(seconds):
            return circuit.call(func, *args)
    except pybreaker.CircuitBreakerError as exc:
        # The call that trips the breaker fails with this too, its own failure as context;
        # without one the breaker refused to ask.
        failure = exc.__context__
        if failure is None:
            counted["outcome"] = "breaker_open"
        elif isinstance(failure, ProviderTimeout):
            counted["outcome"] = "timeout"
        partial = getattr(failure, "partial", None)
        raise ProviderUnavailable(
            f"{provider.name} has failed {circuit.fail_max} times in a row; not asking it "
            f"again for {circuit.reset_timeout} s.",
            partial,
        ) from exc
