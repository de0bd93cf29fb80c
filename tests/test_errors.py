from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_an_api_500_is_the_error_format_without_internals(api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr("portfolios.valuation.summarize", explode)
    api.raise_request_exception = False
    response = api.get("/api/v1/portfolios")
    error = assert_error(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert error["message"] == "Internal server error. It has been logged."


def test_a_page_500_is_our_page_without_internals(client, owner, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("portfolios.valuation.summarize", explode)
    client.force_login(owner)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"secret" not in response.content


def test_health_reports_a_dead_cache_but_stays_in_service(client, monkeypatch):
    # Issue 13 item 3: the app serves without its cache, so only the database makes a 503.
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "set", down)
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "down"}


def test_health_is_503_when_the_database_is_down(client, monkeypatch):
    from financedash import views

    class Down:
        def cursor(self):
            raise ConnectionError("database is down")

    monkeypatch.setattr(views, "connection", Down())
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "error"


def test_a_page_404_is_our_page(client, owner):
    client.force_login(owner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"does not exist, or it is not yours" in response.content


def test_a_database_lock_timeout_outside_a_view_is_a_503_too(rf):
    # Issue 13 item 7: e.g. the session middleware saving while another process holds the
    # SQLite write lock; Django hands the exception to handler500.
    from django.db import OperationalError

    from financedash.views import server_error

    for path in ("/portfolios/", "/api/v1/portfolios"):
        try:
            raise OperationalError("database is locked")
        except OperationalError:
            response = server_error(rf.get(path))
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
    assert b"service_unavailable" in response.content
