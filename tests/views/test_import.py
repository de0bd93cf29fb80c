from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portfolios.models import Transaction
from portfolios.views import PENDING_IMPORT
from tests.views.conftest import htmx

pytestmark = pytest.mark.django_db

GOOD = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,EQNR.OL,10,250,49
2024-03-01,BUY,EQNR.OL,5,260,49
"""
BAD = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,EQNR.OL,10,250,49
2024-03-01,SELL,EQNR.OL,50,260,49
"""


def _upload(client, portfolio, data, fmt="generic", **extra):
    upload = SimpleUploadedFile("trades.csv", data, content_type="text/csv")
    return client.post(
        reverse("portfolios:import"),
        {"portfolio": portfolio.pk, "format": fmt, "file": upload},
        **extra,
    )


def test_without_a_portfolio_it_leads_to_creating_one(owner_client):
    body = owner_client.get(reverse("portfolios:import")).content.decode()
    assert "First, a portfolio to import into" in body
    assert f"{reverse('portfolios:create')}?next=/import/" in body


def test_page_preselects_the_portfolio_and_documents_the_formats(owner_client, portfolio):
    response = owner_client.get(reverse("portfolios:import"), {"portfolio": portfolio.pk})
    assert response.context["form"].initial["portfolio"] == portfolio.pk
    assert "date,type,symbol,quantity,price" in response.content.decode()


def test_preview_shows_every_row_and_saves_nothing(owner_client, portfolio, equinor):
    response = _upload(owner_client, portfolio, GOOD, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="import-panel"' in body
    # Before anything is saved the rows say what will happen, never "created".
    # The count above the table and each of the two rows.
    assert body.count('<span class="status created">will create</span>') == 3
    assert ">created<" not in body
    assert "Import 2 transactions" in body
    assert Transaction.objects.count() == 0


def test_commit_imports_what_was_previewed(owner_client, portfolio, equinor):
    _upload(owner_client, portfolio, GOOD)
    token = owner_client.session[PENDING_IMPORT]["token"]
    response = htmx(owner_client, reverse("portfolios:import"), {"commit": token}, method="post")
    assert response["HX-Redirect"] == reverse("portfolios:detail", args=[portfolio.pk])
    assert Transaction.objects.filter(portfolio=portfolio).count() == 2
    assert PENDING_IMPORT not in owner_client.session


def test_a_file_with_an_error_imports_nothing_and_offers_no_commit(
    owner_client, portfolio, equinor
):
    response = _upload(owner_client, portfolio, BAD)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<span class="status error">error</span>' in body
    assert "Nothing can be imported" in body
    assert 'name="commit"' not in body
    assert Transaction.objects.count() == 0


def test_the_previewed_file_waits_in_the_cache_not_in_the_session(owner_client, portfolio, equinor):
    _upload(owner_client, portfolio, GOOD)
    session = owner_client.session
    pending = session[PENDING_IMPORT]
    # Only the token and what the commit needs to find the file: no bytes of it. A file in
    # the session (base64, a third larger) was read and written on every request.
    assert set(pending) == {"token", "portfolio", "format", "name", "overrides"}
    assert b"EQNR.OL" not in session.encode(dict(session.items())).encode()
    assert cache.get(f"import-upload:{pending['token']}") == GOOD

    htmx(owner_client, reverse("portfolios:import"), {"commit": pending["token"]}, method="post")
    assert Transaction.objects.filter(portfolio=portfolio).count() == 2
    assert cache.get(f"import-upload:{pending['token']}") is None


def test_a_second_preview_replaces_the_first_file(owner_client, portfolio, equinor):
    _upload(owner_client, portfolio, GOOD)
    first = owner_client.session[PENDING_IMPORT]["token"]
    _upload(owner_client, portfolio, GOOD.replace(b"10,250", b"11,250"))
    second = owner_client.session[PENDING_IMPORT]["token"]
    assert first != second
    assert cache.get(f"import-upload:{first}") is None
    response = owner_client.post(reverse("portfolios:import"), {"commit": first})
    assert response.status_code == 302
    assert Transaction.objects.count() == 0


def test_a_file_gone_from_the_cache_is_refused_as_expired(owner_client, portfolio, equinor):
    _upload(owner_client, portfolio, GOOD)
    token = owner_client.session[PENDING_IMPORT]["token"]
    cache.delete(f"import-upload:{token}")
    response = owner_client.post(reverse("portfolios:import"), {"commit": token}, follow=True)
    assert "That preview has expired" in response.content.decode()
    assert Transaction.objects.count() == 0


def test_commit_with_a_stale_token_is_refused(owner_client, portfolio):
    response = owner_client.post(reverse("portfolios:import"), {"commit": "forged"})
    assert response.status_code == 302
    assert Transaction.objects.count() == 0


def test_upload_errors_are_next_to_the_fields(owner_client, portfolio):
    response = owner_client.post(reverse("portfolios:import"), {"portfolio": portfolio.pk})
    assert response.status_code == 422
    assert "file" in response.context["form"].errors


def test_another_users_portfolio_cannot_be_chosen(outsider_client, portfolio):
    response = _upload(outsider_client, portfolio, GOOD)
    assert response.status_code == 422
    assert "portfolio" in response.context["form"].errors
