"""The generic format reads every row the export writes: splits and cash rows (an amount,
no instrument). The import refuses what the ledger services cannot record yet."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from portfolios.importers import generic

HEADER = "date,type,symbol,quantity,price,fees,currency,exchange_rate,amount,notes\n"


def parse(body: str):
    return generic.parse((HEADER + body).encode())


def test_cash_and_split_rows_parse():
    result = parse(
        '2024-01-02,DEPOSIT,,,,,,,"10000,50",salary\n'
        "2024-01-03,SPLIT,AAPL,4,,,USD,,,\n"
        "2024-01-04,INTEREST,,,,,,,0.35,\n"
    )
    assert not result.errors
    deposit, split, interest = result.rows
    assert (deposit.type, deposit.amount, deposit.symbol, deposit.notes) == (
        "DEPOSIT",
        Decimal("10000.50"),
        "",
        "salary",
    )
    assert (split.type, split.quantity, split.price, split.amount) == (
        "SPLIT",
        Decimal(4),
        Decimal(0),
        None,
    )
    assert interest.amount == Decimal("0.35")
    assert len({row.import_key for row in result.rows}) == 3


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("2024-01-02,DEPOSIT,,,,,,,,", "amount"),
        ("2024-01-02,WITHDRAWAL,,,,,,,-5,", "amount"),
        ("2024-01-02,FEE,EQNR.OL,,,,,,49,", "symbol"),
        ("2024-01-02,FEE,,,,10,,,49,", "fees"),
        ("2024-01-02,SPLIT,AAPL,0,,,USD,,,", "quantity"),
    ],
)
def test_bad_cash_and_split_rows_name_their_column(row, field):
    result = parse(row + "\n")
    assert [error.field for error in result.errors] == [field]


def test_trade_rows_keep_their_import_keys():
    """Re-importing a file imported before the amount column existed must still find its
    rows: a trade's key is the one the generic format always gave it."""
    result = generic.parse(
        b"date,type,symbol,quantity,price,fees\n2024-01-02,BUY,AAPL,5,172.5,15\n"
    )
    normalised = "2024-01-02|BUY|AAPL|5|172.5|15||"
    expected = hashlib.sha256(f"{normalised}#1".encode()).hexdigest()
    assert result.rows[0].import_key == f"generic:{expected}"
