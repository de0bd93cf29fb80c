"""Issue 13 item 7: a SQLite write lock held by another process for longer than the busy
timeout (20 s in production) is a 503 with Retry-After, nothing saved, for the HTML forms
and the API alike: not a 500."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from django.db import connection

from portfolios.models import Portfolio
from tests.api.conftest import assert_error

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's database-wide lock"),
]


@pytest.fixture
def file_database(tmp_path):
    """The test database copied to a file for this test, with a 0.3 s busy timeout: the
    in-memory test database has table locks that fail at once, not the file lock (and its
    timeout) that a deployment meets."""
    connection.ensure_connection()
    memory, settings_dict = connection.connection, connection.settings_dict
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as copy:
        memory.backup(copy)
    saved = {"NAME": settings_dict["NAME"], "OPTIONS": settings_dict["OPTIONS"]}
    settings_dict["NAME"] = str(path)
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "timeout": 0.3}
    # Kept open (the in-memory database lives as long as a connection to it), not used.
    connection.connection = None
    yield path
    connection.close()
    settings_dict.update(saved)
    connection.connection = memory


@contextmanager
def write_lock(path):
    """Another process in the middle of a long write transaction."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_form_write_while_the_database_is_locked_is_a_503(file_database, client, owner):
    client.force_login(owner)
    client.raise_request_exception = False
    with write_lock(file_database):
        response = client.post(
            "/portfolios/new/",
            {
                "name": "Locked out",
                "brokerage_firm": "Nordnet",
                "currency": "NOK",
                "used_credit": "0",
            },
        )
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert b"busy" in response.content
    assert not Portfolio.objects.filter(name="Locked out").exists()


def test_an_api_write_while_the_database_is_locked_is_a_503(file_database, api):
    api.raise_request_exception = False
    with write_lock(file_database):
        response = api.post(
            "/api/v1/portfolios",
            {"name": "Locked out", "brokerage_firm": "Nordnet", "currency": "NOK"},
            format="json",
        )
    error = assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert "busy" in error["message"]
    assert not Portfolio.objects.filter(name="Locked out").exists()


def test_the_same_write_succeeds_once_the_lock_is_gone(file_database, api):
    response = api.post(
        "/api/v1/portfolios",
        {"name": "Unlocked", "brokerage_firm": "Nordnet", "currency": "NOK"},
        format="json",
    )
    assert response.status_code == 201, response.content
