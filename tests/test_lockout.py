"""One lockout for every login (issue 13 items 1 and 2): the login page, the admin's and
the API's count failures together, per username and address, in the database, so every
worker and process sees them with or without Redis."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limit(settings):
    settings.LOGIN_FAILURE_LIMIT = 3


def api_login(password):
    return APIClient().post(
        "/api/v1/auth/login", {"username": "owner", "password": password}, format="json"
    )


def admin_login(password):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "owner", "password": password}
    )
    return client, response


def test_after_an_api_lockout_the_admin_login_refuses_the_right_password(owner):
    for _ in range(3):
        api_login("wrong")
    client, response = admin_login(PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/api/v1/auth/me").status_code in (401, 403)


def test_admin_failures_lock_the_api_and_the_login_page(owner):
    # Before: 30 wrong admin passwords and then the right one logged in.
    for _ in range(3):
        admin_login("wrong")
    assert api_login(PASSWORD).status_code == 429
    response = Client().post("/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed login attempts" in response.content


def test_fresh_processes_see_the_same_count(owner):
    # Every request here is a new client; the count lives in the database (axes'
    # AccessAttempt), not in one process's memory or a cache that can be down.
    from axes.models import AccessAttempt

    api_login("wrong")
    admin_login("wrong")
    assert AccessAttempt.objects.get(username="owner").failures_since_start == 2


def test_another_address_is_not_locked_out(owner):
    for _ in range(3):
        api_login("wrong")
    other = APIClient(REMOTE_ADDR="192.0.2.7")
    response = other.post(
        "/api/v1/auth/login", {"username": "owner", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_a_forwarded_for_header_does_not_dodge_the_lockout(owner):
    for n in range(3):
        APIClient(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            "/api/v1/auth/login", {"username": "owner", "password": "wrong"}, format="json"
        )
    assert api_login(PASSWORD).status_code == 429


def test_failed_logins_are_logged_without_the_password(owner, caplog):
    with caplog.at_level(logging.INFO):
        api_login("hunter2-secret")
    text = caplog.text
    assert "owner" in text
    assert "hunter2-secret" not in text
