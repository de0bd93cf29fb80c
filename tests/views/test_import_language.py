"""The importers' messages in the page's language (issue 15): a Norwegian page's preview
speaks Norwegian, the API stays English, and a background job writes its row messages in
the language of the request that started it, whatever language its worker runs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from financedash.celery import app as celery_app
from portfolios import jobs
from portfolios.models import ImportJob
from tests.factories import InstrumentFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

BAD_DATE = b"""date,type,symbol,quantity,price,fees
2024-13-45,BUY,EQNR.OL,10,250,49
2024-03-01,BUY,NOPE.OL,5,260,49
"""


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    return PortfolioFactory(user=owner, currency="NOK")


def _preview(client, portfolio, **extra):
    upload = SimpleUploadedFile("trades.csv", BAD_DATE, content_type="text/csv")
    return client.post(
        reverse("portfolios:import"),
        {"portfolio": portfolio.pk, "format": "auto", "file": upload},
        **extra,
    ).content.decode()


def test_a_norwegian_preview_explains_the_rows_in_norwegian(owner_client, portfolio):
    body = _preview(owner_client, portfolio, HTTP_ACCEPT_LANGUAGE="nb")
    assert "&#x27;2024-13-45&#x27; er ikke en dato: bruk ÅÅÅÅ-MM-DD." in body
    assert "de generiske kolonnene date, type, symbol, quantity, price" in body
    assert "is not a date" not in body


def test_an_english_preview_stays_english(owner_client, portfolio):
    body = _preview(owner_client, portfolio, HTTP_ACCEPT_LANGUAGE="en")
    assert "&#x27;2024-13-45&#x27; is not a date: use YYYY-MM-DD." in body
    assert "the generic columns date, type, symbol, quantity, price" in body


def test_the_api_reports_import_errors_in_english(api, portfolio):
    upload = SimpleUploadedFile("trades.csv", BAD_DATE, content_type="text/csv")
    response = api.post(
        "/api/v1/transactions/import-csv",
        {"file": upload, "portfolio": portfolio.pk, "format": "generic", "dry_run": "true"},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="nb",
    )
    text = response.content.decode()
    assert "'2024-13-45' is not a date: use YYYY-MM-DD." in text
    assert "er ikke en dato" not in text


@pytest.fixture
def eager_jobs(settings):
    settings.IMPORT_JOB_ROWS = 1
    settings.IMPORT_JOB_RUNNER = "celery"
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield
    conf.task_always_eager, conf.task_eager_propagates = previous


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("nb", "'2024-13-45' er ikke en dato: bruk ÅÅÅÅ-MM-DD."),
        ("en", "'2024-13-45' is not a date: use YYYY-MM-DD."),
    ],
)
def test_a_job_writes_its_messages_in_the_language_it_was_started_in(
    eager_jobs, portfolio, django_capture_on_commit_callbacks, language, message
):
    with django_capture_on_commit_callbacks() as callbacks, translation.override(language):
        job = jobs.submit(portfolio=portfolio, data=BAD_DATE, format="generic", dry_run=True)
    # The worker runs outside the request, in the other language.
    with translation.override("en" if language == "nb" else "nb"):
        for callback in callbacks:
            callback()
    job.refresh_from_db()
    assert job.language == language
    assert job.status == ImportJob.Status.DONE
    assert job.result["errors"][0]["message"] == message


def test_the_format_documentation_comes_in_the_page_language(owner_client, portfolio):
    norwegian = owner_client.get(reverse("portfolios:import"), HTTP_ACCEPT_LANGUAGE="nb")
    assert "Generisk CSV: én transaksjon per rad" in norwegian.content.decode()
    assert "Nordnets transaksjonseksport" in norwegian.content.decode()
    english = owner_client.get(reverse("portfolios:import"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Generic CSV: one transaction per row" in english.content.decode()


def test_a_dead_job_is_reported_in_the_language_it_was_started_in(settings, portfolio):
    settings.IMPORT_JOB_TIMEOUT = 600
    norwegian, english = (
        ImportJob.objects.create(
            user=portfolio.user,
            portfolio=portfolio,
            format="generic",
            status="running",
            language=language,
        )
        for language in ("nb", "")
    )
    long_ago = norwegian.updated_at - timedelta(seconds=601)
    ImportJob.objects.filter(pk__in=[norwegian.pk, english.pk]).update(updated_at=long_ago)
    assert jobs.reap_stale() == 2
    norwegian.refresh_from_db()
    english.refresh_from_db()
    assert norwegian.error.startswith("Importen stoppet før den var ferdig")
    assert english.error.startswith("The import stopped without finishing")
