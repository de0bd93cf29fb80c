"""Login lockout per username + client address, shared through the cache so it holds
across gunicorn workers. Used by the HTML login form and the API login alike."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return f"login-fail:{digest[:32]}"


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def locked_for(username: str, address: str) -> int:
    """Seconds until this username may try again from this address (0: not locked)."""
    state = cache.get(_key(username, address))
    if not state or state["count"] < settings.LOGIN_FAILURE_LIMIT:
        return 0
    return max(1, int(state["until"] - time.time()))


def record_failure(username: str, address: str) -> None:
    key = _key(username, address)
    state = cache.get(key) or {"count": 0}
    state["count"] += 1
    state["until"] = time.time() + settings.LOGIN_LOCKOUT_SECONDS
    cache.set(key, state, settings.LOGIN_LOCKOUT_SECONDS)


def reset(username: str, address: str) -> None:
    cache.delete(_key(username, address))
