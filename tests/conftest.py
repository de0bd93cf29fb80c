from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from financedash.cache import results
from tests.factories import UserFactory

DB_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def _uses_db(request) -> bool:
    return bool(DB_FIXTURES & set(request.fixturenames)) or bool(
        request.node.get_closest_marker("django_db")
    )


@pytest.fixture(autouse=True)
def _isolated(request, settings):
    if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        if _uses_db(request):
            # The cache table is in the test database: open it before clearing.
            marker = request.node.get_closest_marker("django_db")
            transactional = "transactional_db" in request.fixturenames or (
                marker is not None and marker.kwargs.get("transaction")
            )
            request.getfixturevalue("transactional_db" if transactional else "db")
        else:
            # A test without the database cannot reach the embedded default's cache
            # table: it gets a cache of its own.
            settings.CACHES = {
                **settings.CACHES,
                "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            }
    # Static files are collected only for deployment; tests use the plain finder storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # PBKDF2 at full strength would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Writes and charts fetch missing history: no test may reach Yahoo by default. Tests
    # that want a provider install one (the demo, the fake, the faked Yahoo).
    settings.MARKETDATA_PROVIDER = "offline"
    cache.clear()
    results.clear()
    yield
    cache.clear()
    results.clear()


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def staff(db):
    """Staff, not superuser: may write the shared market data."""
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


def bearer(user) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api(owner) -> APIClient:
    return bearer(owner)


@pytest.fixture
def staff_api(staff) -> APIClient:
    return bearer(staff)


@pytest.fixture
def outsider_api(outsider) -> APIClient:
    return bearer(outsider)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()
