"""The embedded default's cache: Django's database cache (shared by every process that uses
the database, unlike per-process memory), with set_many written in one statement.

Django's own set_many stores key by key, five queries each; a page that refreshes fifty
quotes (each kept as the fresh quote and as the last known one) would run five hundred.
"""

from __future__ import annotations

import base64
import pickle
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.db import connections, router
from django.utils.connection import ConnectionProxy
from django.utils.timezone import now as tz_now
from django_prometheus.cache.metrics import (
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

# Results keyed by version stamps (settings.CACHES["results"]); like django.core.cache.cache,
# a proxy, so a settings override in tests reaches it.
results = ConnectionProxy(caches, "results")


_MISSING = object()


class CountedGets:
    """Counts reads, hits and misses in django-prometheus's cache metrics (its own backends
    exist for Redis, which settings use, but its LocMemCache returns the default for any
    falsy cached value, such as an empty series)."""

    metrics_label = ""

    def get(self, key, default=None, version=None):
        django_cache_get_total.labels(backend=self.metrics_label).inc()
        value = super().get(key, _MISSING, version=version)
        if value is _MISSING:
            django_cache_misses_total.labels(backend=self.metrics_label).inc()
            return default
        django_cache_hits_total.labels(backend=self.metrics_label).inc()
        return value


class LocMemCache(CountedGets, DjangoLocMemCache):
    metrics_label = "locmem"


class DatabaseCache(CountedGets, DjangoDatabaseCache):
    metrics_label = "database"

    def _expiry(self, connection, timeout):
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            expires = datetime.max
        else:
            expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        return connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """One statement, atomic on both databases: the quote fetch takes one such lock per
        symbol."""
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        quote = connection.ops.quote_name
        table, key_column, value_column, expires_column = map(
            quote, (self._table, "cache_key", "value", "expires")
        )
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0))
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        with connection.cursor() as cursor:
            # An expired entry counts as absent, as in Django's own add.
            cursor.execute(
                f"INSERT INTO {table} ({key_column}, {value_column}, {expires_column}) "
                f"VALUES (%s, %s, %s) ON CONFLICT ({key_column}) DO UPDATE SET "
                f"{value_column} = excluded.{value_column}, "
                f"{expires_column} = excluded.{expires_column} "
                f"WHERE {table}.{expires_column} < %s",
                [key, encoded, self._expiry(connection, timeout), now],
            )
            return cursor.rowcount == 1

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Two queries instead of Django's five (count, savepoint, select, write, release).
        self.set_many({key: value}, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        if not data:
            return []
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        expires = self._expiry(connection, timeout)
        params = []
        for key, value in data.items():
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            params += [self.make_and_validate_key(key, version=version), encoded, expires]
        quote = connection.ops.quote_name
        key_column, value_column, expires_column = map(quote, ("cache_key", "value", "expires"))
        rows = ", ".join(["(%s, %s, %s)"] * len(data))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {quote(self._table)}")
            count = cursor.fetchone()[0]
            if count > self._max_entries:
                self._cull(db, cursor, tz_now().replace(microsecond=0), count)
            # One upsert; SQLite (3.24+) and PostgreSQL share the syntax.
            cursor.execute(
                f"INSERT INTO {quote(self._table)} ({key_column}, {value_column}, "
                f"{expires_column}) VALUES {rows} ON CONFLICT ({key_column}) DO UPDATE SET "
                f"{value_column} = excluded.{value_column}, "
                f"{expires_column} = excluded.{expires_column}",
                params,
            )
        return []
