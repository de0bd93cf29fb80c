"""A background import's page in a real browser: htmx polls it every second and shows the
result when the job is done, with no reload and nothing the Content-Security-Policy
blocks (issue 13 defect 7)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portfolios.models import ImportBatch, ImportJob
from tests.browser.conftest import log_in, screenshot
from tests.factories import PortfolioFactory


@pytest.mark.django_db(transaction=True)
def test_progress_page_polls_until_the_result(page, user):
    portfolio = PortfolioFactory(user=user, name="Big")
    job = ImportJob.objects.create(
        user=user,
        portfolio=portfolio,
        file_name="big.csv",
        format="generic",
        status=ImportJob.Status.RUNNING,
        phase="save",
        rows_total=50_000,
        rows_done=25_000,
    )
    log_in(page)
    page.goto(f"/imports/jobs/{job.pk}/")
    expect(page.locator("#import-job progress")).to_have_attribute("value", "83")
    expect(page.locator("#import-job")).to_contain_text("Saving: 25000 of 50000 rows checked.")
    screenshot(page, "import-job-running")

    # The job finishes (as a worker would write it): the page shows it within a poll.
    batch = ImportBatch.objects.create(
        user=user, portfolio=portfolio, file_name="big.csv", format="generic"
    )
    counts = {"created": 50_000, "duplicate": 0, "skipped": 0, "error": 0, "unchecked": 0}
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE,
        rows_done=50_000,
        batch=batch,
        result={"committed": True, "dry_run": False, "ok": True, "counts": counts, "errors": []},
    )
    expect(page.locator("#import-job")).to_contain_text(
        "Imported 50000 transactions into Big.", timeout=5_000
    )
    expect(page.locator(f'#import-job a[href="/imports/{batch.pk}/undo/"]')).to_be_visible()
    # Done: no more polling.
    expect(page.locator("#import-job")).not_to_have_attribute("hx-trigger", "every 1s")
    assert page.url.endswith(f"/imports/jobs/{job.pk}/")
    screenshot(page, "import-job-done")


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_page_refreshes_itself(browser, live_server, user):
    portfolio = PortfolioFactory(user=user, name="Big")
    job = ImportJob.objects.create(
        user=user, portfolio=portfolio, file_name="big.csv", format="generic"
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page)
        page.goto(f"/imports/jobs/{job.pk}/")
        expect(page.locator("#import-job")).to_contain_text("Waiting to start")
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error="The import never started."
        )
        # The <noscript> refresh (every 2 s) brings the news without a click.
        expect(page.locator("#import-job")).to_contain_text(
            "The import never started.", timeout=6_000
        )
    finally:
        context.close()
