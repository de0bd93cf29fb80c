from __future__ import annotations

from django.urls import path

from pensions import api

urlpatterns = [
    path("pension/accounts", api.AccountList.as_view(), name="api-pension-accounts"),
    path("pension/accounts/<int:pk>", api.AccountDetail.as_view(), name="api-pension-account"),
    path("pension/accounts/<int:pk>/values", api.ValueList.as_view(), name="api-pension-values"),
    path(
        "pension/accounts/<int:account_pk>/values/<int:pk>",
        api.ValueDetail.as_view(),
        name="api-pension-value",
    ),
]
