"""Django's SQLite backend, except that reading a decimal never fails.

SQLite keeps a DecimalField as a float, and Django quantizes it to the field's shape on
read: a value with more digits than the shape (stored before the services checked the
shape, or written by hand) raises decimal.InvalidOperation for every query that loads
the row, so one bad row took down each page, admin list and API call that touched it,
the DELETE that could remove it included. Such a value is read as the float's 15
significant digits instead; the pages then say which holding is out of shape
(portfolios.valuation), and the row can be fixed or deleted.
"""

from __future__ import annotations

import decimal

from django.db.backends.sqlite3 import base, operations
from django_prometheus.db.common import DatabaseWrapperMixin

_LOOSE = decimal.Context(prec=15)


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression):
        strict = super().get_decimalfield_converter(expression)

        def converter(value, expression, connection):
            try:
                return strict(value, expression, connection)
            except (decimal.InvalidOperation, TypeError):
                return _LOOSE.create_decimal(value)

        return converter


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """Also counts connections, queries and their duration for /metrics (django-prometheus's
    own SQLite engine would drop the converter above)."""

    ops_class = DatabaseOperations
    CURSOR_CLASS = base.SQLiteCursorWrapper
