from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.api.conftest import assert_error
from tests.factories import PASSWORD

User = get_user_model()
pytestmark = pytest.mark.django_db
STRONG = "a much better passphrase 42"


def _login(client, username="owner", password=PASSWORD):
    return client.post("/api/v1/auth/login", {"username": username, "password": password})


def test_login_returns_a_token_pair_that_authenticates(anon_api, owner):
    response = _login(anon_api)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = client.get("/api/v1/auth/me").json()
    assert me == {
        "id": owner.pk,
        "username": "owner",
        "email": "owner@example.com",
        "base_currency": "NOK",
        "retirement_goal_amount": None,
        "retirement_goal_year": None,
    }
    assert client.get("/api/v1/users/me").json() == me


def test_wrong_password_is_401_in_the_error_format(anon_api, owner):
    assert_error(_login(anon_api, password="wrong"), 401)


def test_repeated_failures_lock_the_login_out(anon_api, owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        assert _login(anon_api, password="wrong").status_code == 401
    # The failure that reaches the limit is answered with the lockout, and so is the
    # right password after it.
    assert_error(_login(anon_api, password="wrong"), 429, "login_locked")
    response = _login(anon_api)
    error = assert_error(response, 429, "login_locked")
    assert "Too many failed login attempts" in error["message"]
    assert response["Retry-After"] == str(settings.LOGIN_LOCKOUT_SECONDS)


def test_refresh_rotates_and_the_old_token_is_rejected(anon_api, owner):
    first = _login(anon_api).json()
    response = anon_api.post("/api/v1/auth/refresh", {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert second["access"]
    assert_error(anon_api.post("/api/v1/auth/refresh", {"refresh": first["refresh"]}), 401)
    assert anon_api.post("/api/v1/auth/refresh", {"refresh": second["refresh"]}).status_code == 200


def test_a_password_change_revokes_every_token_issued_before(anon_api, owner):
    # Issue 13 item 5: tokens outlived a password change.
    tokens = _login(anon_api).json()
    owner.set_password(STRONG)
    owner.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_error(client.get("/api/v1/auth/me"), 401)
    error = assert_error(anon_api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}), 401)
    assert "password has changed" in error["message"]
    fresh = _login(anon_api, password=STRONG).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert client.get("/api/v1/auth/me").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_sent_in_parallel_is_accepted_once(owner):
    # Issue 13 item 5: 10 parallel refreshes of one token were accepted 8 times.
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs write transactions one at a time")
    refresh = _login(APIClient()).json()["refresh"]
    start = threading.Barrier(10)
    codes = []

    def send():
        try:
            client = APIClient()
            start.wait()
            codes.append(client.post("/api/v1/auth/refresh", {"refresh": refresh}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] + [401] * 9


def test_logout_blacklists_the_refresh_token(anon_api, owner):
    tokens = _login(anon_api).json()
    assert anon_api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}).status_code == 200
    assert_error(anon_api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}), 401)


def test_session_login_is_accepted_too(client, owner):
    client.force_login(owner)
    assert client.get("/api/v1/auth/me").json()["username"] == "owner"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/me", "/api/v1/portfolios", "/api/v1/currencies", "/api/v1/transactions/1"],
)
def test_anonymous_requests_get_401_not_a_redirect(anon_api, path):
    assert_error(anon_api.get(path), 401, "not_authenticated")


def test_garbage_bearer_token_is_401(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(anon_api.get("/api/v1/auth/me"), 401)


def test_register_first_user_becomes_owner_then_closes(anon_api):
    body = {"username": "alice", "email": "a@example.com", "password": STRONG}
    response = anon_api.post("/api/v1/auth/register", body)
    assert response.status_code == 201
    assert {"access", "refresh", "id", "username"} <= set(response.json())
    assert User.objects.get(username="alice").is_superuser
    error = assert_error(anon_api.post("/api/v1/auth/register", {**body, "username": "bob"}), 403)
    assert error["message"] == "Registration is closed."


def test_register_validates_each_field(anon_api, settings):
    settings.ALLOW_REGISTRATION = True
    error = assert_error(
        anon_api.post("/api/v1/auth/register", {"username": "", "password": "123"}), 400
    )
    assert set(error["details"]) == {"username", "password"}
    assert error["message"].startswith("Invalid input: username:")


def test_retirement_goal_round_trip_and_validation(api):
    response = api.put(
        "/api/v1/users/me/retirement-goal",
        {"retirement_goal_amount": "5000000.00", "retirement_goal_year": 2045},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["retirement_goal_amount"] == "5000000.00"
    assert response.json()["retirement_goal_year"] == 2045
    error = assert_error(
        api.put(
            "/api/v1/users/me/retirement-goal",
            {"retirement_goal_amount": "-1", "retirement_goal_year": 1800},
            format="json",
        ),
        400,
        "validation_error",
    )
    assert set(error["details"]) == {"retirement_goal_amount", "retirement_goal_year"}


def test_unknown_api_path_is_404_json(api):
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_json(api):
    assert_error(api.delete("/api/v1/auth/me"), 405, "method_not_allowed")
