"""Nordnet's split pair (SPLITT UTTAK VP + SPLITT INNLEGG VP) becomes one SPLIT."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolios.importers import nordnet
from portfolios.imports import import_transactions
from portfolios.models import Holding, Transaction
from tests.factories import InstrumentFactory, PortfolioFactory

D = Decimal

HEADER = (
    "Id\tBokføringsdag\tHandelsdag\tOppgjørsdag\tPortefølje\tTransaksjonstype\tVerdipapir\t"
    "ISIN\tAntall\tKurs\tRente\tTotale Avgifter\tValuta\tBeløp\tValuta\tKjøpsverdi\tValuta\t"
    "Resultat\tValuta\tTotalt antall\tSaldo\tVekslingskurs\tTransaksjonstekst\tMakuleringsdato\t"
    "Sluttseddelnummer\tVerifikationsnummer\tKurtasje\tValuta\tValutakurs\tInnledende rente"
)


def row(id, day, kind, security, isin, qty, price="", amount="", verification=""):
    fees = "0,00" if price else ""
    return "\t".join(
        [
            id, day, day, day, "12345678", kind, security, isin, qty, price, "", fees,
            "NOK" if fees else "", amount, "NOK", "", "", "", "", "", "",
            "1,0000" if price else "", "", "", "", verification, "", "", "", "",
        ]
    )  # fmt: skip


def parse(*rows):
    return nordnet.parse("\n".join([HEADER, *rows]).encode())


EQNR = ("EQNR", "NO0010096985")


def test_a_two_for_one_pair_becomes_one_split_on_the_bought_holding():
    result = parse(
        row("3", "2024-02-01", "SPLITT INNLEGG VP", *EQNR, "20"),
        row("2", "2024-02-01", "SPLITT UTTAK VP", *EQNR, "-10"),
        row("1", "2024-01-02", "KJØPT", *EQNR, "10", "100", "-1 000,00"),
    )
    assert result.errors == []
    buy, split = result.rows
    assert (split.type, split.date.isoformat(), split.quantity) == ("SPLIT", "2024-02-01", D("2"))
    # The same symbol, currency and ISIN as the buy: the same holding.
    assert (split.symbol, split.currency, split.isin) == (buy.symbol, buy.currency, buy.isin)
    assert (split.price, split.fees) == (0, 0)
    assert split.import_key == "nordnet:2+3"
    assert [(s.line, s.reason) for s in result.skipped] == [
        (2, "The new shares of the split on line 3.")
    ]


def test_a_reverse_split_with_a_new_isin_pairs_by_verification_number():
    # 1-for-10: 1000 old shares out (old ISIN), 100 new in (new ISIN): factor 0.1
    result = parse(
        row("1", "2024-01-02", "KJØPT", "ABC", "NO0000000018", "1000", "2", "-2 000,00"),
        row("2", "2024-02-01", "SPLITT UTTAK VP", "ABC", "NO0000000018", "1000", verification="77"),
        row("3", "2024-02-01", "SPLITT INNLEGG VP", "ABC NY", "NO0000000026", "100",
            verification="77"),
    )  # fmt: skip
    split = result.rows[-1]
    assert (split.type, split.quantity, split.symbol) == ("SPLIT", D("0.1"), "ABC.OL")


def test_a_leg_without_its_partner_is_skipped_with_a_reason():
    result = parse(row("2", "2024-02-01", "SPLITT UTTAK VP", *EQNR, "10"))
    assert result.rows == [] and result.errors == []
    assert "without its other half" in result.skipped[0].reason


def test_a_factor_the_ledger_cannot_store_is_an_error():
    # 3 new for 7 old: 0.428571428..., more decimals than the quantity column keeps
    result = parse(
        row("2", "2024-02-01", "SPLITT UTTAK VP", *EQNR, "7"),
        row("3", "2024-02-01", "SPLITT INNLEGG VP", *EQNR, "3"),
    )
    assert "record it by hand" in result.errors[0].message


@pytest.mark.django_db
def test_importing_the_pair_splits_the_holding(settings, owner):
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    InstrumentFactory(ticker="EQNR.OL", currency="NOK", isin="NO0010096985")
    data = "\n".join(
        [
            HEADER,
            row("4", "2024-03-01", "SALG", *EQNR, "15", "60", "900,00"),
            row("3", "2024-02-01", "SPLITT INNLEGG VP", *EQNR, "20"),
            row("2", "2024-02-01", "SPLITT UTTAK VP", *EQNR, "10"),
            row("1", "2024-01-02", "KJØPT", *EQNR, "10", "100", "-1 000,00"),
        ]
    ).encode()
    result = import_transactions(portfolio=portfolio, data=data, format="nordnet", dry_run=False)
    assert result.committed, result
    # 10 at 100 (1000), 2:1 -> 20 at 50; 15 sold at 60: 900 - 750 = 150 realized; 5 left
    holding = Holding.objects.get(portfolio=portfolio)
    assert (holding.quantity, holding.average_cost, holding.realized_gain) == (
        D("5"),
        D("50"),
        D("150"),
    )
    assert Transaction.objects.filter(type="SPLIT").count() == 1


@pytest.mark.django_db
def test_a_generic_csv_split_row_imports(settings, owner):
    # What an export writes for a split: quantity = factor, price 0. 10 at 100 -> 20 at 50.
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    data = (
        b"date,type,symbol,quantity,price,fees\n"
        b"2024-01-02,BUY,EQNR.OL,10,100,0\n"
        b"2024-02-01,SPLIT,EQNR.OL,2,0,0\n"
    )
    result = import_transactions(portfolio=portfolio, data=data, format="generic", dry_run=False)
    assert result.committed, result
    holding = Holding.objects.get(portfolio=portfolio)
    assert (holding.quantity, holding.average_cost) == (D("20"), D("50"))
