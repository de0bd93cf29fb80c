from __future__ import annotations

# The fake market-data provider and the breaker reset, shared with the marketdata tests.
from tests.marketdata.conftest import _fresh_breakers, provider, today, yesterday  # noqa: F401
