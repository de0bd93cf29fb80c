from __future__ import annotations

from financedash.lib.errors import AppError, api_exception_handler
from marketdata.providers.base import MissingExchangeRate, ProviderUnavailable, UnknownSymbol
from marketdata.quotes import StockDataException


class Teapot(AppError):
    status_code = 418
    error_code = "teapot"

    def details(self) -> dict:
        return {"pot": "brown"}


def test_an_app_error_says_its_own_status_code_and_details():
    # The handler knows no app: any AppError subclass is answered from its attributes.
    response = api_exception_handler(Teapot("Short and stout."), {})

    assert response.status_code == 418
    assert response.data == {
        "error": {"code": "teapot", "message": "Short and stout.", "details": {"pot": "brown"}}
    }
    assert "Retry-After" not in response


def test_market_data_errors_keep_their_statuses():
    cases = [
        (UnknownSymbol("NOPE"), 404, "unknown_symbol", {"symbol": "NOPE"}),
        (
            MissingExchangeRate("SEK", "NOK"),
            400,
            "missing_exchange_rate",
            {"base": "SEK", "target": "NOK"},
        ),
        (ProviderUnavailable(), 503, "market_data_unavailable", {}),
        (
            StockDataException("EQNR.OL"),
            503,
            "market_data_unavailable",
            {"symbol": "EQNR.OL", "last_good": None},
        ),
    ]
    for exc, status, code, details in cases:
        response = api_exception_handler(exc, {})
        assert (response.status_code, response.data["error"]["code"]) == (status, code)
        assert response.data["error"]["details"] == details
        assert ("Retry-After" in response) is (status == 503)
