from __future__ import annotations

from django.urls import path

from pensions import api

urlpatterns = [
    path("pension/accounts", api.PensionAccountList.as_view(), name="api-pension-accounts"),
    path(
        "pension/accounts/<int:pk>", api.PensionAccountDetail.as_view(), name="api-pension-account"
    ),
    path(
        "pension/accounts/<int:pk>/values",
        api.PensionValueList.as_view(),
        name="api-pension-values",
    ),
    path(
        "pension/accounts/<int:pk>/values/<int:value_id>",
        api.PensionValueDetail.as_view(),
        name="api-pension-value",
    ),
    path("pension/projection", api.projection_view, name="api-pension-projection"),
    path("pension/sync-ynab", api.sync_ynab, name="api-pension-sync-ynab"),
    path("settings/ynab", api.ynab_settings, name="api-settings-ynab"),
    path("ynab/accounts", api.ynab_accounts, name="api-ynab-accounts"),
    path("ynab/accounts/<str:account_id>/balance", api.ynab_balance, name="api-ynab-balance"),
]
