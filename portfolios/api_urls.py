from __future__ import annotations

from django.urls import path

from portfolios import api, tax_api

urlpatterns = [
    path("portfolios", api.PortfolioList.as_view(), name="api-portfolios"),
    path("portfolios/<int:pk>", api.PortfolioDetail.as_view(), name="api-portfolio"),
    path("portfolios/<int:pk>/used-credit", api.used_credit, name="api-used-credit"),
    path("portfolios/<int:pk>/holdings", api.portfolio_holdings, name="api-holdings"),
    path("portfolios/<int:pk>/performance", api.performance, name="api-performance"),
    path("portfolios/<int:pk>/dividends", api.dividend_forecast, name="api-dividend-forecast"),
    path("transactions", api.TransactionCreate.as_view(), name="api-transactions"),
    path("transactions/import-csv", api.import_csv, name="api-import-csv"),
    path("imports", api.ImportBatchList.as_view(), name="api-imports"),
    path("imports/<int:pk>", api.import_undo, name="api-import"),
    path("imports/jobs/<int:pk>", api.import_job, name="api-import-job"),
    path("transactions/export", api.TransactionExport.as_view(), name="api-transaction-export"),
    path(
        "transactions/portfolio/<int:pk>",
        api.PortfolioTransactions.as_view(),
        name="api-portfolio-transactions",
    ),
    path("transactions/<int:pk>", api.TransactionDetail.as_view(), name="api-transaction"),
    path("holdings/<int:pk>", api.holding_delete, name="api-holding"),
    path(
        "holdings/<int:pk>/transactions",
        api.HoldingTransactions.as_view(),
        name="api-holding-transactions",
    ),
    path("tax/rates/<int:year>", tax_api.tax_rate, name="api-tax-rate"),
    path("tax/<int:year>", tax_api.tax_report, name="api-tax-report"),
]
