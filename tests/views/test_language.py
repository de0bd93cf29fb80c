"""The pages in Norwegian and English (issue 15): the language from the browser, the
profile's choice over it, the signed-out pages' cookie, the API always English."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import PortfolioFactory, record
from tests.views.conftest import priced_instrument

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.fixture
def holding(owner):
    portfolio = PortfolioFactory(user=owner, name="Aksjer", currency="NOK")
    equinor = priced_instrument("EQNR.OL", "300.50")
    # 4 000 shares at 300.50 = 1 202 000.00 at the stored close.
    record(portfolio, equinor, quantity="4000", price="250")
    return portfolio


def test_a_norwegian_browser_gets_norwegian_text_and_kroner(owner_client, holding):
    response = owner_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="nb-NO,nb;q=0.9,en;q=0.5")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="nb">' in body
    assert "Nettoformue" in body and "Net worth" not in body
    assert f"1{NBSP}202{NBSP}000,00{NBSP}kr" in body
    assert response["Content-Language"] == "nb"


@pytest.mark.parametrize("header", ["no", "nn-NO,nn;q=0.9", "da, no;q=0.8"])
def test_norwegian_and_nynorsk_browsers_get_bokmal(owner_client, header):
    response = owner_client.get(reverse("settings"), HTTP_ACCEPT_LANGUAGE=header)
    assert '<html lang="nb">' in response.content.decode()


def test_no_preference_is_english(owner_client, holding):
    body = owner_client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in body
    assert "Net worth" in body and "1\u202f202\u202f000.00\u00a0NOK" in body


def test_the_profile_language_wins_over_the_browser(client, owner, holding):
    owner.profile.language = "en"
    owner.profile.save()
    client.force_login(owner)  # the language is read into the session at login
    body = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    assert "Net worth" in body


def test_choosing_a_language_in_settings_applies_at_once_and_signed_out(owner_client, owner):
    response = owner_client.post(
        reverse("settings"), {"base_currency": "NOK", "language": "nb"}, follow=True
    )
    body = response.content.decode()
    assert "Innstillingene er lagret." in body and '<html lang="nb">' in body
    owner.profile.refresh_from_db()
    assert owner.profile.language == "nb"
    # The cookie carries it past the logout: the login form speaks Norwegian too.
    assert owner_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nb"
    owner_client.post(reverse("logout"))
    login = owner_client.get(reverse("login")).content.decode()
    assert "Logg inn" in login

    # "As the browser asks" removes the cookie again.
    owner_client.force_login(owner)
    owner_client.post(reverse("settings"), {"base_currency": "NOK", "language": ""})
    assert owner_client.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert '<html lang="en">' in owner_client.get(reverse("home")).content.decode()


def test_the_signed_out_footer_switch_sets_the_cookie(client, owner):
    response = client.post(reverse("set_language"), {"language": "nb", "next": "/login/"})
    assert response.status_code == 302
    assert "Logg inn" in client.get(reverse("login")).content.decode()


def test_settings_show_the_goal_grouped_and_read_a_decimal_comma(owner_client, owner):
    owner.profile.retirement_goal_amount = Decimal("12000000.00")
    owner.profile.save()
    page = owner_client.get(reverse("settings"), HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    assert 'value="12 000 000,00"' in page
    english = owner_client.get(reverse("settings")).content.decode()
    assert 'value="12 000 000.00"' in english
    response = owner_client.post(
        reverse("settings"),
        {"base_currency": "NOK", "retirement_goal_amount": "1 234 567,89"},
        HTTP_ACCEPT_LANGUAGE="nb",
    )
    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.retirement_goal_amount == Decimal("1234567.89")


def test_a_transaction_form_reads_norwegian_numbers(owner_client, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    priced_instrument("EQNR.OL", "300")
    response = owner_client.post(
        reverse("portfolios:transaction_add", args=[portfolio.pk]),
        {
            "symbol": "EQNR.OL",
            "type": "BUY",
            "date": "2024-01-02",
            "quantity": "1 000",
            "price": "250,5",
            "fees": "29,00",
        },
        HTTP_ACCEPT_LANGUAGE="nb",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    txn = portfolio.transactions.get()
    assert (txn.quantity, txn.price, txn.fees) == (Decimal("1000"), Decimal("250.5"), Decimal(29))


def test_a_norwegian_form_error_is_norwegian(owner_client, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    response = owner_client.post(
        reverse("portfolios:cash_add", args=[portfolio.pk]),
        {"type": "DEPOSIT", "date": "2024-01-02", "amount": "1.234"},
        HTTP_ACCEPT_LANGUAGE="nb",
    )
    assert "tvetydig" in response.content.decode()


def test_the_api_stays_english_and_locale_free(api, owner, holding):
    response = api.get("/api/v1/portfolios", HTTP_ACCEPT_LANGUAGE="nb")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    text = response.content.decode()
    assert "kr" not in text.replace("Aksjer", "")
    missing = api.get("/api/v1/portfolios/999999", HTTP_ACCEPT_LANGUAGE="nb")
    assert missing.status_code == 404
    assert "Not found" in missing.content.decode()


def test_the_scripts_strings_come_in_the_page_language(client):
    # Signed out too (the login page loads it); static/js falls back to English without it.
    norwegian = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="nb")
    assert norwegian.status_code == 200
    assert "Direkteoppdatering utilgjengelig" in norwegian.content.decode()
    assert "Direkteoppdatering" not in client.get(reverse("javascript-catalog")).content.decode()
