"""`make demo` never writes into the database `make run` uses, and whatever ran before,
the owner can still be created (issue 8, defect 8)."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from marketdata.models import HistoricalStockPrice, Instrument
from tests.conftest import bearer
from tests.factories import PASSWORD, UserFactory

User = get_user_model()
NEW_PASSWORD = "a much longer passphrase 42"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_runs_everything_in_its_own_database():
    commands = subprocess.run(
        ["make", "-n", "demo"],
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    managed = [line for line in commands if "manage.py" in line]
    assert [line.split("manage.py ")[1].split()[0] for line in managed] == [
        "migrate",
        "load_demo",
    ]
    # The server: uvicorn with the ASGI application (HTTP and WebSocket).
    served = [line for line in commands if "uvicorn financedash.asgi:application" in line]
    assert len(served) == 1
    demo_db = f"DATABASE_URL=sqlite:///{django_settings.BASE_DIR}/demo.sqlite3"
    assert all(demo_db in line and "REDIS_URL= " in line for line in managed + served)


@pytest.mark.django_db
class TestLoadDemo:
    def test_it_refuses_a_database_with_real_accounts(self, owner, settings):
        settings.MARKETDATA_PROVIDER = "demo"
        with pytest.raises(CommandError, match="real accounts"):
            call_command("load_demo", "--years", "1", stdout=StringIO())
        assert not Instrument.objects.exists()
        assert not HistoricalStockPrice.objects.exists()

    def test_it_refuses_the_database_make_run_uses(self, settings, monkeypatch):
        settings.MARKETDATA_PROVIDER = "demo"
        monkeypatch.setitem(
            connection.settings_dict, "NAME", django_settings.BASE_DIR / "db.sqlite3"
        )
        with pytest.raises(CommandError, match="make demo"):
            call_command("load_demo", "--years", "1", stdout=StringIO())


@pytest.mark.django_db
class TestOwnerSetupAfterADemo:
    """A database an older `make demo` loaded holds only the demo user: /setup/ answered
    404 and there was no way to create the owner."""

    @pytest.fixture
    def demo_user(self):
        return UserFactory(username="demo")

    def form(self, username="alice"):
        return {
            "username": username,
            "email": f"{username}@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        }

    def test_setup_creates_the_owner(self, client, demo_user):
        page = client.get(reverse("register"))
        assert page.status_code == 200
        assert page.context["first_run"] is True
        assert client.post(reverse("register"), self.form()).status_code == 302
        owner = User.objects.get(username="alice")
        assert owner.is_superuser and owner.is_staff

        client.logout()
        assert client.get(reverse("register")).status_code == 404
        assert client.post(reverse("register"), self.form("mallory")).status_code == 404
        assert not User.objects.filter(username="mallory").exists()

    def test_the_login_page_offers_it(self, client, demo_user):
        page = client.get(reverse("login"))
        assert page.status_code == 200
        assert reverse("register").encode() in page.content

    def test_the_api_registers_the_owner(self, anon_api, demo_user):
        response = anon_api.post(
            "/api/v1/auth/register",
            {"username": "alice", "email": "alice@example.com", "password": NEW_PASSWORD},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert User.objects.get(username="alice").is_staff
        second = anon_api.post(
            "/api/v1/auth/register",
            {"username": "bob", "email": "bob@example.com", "password": NEW_PASSWORD},
            format="json",
        )
        assert second.status_code == 403

    def test_a_staff_user_named_demo_is_the_owner(self, client):
        UserFactory(username="demo", is_staff=True, is_superuser=True)
        assert client.get(reverse("register")).status_code == 404

    def test_the_demo_user_still_logs_in(self, client, demo_user):
        response = client.post(reverse("login"), {"username": "demo", "password": PASSWORD})
        assert response.status_code == 302
        assert bearer(demo_user).get("/api/v1/auth/me").json()["username"] == "demo"
