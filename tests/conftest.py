from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.i18n_catalogues import compile_stale_catalogues

# `make install` compiles the translations; a test run started any other way (pytest
# straight from the venv) compiles a missing or stale one here, so nb pages never show
# English for want of a .mo file.
compile_stale_catalogues()

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


def _clear_caches() -> None:
    for alias in ("default", "results"):
        if hasattr(caches[alias], "delete_pattern"):
            # django-redis: clear() flushes the whole Redis database, the other test
            # workers' keys included; this deletes this worker's own prefix only.
            caches[alias].delete_pattern("*")
        else:
            caches[alias].clear()


def _prefixed_layers(worker_id: str) -> dict:
    layers = {}
    for alias, conf in django_settings.CHANNEL_LAYERS.items():
        config = dict(conf.get("CONFIG", {}))
        if "redis" in conf["BACKEND"].lower():
            config["prefix"] = f"{config.get('prefix', 'asgi')}-{worker_id}"
        layers[alias] = {**conf, "CONFIG": config}
    return layers


@pytest.fixture(scope="session", autouse=True)
def _own_redis_keys(worker_id):
    """One Redis database for all test workers (pytest-xdist): each gets its own keys.
    Once per session, so that every test sees the same cache objects."""
    if "redis" not in django_settings.CACHES["default"]["BACKEND"].lower():
        yield
        return
    prefixed = override_settings(
        CACHES={
            alias: {**conf, "KEY_PREFIX": f"{conf.get('KEY_PREFIX', '')}-{worker_id}"}
            for alias, conf in django_settings.CACHES.items()
        },
        # The channel layer's groups are named by primary keys, which every worker's test
        # database reuses: each worker gets its own prefix there too.
        CHANNEL_LAYERS=_prefixed_layers(worker_id),
    )
    prefixed.enable()
    yield
    prefixed.disable()


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
    _clear_caches()
    yield
    _clear_caches()


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
