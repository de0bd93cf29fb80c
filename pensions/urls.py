from __future__ import annotations

from django.urls import path

from pensions import views

app_name = "pensions"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("new/", views.account_create, name="create"),
    path("projection/", views.projection_page, name="projection"),
    path("sync-ynab/", views.sync_ynab, name="sync_ynab"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("<int:pk>/delete/", views.account_delete, name="delete"),
    path("<int:pk>/values/", views.value_add, name="value_add"),
    path("<int:pk>/values/paste/", views.value_paste, name="value_paste"),
    path("values/<int:pk>/delete/", views.value_delete, name="value_delete"),
]
