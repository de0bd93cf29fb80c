from __future__ import annotations

from django.urls import path

from marketdata import api

urlpatterns = [
    path("stocks/batch", api.batch, name="api-stocks-batch"),
    path("stocks/search", api.search, name="api-stocks-search"),
    path("stocks/<str:symbol>", api.quote, name="api-stock"),
    path("stocks/<str:symbol>/price", api.quote, name="api-stock-price"),
    path("stocks/<str:symbol>/history", api.stock_history, name="api-stock-history"),
    path(
        "exchange-rates/<str:base>/<str:target>/history",
        api.rate_history,
        name="api-rate-history",
    ),
]
