"""The shipped tax rates (migration 0007) as a fixture: a test that runs after a
transactional one (the browser tests, for one) finds the table flushed, so the tests that
rely on the published figures load them again through the migration's own function."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps


@pytest.fixture
def published_rates(db):
    migration = importlib.import_module("portfolios.migrations.0008_published_tax_rates")
    migration.ship(apps, None)
    importlib.import_module("portfolios.migrations.0011_shielding_rate_2024").ship(apps, None)
    return migration.PUBLISHED
