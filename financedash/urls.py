from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from financedash import views
from financedash.metrics import metrics_view
from financedash.pages import (
    backup_download,
    backup_restore,
    dashboard,
    dashboard_chart,
    dashboard_tax,
    settings_page,
)

urlpatterns = [
    path("", dashboard, name="home"),
    path("dashboard/chart/", dashboard_chart, name="dashboard_chart"),
    path("dashboard/tax/", dashboard_tax, name="dashboard_tax"),
    path("settings/", settings_page, name="settings"),
    path("settings/backup/", backup_download, name="backup_download"),
    path("settings/restore/", backup_restore, name="backup_restore"),
    path("pensions/", include("pensions.urls")),
    path("", include("portfolios.urls")),
    path("health", views.health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("privacy/", views.privacy_toggle, name="privacy_toggle"),
    path("setup/", views.register, name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The signed-out pages' language switch (the language cookie); signed in, Settings.
    path("language/", login_not_required(set_language), name="set_language"),
    # The scripts' strings in the page's language (static/js, domain djangojs).
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/password/done/"),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("api/v1/", include("financedash.api")),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler404 = "financedash.views.page_not_found"
handler403 = "financedash.views.permission_denied"
handler500 = "financedash.views.server_error"
