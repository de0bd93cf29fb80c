"""Serialised API responses kept in the shared cache (Django's default: the database or
Redis, so every worker and the nightly pre-warm share them), under keys that carry the
version stamps of everything the answer was computed from: an entry is either right or
never read again.

A ten-year performance is 3,650 points: serialising it took longer than the whole warm
budget of a request, so the rendered bytes are what is kept (zlib-compressed, a fifth of
the size to move through the cache). A cache that fails is a miss: the answer is computed
as if nothing was cached, and the request never fails because of it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation

from django.core.cache import cache
from rest_framework.renderers import JSONRenderer

from financedash.lib.api_fields import MONEY_OUT, DecimalField

logger = logging.getLogger(__name__)

# A day: the keys change with their inputs, the time limit only clears the table.
RESPONSE_TTL = 24 * 3600
_RENDERER = JSONRenderer()


def cached_body(key: str, build: Callable[[], tuple[dict, bool]]) -> bytes:
    """The rendered JSON under `key`, or build() -> (data, cacheable) rendered and, when
    cacheable, stored."""
    key = f"response:{key}"
    try:
        packed = cache.get(key)
    except Exception:
        logger.exception("Response cache unavailable")
        packed = None
    if packed is not None:
        try:
            return zlib.decompress(packed)
        except (zlib.error, TypeError):
            logger.warning("Unreadable cached response %s", key)
    data, cacheable = build()
    body = _RENDERER.render(data)
    if cacheable:
        try:
            cache.set(key, zlib.compress(body, 1), RESPONSE_TTL)
        except Exception:
            logger.exception("Response cache unavailable")
    return body


_MONEY = DecimalField(**MONEY_OUT)
_CENT = Decimal("0.01")
_MONEY_CONTEXT = Context(prec=MONEY_OUT["max_digits"])


def money_text(value: Decimal) -> str:
    """What DecimalField(**MONEY_OUT).to_representation(value) answers, without its
    per-call overhead (a ten-year series has 15,000 of them): quantized to the cent at
    the field's precision (half-even), written out in full."""
    try:
        return f"{value.quantize(_CENT, context=_MONEY_CONTEXT):f}"
    except (InvalidOperation, AttributeError):
        return _MONEY.to_representation(value)
