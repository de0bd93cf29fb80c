"""The settings page's backup section: download the backup, restore one by upload."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from financedash import backup
from portfolios.models import Portfolio
from tests.factories import InstrumentFactory, PortfolioFactory, UserFactory, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(owner):
    portfolio = PortfolioFactory(user=owner, name="Main", currency="NOK")
    record(
        portfolio,
        InstrumentFactory(ticker="EQNR.OL"),
        quantity="10",
        price="300",
        date=dt.date(2024, 1, 2),
    )
    return backup.dump(owner)


def upload(document) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "backup.json", json.dumps(document).encode(), content_type="application/json"
    )


def test_settings_offers_download_and_restore(client, owner):
    client.force_login(owner)
    page = client.get(reverse("settings"))
    assert reverse("backup_download") in page.text
    assert reverse("backup_restore") in page.text
    assert 'enctype="multipart/form-data"' in page.text


def test_download_is_the_backup_as_a_file(owner_client, document):
    response = owner_client.get(reverse("backup_download"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="financedash-backup-')
    body = json.loads(response.content)
    assert {**body, "created_at": None} == {**document, "created_at": None}


def test_restore_by_upload(client, document):
    newcomer = UserFactory(username="newcomer")
    client.force_login(newcomer)
    response = client.post(reverse("backup_restore"), {"file": upload(document)})
    assert response.status_code == 302
    assert Portfolio.objects.get(user=newcomer).holdings.get().quantity == 10
    follow = client.get(response["Location"])
    assert "Restored 1 portfolio with 1 transaction" in follow.text


def test_a_refused_restore_shows_every_bad_path(client, document):
    document["portfolios"][0]["transactions"][0]["price"] = "-1"
    document["portfolios"][0]["currency"] = "kroner"
    newcomer = UserFactory(username="newcomer")
    client.force_login(newcomer)
    response = client.post(reverse("backup_restore"), {"file": upload(document)})
    assert response.status_code == 422
    assert "Nothing was restored" in response.text
    assert "<code>portfolios[0].currency</code>" in response.text
    assert not Portfolio.objects.filter(user=newcomer).exists()


def test_a_file_that_is_not_json(client):
    client.force_login(UserFactory(username="newcomer"))
    bad = SimpleUploadedFile("backup.json", b"date,type\n")
    response = client.post(reverse("backup_restore"), {"file": bad})
    assert response.status_code == 422
    assert "Not a JSON file" in response.text


def test_an_account_with_portfolios_is_told_why_not(owner_client, document):
    page = owner_client.get(reverse("settings"))
    assert "only into an account without portfolios" in page.text
    response = owner_client.post(reverse("backup_restore"), {"file": upload(document)})
    assert response.status_code == 422
    assert Portfolio.objects.count() == 1


def test_restore_needs_a_post(owner_client):
    assert owner_client.get(reverse("backup_restore")).status_code == 405


def test_another_user_downloads_only_their_own(outsider_client, document):
    body = json.loads(outsider_client.get(reverse("backup_download")).content)
    assert body["portfolios"] == [] and body["pension_accounts"] == []


def test_restore_needs_a_login(client, document):
    response = client.post(reverse("backup_restore"), {"file": upload(document)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Portfolio.objects.count() == 1
