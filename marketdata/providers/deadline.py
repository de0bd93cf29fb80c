"""Hard deadlines for a remote provider's network I/O (issue 13: a proxy that accepted
connections and never answered held a page for 30 s and more, because yfinance's cookie and
crumb requests carry their own 30 s timeouts, whatever timeout we pass it).

A per-request timeout cannot bound a call made of several requests, retries and locks in
a third-party library. So the I/O runs in a daemon thread and the caller stops waiting at
the deadline: the page goes on with stored prices, and the thread is left to finish on its
own (its requests still end at MARKETDATA_TIMEOUT each). While a provider has such an
abandoned call running in this process, new calls to it fail at once instead of piling up
threads behind the same dead network.

Only network I/O belongs in `bounded`: a thread must not touch the database (it would hold
a connection of its own, and outlive the request that opened it).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings

from marketdata.providers.base import ProviderTimeout, ProviderUnavailable

T = TypeVar("T")

# (monotonic end, seconds it was set to) of the provider call in progress.
_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "provider_deadline", default=None
)
_abandoned: Counter[str] = Counter()
_lock = threading.Lock()
_settled = threading.Condition(_lock)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every `bounded` call inside shares one deadline, `seconds` from now (or the enclosing
    one's, if that comes sooner)."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(outer if outer and outer[0] <= end else (end, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def abandoned_calls(name: str) -> int:
    """Calls to provider `name` given up on and still running in this process."""
    with _lock:
        return _abandoned[name]


def wait_for_abandoned(timeout: float) -> bool:
    """Wait until no abandoned call is running (tests, shutdown); False if some still is."""
    with _settled:
        return _settled.wait_for(lambda: not +_abandoned, timeout)


def bounded(name: str, func: Callable[..., T], *args, **kwargs) -> T:
    """func(*args, **kwargs) for provider `name`, given up on at the current deadline
    (MARKETDATA_DEADLINE from now outside `deadline`) with ProviderUnavailable."""
    if abandoned_calls(name):
        raise ProviderUnavailable(
            f"{name} has not answered an earlier request yet; serving stored prices meanwhile."
        )
    end, seconds = _deadline.get() or (
        time.monotonic() + settings.MARKETDATA_DEADLINE,
        settings.MARKETDATA_DEADLINE,
    )
    future: Future = Future()
    state = {"abandoned": False}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            result = context.run(func, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting caller)
            outcome = (future.set_exception, exc)
        else:
            outcome = (future.set_result, result)
        with _settled:
            outcome[0](outcome[1])
            if state["abandoned"]:
                _abandoned[name] -= 1
                _settled.notify_all()

    threading.Thread(target=run, name=f"{name}-call", daemon=True).start()
    try:
        return future.result(timeout=max(0.0, end - time.monotonic()))
    except FutureTimeout:
        with _lock:
            if not future.done():
                state["abandoned"] = True
                _abandoned[name] += 1
        if not state["abandoned"]:
            # It finished while we gave up: take its answer after all.
            return future.result()
        raise ProviderTimeout(
            f"{name} did not answer within {seconds:g} s; serving stored prices meanwhile."
        ) from None
