"""Version stamps for cached computations: a cached result's key carries the stamps of the
data it was computed from, and every write bumps its stamp, so stale entries are never
read and simply expire.

Stamps are rows (VersionStamp), written in the writer's own transaction: another process
sees the new stamp exactly when it can see the new rows, and a stamp cannot be missed
because a cache was unreachable at the moment of the write. Reading one is one small
query by a unique key.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from django.apps import apps


def _stamps():
    # The model stays in the shell's app (its table and migrations are there); looking it up
    # at call time keeps the kernel from importing the shell.
    return apps.get_model("financedash", "VersionStamp")


def current(name: str) -> str:
    VersionStamp = _stamps()
    stamp = VersionStamp.objects.filter(name=name).values_list("value", flat=True).first()
    if stamp is None:
        # Never a fixed first value: results cached for a database that was since reset
        # (or another one sharing the cache) must not match.
        VersionStamp.objects.bulk_create(
            [VersionStamp(name=name, value=uuid4().hex)], ignore_conflicts=True
        )
        stamp = VersionStamp.objects.filter(name=name).values_list("value", flat=True).get()
    return stamp


_listeners: list[Callable[[str], None]] = []


def on_bump(listener: Callable[[str], None]) -> None:
    """Call `listener(name)` on every bump. A bump is exactly "this data changed" (every
    write makes one, or caches would serve stale results), so an app that must react to
    changes listens here (portfolios.push: the live sockets) without the kernel importing
    it, and without a line in each write function."""
    if listener not in _listeners:
        _listeners.append(listener)


def current_many(names: list[str]) -> dict[str, str]:
    """current() of several stamps in one query (two when some are new)."""
    VersionStamp = _stamps()
    found = dict(VersionStamp.objects.filter(name__in=names).values_list("name", "value"))
    for name in names:
        if name not in found:
            found[name] = current(name)
    return found


def bump(name: str) -> None:
    """Invalidate: results keyed by the old stamp are never read again. Inside a
    transaction it takes effect with the commit, together with the change itself."""
    VersionStamp = _stamps()
    VersionStamp.objects.bulk_create(
        [VersionStamp(name=name, value=uuid4().hex)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["value"],
    )
    for listener in _listeners:
        listener(name)


MARKET_DATA = "marketdata"


def portfolio(pk: int) -> str:
    return f"portfolio:{pk}"
