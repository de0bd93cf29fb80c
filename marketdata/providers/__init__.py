"""The provider chosen by settings.MARKETDATA_PROVIDER (yahoo, offline or demo)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from marketdata.providers.base import Provider

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def _build(name: str) -> Provider:
    # Imported here so that the offline and demo setups never import yfinance and pandas.
    if name == "yahoo":
        from marketdata.providers.yahoo import YahooProvider

        return YahooProvider()
    if name == "offline":
        from marketdata.providers.offline import OfflineProvider

        return OfflineProvider()
    if name == "demo":
        from marketdata.providers.demo import DemoProvider

        return DemoProvider()
    raise ImproperlyConfigured(f"MARKETDATA_PROVIDER={name!r}: use one of yahoo, offline, demo.")


def get_provider() -> Provider:
    # Cached per setting value rather than once, so tests (and a settings override) can
    # switch providers without stale instances.
    name = settings.MARKETDATA_PROVIDER.strip().lower()
    provider = _instances.get(name)
    if provider is None:
        with _lock:
            provider = _instances.get(name)
            if provider is None:
                provider = _instances[name] = _build(name)
    return provider
