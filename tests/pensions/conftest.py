from __future__ import annotations

# The pages' offline market data and the fake provider, as for the other page and API tests.
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401
from tests.views.conftest import _offline_market_data  # noqa: F401
