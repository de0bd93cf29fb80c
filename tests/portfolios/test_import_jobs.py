"""Large imports as background jobs (portfolios.jobs; issue 13 defect 7): a 50,000-row file
through a thread (the embedded default) and through Celery (eager here, as without Redis),
progress, all-or-nothing on failure, a dead worker's job marked failed, the HTML progress
page, the API's 202 and polling, and other users' jobs as 404."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from financedash.celery import app as celery_app
from portfolios import jobs, services
from portfolios.models import Holding, ImportBatch, ImportJob, Transaction
from portfolios.views import PENDING_IMPORT
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory

D = Decimal
SYMBOLS = [f"JOB{n}.OL" for n in range(10)]


def big_csv(rows: int) -> bytes:
    """`rows` buys of 1 share at 100 NOK, no fees, spread over the 10 symbols and one day
    per 20 rows: each holding ends with rows/10 shares costing 100 each."""
    lines = ["date,type,symbol,quantity,price,fees"]
    start = dt.date(2010, 1, 1)
    for n in range(rows):
        day = start + dt.timedelta(days=n // 20)
        lines.append(f"{day.isoformat()},BUY,{SYMBOLS[n % 10]},1,100,0")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture(autouse=True)
def _eager_celery():
    # Celery runs the job in the caller, as without Redis, also in the Redis test run
    # (whose tasks would otherwise wait in Redis for a worker that is not there).
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield
    conf.task_always_eager, conf.task_eager_propagates = previous


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Big", currency="NOK")


@pytest.fixture
def instruments(db):
    return [InstrumentFactory(ticker=symbol, currency="NOK") for symbol in SYMBOLS]


def _assert_imported(portfolio, rows: int) -> None:
    # rows / 10 buys of 1 share at 100 per holding: quantity rows/10, cost 100 x that.
    per = rows // 10
    assert Transaction.objects.filter(portfolio=portfolio).count() == rows
    for holding in Holding.objects.filter(portfolio=portfolio):
        assert holding.quantity == D(per)
        assert holding.total_cost == D(100 * per)
        assert holding.average_cost == D(100)
    batch = ImportBatch.objects.get(portfolio=portfolio)
    assert batch.counts["created"] == rows
    assert Transaction.objects.filter(import_batch=batch).count() == rows


def _submit(portfolio, data, dry_run=False):
    return jobs.submit(
        portfolio=portfolio, data=data, format="generic", dry_run=dry_run, file_name="big.csv"
    )


# -- 50,000 rows end to end ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_50000_rows_through_a_thread(settings, portfolio, instruments):
    settings.IMPORT_JOB_RUNNER = "thread"
    data = big_csv(50_000)
    assert jobs.needs_job(data)
    job = _submit(portfolio, data)  # autocommit here: on_commit starts it at once
    # The request returned without importing: the job is queued or already running.
    for thread in [t for t in _threads() if t.name == f"import-job-{job.pk}"]:
        thread.join(timeout=600)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    assert job.result["committed"] and job.result["counts"]["created"] == 50_000
    assert job.rows_done == job.rows_total == 50_000
    assert job.data is None  # the file is not kept once imported
    assert job.batch_id == ImportBatch.objects.get(portfolio=portfolio).pk
    _assert_imported(portfolio, 50_000)


def _threads():
    import threading

    return threading.enumerate()


@pytest.mark.django_db
def test_50000_rows_through_celery_with_progress(
    settings, portfolio, instruments, django_capture_on_commit_callbacks, monkeypatch
):
    settings.IMPORT_JOB_RUNNER = "celery"  # eager without Redis, as in the test settings
    seen = []
    original = jobs._Progress.__call__

    def spy(self, step, done, total):
        original(self, step, done, total)
        job = ImportJob.objects.get(pk=self.job_id)
        seen.append((job.status, job.phase, job.rows_done, job.percent))

    monkeypatch.setattr(jobs._Progress, "__call__", spy)
    with django_capture_on_commit_callbacks(execute=True):
        job = _submit(portfolio, big_csv(50_000))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    _assert_imported(portfolio, 50_000)
    # The job said what it was doing, step by step, and its bar only went forward.
    assert [phase for _, phase, _, _ in seen][:3] == ["parse", "check", "save"]
    assert all(status == "running" for status, *_ in seen)
    percents = [percent for *_, percent in seen]
    assert percents == sorted(percents) and percents[-1] < 100
    assert job.percent == 100


# -- behaviour, on small files (the threshold lowered) -----------------------------------

SMALL = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,JOB0.OL,10,100,0
2024-01-03,BUY,JOB1.OL,10,100,0
2024-01-04,BUY,JOB0.OL,5,110,0
"""
OVERSELL = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,JOB0.OL,10,100,0
2024-01-03,SELL,JOB0.OL,50,100,0
2024-01-04,BUY,JOB1.OL,5,110,0
"""


@pytest.fixture
def small_jobs(settings):
    settings.IMPORT_JOB_ROWS = 2
    settings.IMPORT_JOB_RUNNER = "celery"


@pytest.mark.django_db
def test_a_failure_midway_fails_the_job_and_saves_nothing(
    small_jobs, portfolio, instruments, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    original = services._store_replay

    def breaks_on_the_second_holding(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_store_replay", breaks_on_the_second_holding)
    with django_capture_on_commit_callbacks(execute=True):
        job = _submit(portfolio, SMALL)
    job.refresh_from_db()
    assert len(calls) == 2  # the first holding's figures were stored, then it broke
    assert job.status == ImportJob.Status.FAILED
    assert "unexpected error (RuntimeError)" in job.error and "Nothing was saved" in job.error
    assert "disk on fire" not in job.error  # the details go to the log, not the page
    assert not Transaction.objects.exists()
    assert not Holding.objects.filter(quantity__gt=0).exists()
    assert not ImportBatch.objects.exists()
    assert job.data is None


@pytest.mark.django_db
def test_rows_with_errors_end_the_job_with_nothing_saved_and_the_errors_named(
    small_jobs, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _submit(portfolio, OVERSELL)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE  # it ran; the import refused the file
    assert not job.result["committed"] and not job.result["ok"]
    assert job.result["counts"]["error"] == 1
    assert job.result["errors"][0]["line"] == 3
    assert not Transaction.objects.exists() and job.batch is None


@pytest.mark.django_db
def test_a_dry_run_job_counts_like_a_preview_and_saves_nothing(
    small_jobs, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _submit(portfolio, SMALL, dry_run=True)
    job.refresh_from_db()
    assert job.result["counts"]["will_create"] == 3
    assert not job.result["committed"] and not Transaction.objects.exists()


@pytest.mark.django_db
def test_a_second_run_of_the_same_file_finds_every_row_a_duplicate(
    small_jobs, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(portfolio, SMALL)
        again = _submit(portfolio, SMALL)
    again.refresh_from_db()
    assert again.result["counts"]["duplicate"] == 3 and again.result["counts"]["created"] == 0
    assert Transaction.objects.count() == 3
    assert again.batch is None  # nothing new: no batch to list or undo


@pytest.mark.django_db
def test_a_job_runs_once(small_jobs, portfolio, instruments):
    job = _submit(portfolio, SMALL)  # on_commit not run: still queued
    jobs.run(job.pk)
    jobs.run(job.pk)  # a second delivery of the task finds it taken
    assert Transaction.objects.count() == 3
    assert ImportBatch.objects.count() == 1


@pytest.mark.django_db
def test_a_silent_job_is_marked_failed(settings, portfolio):
    settings.IMPORT_JOB_TIMEOUT = 600
    running = ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, format="generic", status="running", data=b"x"
    )
    queued = ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, format="generic", data=b"x"
    )
    fresh = ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, format="generic", status="running"
    )
    long_ago = running.updated_at - timedelta(seconds=601)
    ImportJob.objects.filter(pk__in=[running.pk, queued.pk]).update(updated_at=long_ago)
    assert jobs.reap_stale() == 2
    running.refresh_from_db()
    queued.refresh_from_db()
    fresh.refresh_from_db()
    assert running.status == queued.status == "failed"
    assert "its worker stopped" in running.error and "Nothing was saved" in running.error
    assert "never started" in queued.error
    assert running.data is None
    assert fresh.status == "running"
    # A reaped job that is then delivered does not run.
    jobs.run(queued.pk)
    queued.refresh_from_db()
    assert queued.status == "failed"


# -- HTML ---------------------------------------------------------------------------------


def _upload(client, portfolio, data):
    upload = SimpleUploadedFile("big.csv", data, content_type="text/csv")
    return client.post(
        reverse("portfolios:import"),
        {"portfolio": portfolio.pk, "format": "generic", "file": upload},
    )


@pytest.mark.django_db
def test_html_commit_of_a_large_file_shows_progress_then_the_result(
    small_jobs, owner_client, portfolio, instruments, django_capture_on_commit_callbacks
):
    # The preview (a dry run) of a large file is a job too, then offers the commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(owner_client, portfolio, SMALL)
    preview = ImportJob.objects.get()
    assert preview.dry_run
    assert response["Location"] == reverse("portfolios:import_job", args=[preview.pk])
    page = owner_client.get(response["Location"]).content.decode()
    token = owner_client.session[PENDING_IMPORT]["token"]
    assert f'name="commit" value="{token}"' in page and "Import 3 transactions" in page
    assert 'name="symbol-1" value="JOB0.OL"' in page
    assert not Transaction.objects.exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(reverse("portfolios:import"), {"commit": token})
    job = ImportJob.objects.exclude(pk=preview.pk).get()
    assert not job.dry_run
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolios:import_job", args=[job.pk])
    assert not Transaction.objects.exists()  # nothing recorded in the request

    # While it waits: htmx polls every second; without JavaScript the page refreshes.
    page = owner_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "Waiting to start" in page
    partial = owner_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="import-job"' in partial

    for callback in callbacks:
        callback()
    page = owner_client.get(response["Location"]).content.decode()
    assert "Imported 3 transactions into Big." in page
    assert 'hx-trigger="every 1s"' not in page and "http-equiv" not in page
    batch = ImportBatch.objects.get()
    assert reverse("portfolios:import_undo", args=[batch.pk]) in page
    assert Transaction.objects.filter(import_batch=batch).count() == 3
    # The preview's page no longer offers a commit: the file was imported.
    page = owner_client.get(reverse("portfolios:import_job", args=[preview.pk])).content.decode()
    assert 'name="commit"' not in page


@pytest.mark.django_db
def test_html_changed_symbol_previews_again_as_a_job(
    small_jobs, owner_client, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(owner_client, portfolio, SMALL)
    first = ImportJob.objects.get()
    token = owner_client.session[PENDING_IMPORT]["token"]
    fields = {"commit": token, "key-1": "JOB0.OL", "was-1": "JOB0.OL", "symbol-1": "JOB2.OL"}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("portfolios:import"), fields)
    second = ImportJob.objects.exclude(pk=first.pk).get()
    # Not committed: what differs from the preview is previewed again.
    assert second.dry_run and second.symbol_overrides == {"JOB0.OL": "JOB2.OL"}
    assert response["Location"] == reverse("portfolios:import_job", args=[second.pk])
    assert second.result["instruments"][0]["ticker"] == "JOB2.OL"
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_html_progress_page_while_running(owner_client, portfolio):
    job = ImportJob.objects.create(
        user=portfolio.user,
        portfolio=portfolio,
        format="generic",
        status="running",
        phase="save",
        rows_total=50_000,
        rows_done=25_000,
    )
    page = owner_client.get(reverse("portfolios:import_job", args=[job.pk])).content.decode()
    # Saving is the third of three steps, half done: (200 + 50) / 3 = 83 %.
    assert '<progress max="100" value="83"' in page
    assert "Saving: 25000 of 50000 rows checked." in page


@pytest.mark.django_db
def test_a_preview_in_its_last_phase_says_checking_not_saving(owner_client, portfolio):
    # Regression: a dry run said "Saving: 0 of 5000 rows checked".
    job = ImportJob.objects.create(
        user=portfolio.user,
        portfolio=portfolio,
        format="generic",
        status="running",
        phase="save",
        dry_run=True,
        rows_total=5000,
        rows_done=0,
    )
    url = reverse("portfolios:import_job", args=[job.pk])
    page = owner_client.get(url).content.decode()
    assert "Checking (preview, nothing is saved): 0 of 5000 rows checked." in page
    assert "Saving" not in page and "Writing" not in page
    ImportJob.objects.filter(pk=job.pk).update(rows_done=5000)
    assert "Writing" not in owner_client.get(url).content.decode()
    norwegian = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    assert (
        "Kontrollerer (forhåndsvisning, ingenting lagres): 5000 av 5000 rader kontrollert."
        in norwegian
    )


@pytest.mark.django_db
def test_html_failed_job_says_why(owner_client, portfolio):
    job = ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, format="generic", status="failed", error="Boom."
    )
    page = owner_client.get(reverse("portfolios:import_job", args=[job.pk])).content.decode()
    assert "Boom." in page and 'hx-trigger="every 1s"' not in page


@pytest.mark.django_db
def test_html_small_commit_stays_in_the_request(
    small_jobs, settings, owner_client, portfolio, instruments
):
    settings.IMPORT_JOB_ROWS = 2000
    assert _upload(owner_client, portfolio, SMALL).status_code == 200  # a preview page
    token = owner_client.session[PENDING_IMPORT]["token"]
    response = owner_client.post(reverse("portfolios:import"), {"commit": token})
    assert response["Location"] == reverse("portfolios:detail", args=[portfolio.pk])
    assert not ImportJob.objects.exists() and Transaction.objects.count() == 3


@pytest.mark.django_db
def test_html_other_users_job_is_404(outsider_client, portfolio):
    job = ImportJob.objects.create(user=portfolio.user, portfolio=portfolio, format="generic")
    assert outsider_client.get(reverse("portfolios:import_job", args=[job.pk])).status_code == 404


# -- API ----------------------------------------------------------------------------------


def _post(api, portfolio, data, **fields):
    upload = SimpleUploadedFile("big.csv", data, content_type="text/csv")
    return api.post(
        "/api/v1/transactions/import-csv",
        {"file": upload, "portfolio": portfolio.pk, "format": "generic", **fields},
        format="multipart",
    )


@pytest.mark.django_db
def test_api_large_file_answers_202_and_the_job_is_polled(
    small_jobs, api, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(api, portfolio, SMALL)
    assert response.status_code == 202
    job = response.json()["job"]
    url = f"/api/v1/imports/jobs/{job['id']}"
    assert response["Location"] == url
    assert job["status"] == "queued" and job["result"] is None and job["progress"] == 0
    assert not Transaction.objects.exists()

    for callback in callbacks:
        callback()
    body = api.get(url).json()
    assert body["status"] == "done" and body["progress"] == 100
    assert body["rows_done"] == body["rows_total"] == 3
    result = body["result"]
    assert result["committed"] and result["counts"]["created"] == 3
    assert result["batch"] == body["batch"] == ImportBatch.objects.get().pk
    assert Transaction.objects.count() == 3


@pytest.mark.django_db
def test_api_large_dry_run_is_a_job_that_saves_nothing(
    small_jobs, api, portfolio, instruments, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, portfolio, SMALL, dry_run="true")
    assert response.status_code == 202
    job = api.get(response["Location"]).json()
    assert job["dry_run"] and job["status"] == "done"
    assert job["result"]["counts"]["will_create"] == 3
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_api_small_file_keeps_the_synchronous_answer(api, portfolio, instruments):
    response = _post(api, portfolio, SMALL)
    assert response.status_code == 201
    assert response.json()["counts"]["created"] == 3
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_api_other_users_job_is_404(outsider_api, portfolio):
    job = ImportJob.objects.create(user=portfolio.user, portfolio=portfolio, format="generic")
    assert_error(outsider_api.get(f"/api/v1/imports/jobs/{job.pk}"), 404)


@pytest.mark.django_db
def test_api_into_another_users_portfolio_is_refused(
    small_jobs, outsider_api, portfolio, instruments
):
    response = _post(outsider_api, portfolio, SMALL)
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_poll_only_reads_when_no_job_is_stale(portfolio, django_assert_num_queries):
    # A poll runs reap_stale: on SQLite a write would wait for the lock that a running
    # import holds (seen: polls of 5 to 20 s during a 50,000-row import).
    ImportJob.objects.create(
        user=portfolio.user, portfolio=portfolio, format="generic", status="running"
    )
    with django_assert_num_queries(1) as captured:
        assert jobs.reap_stale() == 0
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")
