"""The embedded default's database cache: Django's, with add and set_many in one statement."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from financedash.lib.cache import DatabaseCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def table_cache():
    return DatabaseCache("financedash_cache", {})


def test_add_stores_only_when_absent(table_cache):
    assert table_cache.add("lock", 1, 30) is True
    assert table_cache.add("lock", 2, 30) is False
    assert table_cache.get("lock") == 1


def test_add_replaces_an_expired_entry(table_cache):
    table_cache.set("lock", 1, -1)
    assert table_cache.add("lock", 2, 30) is True
    assert table_cache.get("lock") == 2


def test_set_many_writes_in_two_queries(table_cache, django_assert_num_queries):
    table_cache.set("a", "old")
    with django_assert_num_queries(2):
        table_cache.set_many({"a": "new", "b": {"x": 1}, "c": None}, 60)
    assert table_cache.get_many(["a", "b", "c"]) == {"a": "new", "b": {"x": 1}, "c": None}


def test_set_many_without_timeout_keeps_entries(table_cache):
    table_cache.set_many({"forever": 1}, None)
    assert table_cache.get("forever") == 1


def test_the_embedded_default_shares_the_table(settings):
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("REDIS_URL is set")
    assert isinstance(caches["default"], DatabaseCache)
    caches["default"].set("shared", 7)
    # Another process builds its own cache object over the same table.
    assert DatabaseCache("financedash_cache", {}).get("shared") == 7
