from __future__ import annotations

# The fake market-data provider and the breaker reset, shared with the marketdata tests.
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]
