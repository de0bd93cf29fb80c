"""Version stamps for cached computations: a cached result's key carries the stamps of the
data it was computed from, and every write bumps its stamp (after commit), so stale
entries are never read and simply expire."""

from __future__ import annotations

from functools import partial
from uuid import uuid4

from django.core.cache import cache
from django.db import transaction


def _key(name: str) -> str:
    return f"version:{name}"


def current(name: str) -> str:
    stamp = cache.get(_key(name))
    if stamp is None:
        cache.add(_key(name), uuid4().hex, None)
        stamp = cache.get(_key(name)) or "unversioned"
    return stamp


def _set(name: str) -> None:
    cache.set(_key(name), uuid4().hex, None)


def bump(name: str) -> None:
    """Invalidate now, and again on commit: between the two, another process may read the
    old rows and cache its result under the first new stamp; the second discards that.
    (Outside a transaction on_commit runs at once.)"""
    _set(name)
    transaction.on_commit(partial(_set, name))


MARKET_DATA = "marketdata"


def portfolio(pk: int) -> str:
    return f"portfolio:{pk}"
