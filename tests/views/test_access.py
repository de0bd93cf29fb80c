"""Every page needs a login, and another user's objects answer 404, never 403: that
would tell them the object exists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portfolios.models import ImportBatch, ImportJob
from tests.factories import PensionAccountFactory, PensionValueEntryFactory

PAGES = [
    "home",
    "dashboard_chart",
    "dashboard_tax",
    "portfolios:tax",
    "settings",
    "portfolios:list",
    "portfolios:create",
    "portfolios:import",
    "portfolios:imports",
    "portfolios:instrument_search",
    "portfolios:all_transactions",
    "portfolios:transaction_export",
    "backup_download",
    "pensions:list",
    "pensions:create",
    "pensions:projection",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_pages_require_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _object_urls(portfolio, holding, txn, account, entry, batch=None):
    batch = batch or ImportBatch.objects.create(
        user=portfolio.user, portfolio=portfolio, file_name="a.csv", format="generic"
    )
    job = ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, file_name="a.csv", format="generic"
    )
    return [
        ("get", reverse("portfolios:import_job", args=[job.pk])),
        ("get", reverse("portfolios:import_undo", args=[batch.pk])),
        ("post", reverse("portfolios:import_undo", args=[batch.pk])),
        ("get", reverse("portfolios:detail", args=[portfolio.pk])),
        ("get", reverse("portfolios:holdings", args=[portfolio.pk])),
        ("get", reverse("portfolios:chart", args=[portfolio.pk])),
        ("get", reverse("portfolios:edit", args=[portfolio.pk])),
        ("post", reverse("portfolios:edit", args=[portfolio.pk])),
        ("get", reverse("portfolios:credit", args=[portfolio.pk])),
        ("get", reverse("portfolios:delete", args=[portfolio.pk])),
        ("post", reverse("portfolios:delete", args=[portfolio.pk])),
        ("get", reverse("portfolios:transaction_add", args=[portfolio.pk])),
        ("post", reverse("portfolios:transaction_add", args=[portfolio.pk])),
        ("get", reverse("portfolios:transactions", args=[portfolio.pk])),
        ("get", reverse("portfolios:cash_add", args=[portfolio.pk])),
        ("post", reverse("portfolios:cash_add", args=[portfolio.pk])),
        ("get", reverse("portfolios:cash_list", args=[portfolio.pk])),
        ("get", reverse("portfolios:dividends", args=[portfolio.pk])),
        ("get", f"{reverse('portfolios:transaction_export')}?portfolio={portfolio.pk}"),
        ("get", reverse("portfolios:holding", args=[holding.pk])),
        ("get", reverse("portfolios:holding_chart", args=[holding.pk])),
        ("get", reverse("portfolios:holding_transactions", args=[holding.pk])),
        ("get", reverse("portfolios:holding_lots", args=[holding.pk])),
        ("get", reverse("portfolios:holding_delete", args=[holding.pk])),
        ("post", reverse("portfolios:holding_delete", args=[holding.pk])),
        ("post", reverse("portfolios:holding_record_split", args=[holding.pk])),
        ("get", reverse("portfolios:transaction_edit", args=[txn.pk])),
        ("post", reverse("portfolios:transaction_edit", args=[txn.pk])),
        ("get", reverse("portfolios:transaction_delete", args=[txn.pk])),
        ("post", reverse("portfolios:transaction_delete", args=[txn.pk])),
        ("get", reverse("pensions:detail", args=[account.pk])),
        ("get", reverse("pensions:edit", args=[account.pk])),
        ("post", reverse("pensions:edit", args=[account.pk])),
        ("get", reverse("pensions:delete", args=[account.pk])),
        ("post", reverse("pensions:delete", args=[account.pk])),
        ("post", reverse("pensions:value_add", args=[account.pk])),
        ("post", reverse("pensions:value_paste", args=[account.pk])),
    ] + ([("post", reverse("pensions:value_delete", args=[entry.pk]))] if entry else [])


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_other_users_objects_are_not_found(client, owner, outsider, buy, htmx):
    account = PensionAccountFactory(user=owner)
    entry = PensionValueEntryFactory(account=account)
    client.force_login(outsider)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url in _object_urls(buy.portfolio, buy.holding, buy, account, entry):
        response = getattr(client, method)(url, **extra)
        assert response.status_code == 404, (method, url)
    # Nothing of the owner's was touched.
    assert buy.portfolio.transactions.count() == 1
    assert not ImportBatch.objects.filter(undone_at__isnull=False).exists()
    assert account.values.count() == 1


@pytest.mark.django_db
def test_not_found_uses_our_page(owner_client):
    response = owner_client.get("/portfolios/999999/")
    assert response.status_code == 404
    assert b"it is not yours to see" in response.content
    assert b"<nav" in response.content


@pytest.mark.django_db
def test_server_error_page_renders_without_a_request_context(rf):
    from financedash.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


@pytest.mark.django_db
def test_every_page_renders_whole_for_its_owner(owner_client, owner, buy):
    account = PensionAccountFactory(user=owner)
    PensionValueEntryFactory(account=account)
    # The partials redirect to their page without htmx, the year picker to a year.
    partials = ("dashboard_chart", "dashboard_tax", "portfolios:tax")
    urls = [reverse(name) for name in PAGES if name not in partials]
    urls.append(reverse("portfolios:tax_year", args=[2025]))
    urls += [
        url
        for method, url in _object_urls(buy.portfolio, buy.holding, buy, account, None)
        if method == "get" and "chart" not in url
    ]
    for url in urls:
        if url.endswith(("/holdings/", "/cash/", "/dividends/")) or (
            url.startswith("/holdings/") and url.endswith(("/transactions/", "/lots/"))
        ):
            continue  # partial endpoints: without htmx they redirect to their page
        if "/export/" in url or url.endswith("/backup/"):
            continue  # a file, not a page
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert b"<html" in response.content, url
        assert b"<nav" in response.content, url
