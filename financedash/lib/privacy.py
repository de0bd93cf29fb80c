"""Privacy mode: one switch per browser that hides every amount (percentages stay).

The switch is read once per request (by middleware in the shell) into a context variable,
so the money filters, the chart labels and anything else that prints an amount can ask
`hidden()` without a request object in hand. A context variable, not a thread-local: it
follows the request across sync and async code under ASGI.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

# What an amount reads as while hidden: no digits, so nothing can be read off the page.
MASK = "•••"

_hidden: ContextVar[bool] = ContextVar("privacy_hidden", default=False)


def hidden() -> bool:
    return _hidden.get()


def masked(text: str) -> str:
    """An amount formatted outside the money filters (a message naming what was saved):
    the mask while hidden."""
    return MASK if hidden() else text


@contextmanager
def hiding(on: bool = True):
    token = _hidden.set(on)
    try:
        yield
    finally:
        _hidden.reset(token)
