from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from marketdata.models import HistoricalStockPrice
from portfolios.models import Holding, Transaction
from tests.factories import UserFactory

TINY = {"scale": 0.05, "years": 1, "username": "hh", "password": "pw"}


def _ledger() -> list[tuple]:
    return list(
        Transaction.objects.order_by(
            "portfolio__name", "holding__instrument__ticker", "date", "id"
        ).values_list(
            "portfolio__name",
            "holding__instrument__ticker",
            "date",
            "type",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
            "total_amount",
            "average_cost_at_transaction",
        )
    )


@pytest.mark.django_db
def test_seed_household_builds_the_same_household_every_time(capsys):
    call_command("seed_household", **TINY)
    # Scale 0.05: one or two holdings in each of the 10 portfolios, 20 transactions each.
    user = get_user_model().objects.get(username="hh")
    assert user.check_password("pw")
    holdings = Holding.objects.filter(portfolio__user=user).count()
    assert 10 <= holdings <= 20
    assert Transaction.objects.filter(portfolio__user=user).count() == 1000
    assert HistoricalStockPrice.objects.exists()
    first = _ledger()
    assert "Built the household of 'hh' at scale 0.05" in capsys.readouterr().out

    # The household itself is a user now: a second run needs --force, and rebuilds the same.
    with pytest.raises(CommandError, match="already has users \\(hh\\)"):
        call_command("seed_household", **TINY)
    call_command("seed_household", force=True, **TINY)
    assert _ledger() == first


@pytest.mark.django_db
def test_seed_household_refuses_a_database_with_other_users():
    UserFactory(username="alice")
    with pytest.raises(CommandError, match="already has users \\(alice\\)"):
        call_command("seed_household", **TINY)
    assert not Transaction.objects.exists()
    assert not HistoricalStockPrice.objects.exists()
    assert get_user_model().objects.count() == 1
