"""Issue 13 hardening: Prometheus metrics at /metrics, only for a scraper with METRICS_TOKEN;
requests, queries, cache reads, market-data provider calls by outcome and Celery tasks."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import REGISTRY

from marketdata import resilience
from marketdata.providers import deadline
from marketdata.providers.base import ProviderUnavailable, UnknownSymbol
from tests.marketdata.conftest import FakeProvider, _fresh_breakers, provider  # noqa: F401

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token"


def calls(outcome: str, method: str = "get_quotes", name: str = "fake") -> float:
    value = REGISTRY.get_sample_value(
        "financedash_marketdata_provider_calls_total",
        {"provider": name, "method": method, "outcome": outcome},
    )
    return value or 0.0


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_no_token_configured_is_a_404_whatever_is_sent(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404
    assert client.get("/metrics?token=").status_code == 404


def test_a_wrong_or_missing_token_is_a_401(client, token):
    for headers, query in [
        ({}, ""),
        ({"HTTP_AUTHORIZATION": "Bearer wrong"}, ""),
        ({"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"}, ""),
        ({"HTTP_AUTHORIZATION": f"Basic {TOKEN}"}, ""),
        ({}, "?token=" + TOKEN[:-1]),
        ({}, "?token="),
    ]:
        response = client.get("/metrics" + query, **headers)
        assert response.status_code == 401, (headers, query)
        assert TOKEN.encode() not in response.content


def test_a_logged_in_user_without_the_token_gets_no_metrics(owner_client, token):
    assert owner_client.get("/metrics").status_code == 401


def test_the_right_token_gets_request_query_and_cache_metrics(client, owner_client, token):
    owner_client.get("/")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert 'django_http_requests_total_by_method_total{method="GET"}' in body
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
    assert 'django_http_responses_total_by_status_total{status="200"}' in body
    assert "django_db_execute_total" in body
    assert "django_cache_get_total" in body
    # The query-string form works too (for scrapers that cannot set a header).
    assert client.get(f"/metrics?token={TOKEN}").status_code == 200


def test_provider_calls_are_counted_by_outcome(client, token, provider, settings):  # noqa: F811
    settings.MARKETDATA_BREAKER_FAILURES = 2
    before = {o: calls(o) for o in ("ok", "error", "breaker_open")}
    resilience.call(provider, "get_quotes", ["EQNR.OL"])
    provider.error = ProviderUnavailable("down")
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            resilience.call(provider, "get_quotes", ["EQNR.OL"])
    # One answer; two failures (the second trips the breaker); one refusal by the open breaker.
    assert calls("ok") - before["ok"] == 1
    assert calls("error") - before["error"] == 2
    assert calls("breaker_open") - before["breaker_open"] == 1
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert (
        'financedash_marketdata_provider_calls_total{method="get_quotes",outcome="breaker_open",'
        'provider="fake"}' in body
    )
    assert "financedash_marketdata_provider_call_seconds_bucket" in body


def test_unknown_symbols_and_the_rate_limit_are_counted(provider, settings):  # noqa: F811
    before_missing, before_limited = calls("not_found", "get_info"), calls("rate_limited")
    # One call allowed per (very long) window: the first is an answer, the second refused.
    settings.MARKETDATA_RATE_LIMIT, settings.MARKETDATA_RATE_WINDOW = 1, 10**9
    provider.unknown = {"NOPE"}
    with pytest.raises(UnknownSymbol):
        resilience.call(provider, "get_info", "NOPE")
    with pytest.raises(ProviderUnavailable):
        resilience.call(provider, "get_quotes", ["EQNR.OL"])
    assert calls("not_found", "get_info") - before_missing == 1
    assert calls("rate_limited") - before_limited == 1


class HangingProvider(FakeProvider):
    name = "hanging"

    def __init__(self, release: threading.Event):
        super().__init__()
        self.release = release

    def get_quotes(self, symbols):
        return deadline.bounded(self.name, self.release.wait, 30)


def test_a_missed_deadline_is_a_timeout_and_the_next_call_is_busy(settings):
    settings.MARKETDATA_DEADLINE = 0.05
    release = threading.Event()
    hanging = HangingProvider(release)
    before_timeout = calls("timeout", name="hanging")
    before_busy = calls("busy", name="hanging")
    try:
        with pytest.raises(ProviderUnavailable):
            resilience.call(hanging, "get_quotes", ["EQNR.OL"])
        with pytest.raises(ProviderUnavailable):
            resilience.call(hanging, "get_quotes", ["EQNR.OL"])
    finally:
        release.set()
        assert deadline.wait_for_abandoned(5)
    assert calls("timeout", name="hanging") - before_timeout == 1
    assert calls("busy", name="hanging") - before_busy == 1


def test_celery_tasks_are_counted(settings):
    """apply() runs the task here, through the signals a worker sends around each task."""
    from portfolios import tasks

    name = "portfolios.tasks.refresh_quotes"

    def sample(state):
        return (
            REGISTRY.get_sample_value(
                "financedash_celery_tasks_total", {"task": name, "state": state}
            )
            or 0.0
        )

    started, succeeded = sample("started"), sample("succeeded")
    tasks.refresh_quotes.apply()
    assert sample("started") - started == 1
    assert sample("succeeded") - succeeded == 1
    assert REGISTRY.get_sample_value("financedash_celery_task_seconds_count", {"task": name})


def test_a_failed_celery_task_is_counted():
    from financedash.celery import app

    @app.task(name="tests.metrics.fails")
    def fails():
        raise ValueError("no")

    def sample(state):
        return (
            REGISTRY.get_sample_value(
                "financedash_celery_tasks_total", {"task": "tests.metrics.fails", "state": state}
            )
            or 0.0
        )

    failed, succeeded = sample("failed"), sample("succeeded")
    result = fails.apply(throw=False)
    assert isinstance(result.result, ValueError)
    assert sample("failed") - failed == 1
    assert sample("succeeded") - succeeded == 0
