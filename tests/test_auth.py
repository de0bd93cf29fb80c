from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

User = get_user_model()
NEW_PASSWORD = "a much better passphrase 42"


@pytest.mark.django_db
class TestLoginRequired:
    @pytest.mark.parametrize("url", ["/", "/password/"])
    def test_it_redirects_anonymous_users_to_login(self, client, owner, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_health_is_public(self, client):
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}

    def test_it_logs_in_and_out(self, client, owner):
        response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        client.post(reverse("logout"))
        assert client.get("/").status_code == 302

    def test_it_rejects_a_wrong_password(self, client, owner):
        response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
        assert response.status_code == 200
        assert b"correct username and password" in response.content


@pytest.mark.django_db
class TestFirstRun:
    def test_login_page_leads_to_first_run_when_no_user_exists(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 302
        assert response["Location"] == reverse("register")

    def test_first_run_creates_the_owner_once(self, client):
        form = {
            "username": "alice",
            "email": "alice@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        }
        response = client.post(reverse("register"), form)
        assert response.status_code == 302
        owner = User.objects.get()
        assert owner.username == "alice"
        assert owner.is_superuser and owner.is_staff
        assert owner.profile.base_currency == "NOK"

        client.logout()
        again = client.post(reverse("register"), {**form, "username": "mallory"})
        assert again.status_code == 404
        assert list(User.objects.values_list("username", flat=True)) == ["alice"]

    def test_first_run_shows_field_errors(self, client):
        response = client.post(
            reverse("register"),
            {"username": "", "password1": "x", "password2": "y"},
        )
        assert response.status_code == 200
        assert b"This field is required" in response.content
        assert not User.objects.exists()

    def test_allow_registration_opens_signup_for_normal_users(self, client, owner, settings):
        settings.ALLOW_REGISTRATION = True
        response = client.post(
            reverse("register"),
            {"username": "bob", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response.status_code == 302
        bob = User.objects.get(username="bob")
        assert not bob.is_staff and not bob.is_superuser


@pytest.mark.django_db
def test_password_change(client):
    user = UserFactory(username="carol")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_redirects_the_whole_page(client, owner):
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.django_db(transaction=True)
def test_parallel_first_sign_ups_make_exactly_one_owner():
    # Issue 13 item 6: 16 parallel first sign-ups made 1 to 8 superusers per round.
    import threading

    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied
    from django.db import connection

    from financedash.accounts import create_account

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs write transactions one at a time (IMMEDIATE)")

    user_model = get_user_model()
    for round_ in range(3):
        user_model.objects.all().delete()
        start = threading.Barrier(16)
        refused = []

        def sign_up(n, round_=round_, start=start, refused=refused):
            try:
                start.wait()
                try:
                    create_account(user_model(username=f"first-{round_}-{n}"))
                except PermissionDenied:
                    refused.append(n)
            finally:
                connection.close()

        threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert user_model.objects.filter(is_superuser=True).count() == 1
        assert user_model.objects.count() == 1
        assert len(refused) == 15


@pytest.mark.django_db
def test_postgresql_sessions_end_a_dead_requests_statement():
    # Issue 13 item 8: a worker killed mid-import left its statement running ~5 minutes.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's server-side timeouts")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "1min"
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"
