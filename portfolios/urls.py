from __future__ import annotations

from django.urls import path

from portfolios import tax_views, views

app_name = "portfolios"

urlpatterns = [
    path("portfolios/", views.portfolio_list, name="list"),
    path("portfolios/new/", views.portfolio_create, name="create"),
    path("portfolios/<int:pk>/", views.portfolio_detail, name="detail"),
    path("portfolios/<int:pk>/holdings/", views.holdings, name="holdings"),
    path("portfolios/<int:pk>/chart/", views.portfolio_chart, name="chart"),
    path("portfolios/<int:pk>/edit/", views.portfolio_edit, name="edit"),
    path("portfolios/<int:pk>/credit/", views.used_credit, name="credit"),
    path("portfolios/<int:pk>/delete/", views.portfolio_delete, name="delete"),
    path("transactions/", views.transaction_list, name="all_transactions"),
    path("transactions/export/", views.transaction_export, name="transaction_export"),
    path("portfolios/<int:pk>/transactions/", views.transaction_list, name="transactions"),
    path("portfolios/<int:pk>/transactions/new/", views.transaction_add, name="transaction_add"),
    path("portfolios/<int:pk>/cash/new/", views.cash_add, name="cash_add"),
    path("portfolios/<int:pk>/cash/", views.cash_list, name="cash_list"),
    path("portfolios/<int:pk>/dividends/", views.dividends, name="dividends"),
    path("holdings/<int:pk>/", views.holding_detail, name="holding"),
    path("holdings/<int:pk>/chart/", views.holding_chart, name="holding_chart"),
    path(
        "holdings/<int:pk>/transactions/",
        views.holding_transactions,
        name="holding_transactions",
    ),
    path("holdings/<int:pk>/delete/", views.holding_delete, name="holding_delete"),
    path("holdings/<int:pk>/split/", views.holding_record_split, name="holding_record_split"),
    path("transactions/<int:pk>/edit/", views.transaction_edit, name="transaction_edit"),
    path("transactions/<int:pk>/delete/", views.transaction_delete, name="transaction_delete"),
    path("instruments/search/", views.instrument_search, name="instrument_search"),
    path("import/", views.import_page, name="import"),
    path("imports/", views.import_list, name="imports"),
    path("imports/jobs/<int:pk>/", views.import_job, name="import_job"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import_undo"),
    path("holdings/<int:pk>/lots/", tax_views.holding_lots, name="holding_lots"),
    path("tax/", tax_views.tax_index, name="tax"),
    path("tax/<int:year>/", tax_views.tax_year, name="tax_year"),
    path("tax/<int:year>/export.csv", tax_views.tax_export, name="tax_export"),
]
