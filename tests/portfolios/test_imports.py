from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest

from marketdata.models import Instrument
from portfolios import services
from portfolios.importers.base import decode, parse_decimal
from portfolios.imports import import_transactions
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

D = Decimal
MAR = dt.date(2024, 3, 1)
FIGURES = ("quantity", "average_cost", "total_cost", "realized_gain", "dividends", "fees")
SAMPLE = Path(__file__).parent.parent / "fixtures" / "nordnet-transactions-no.csv"


SAMPLE_HEADER = (
    "Id\tBokføringsdag\tHandelsdag\tOppgjørsdag\tPortefølje\tTransaksjonstype\tVerdipapir\t"
    "ISIN\tAntall\tKurs\tRente\tTotale Avgifter\tValuta\tBeløp\tValuta\tKjøpsverdi\tValuta\t"
    "Resultat\tValuta\tTotalt antall\tSaldo\tVekslingskurs\tTransaksjonstekst\t"
    "Makuleringsdato\tSluttseddelnummer\tVerifikationsnummer\tKurtasje\tValuta\tValutakurs\t"
    "Innledende rente"
)


@pytest.fixture(autouse=True)
def _stored_market_data_only(settings):
    # Symbols resolve from stored instruments only: no test reaches Yahoo.
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Nordnet ASK", currency="NOK")


@pytest.fixture
def instruments(db):
    return {
        "EQNR.OL": InstrumentFactory(ticker="EQNR.OL", isin="NO0010096985"),
        "ORK.OL": InstrumentFactory(ticker="ORK.OL", isin="NO0003733800"),
        "NHY.OL": InstrumentFactory(ticker="NHY.OL", isin="NO0005052605"),
        "AAPL": InstrumentFactory(
            ticker="AAPL", company_name="Apple Inc.", exchange="NMS", currency="USD"
        ),
    }


@pytest.fixture
def sample() -> bytes:
    return SAMPLE.read_bytes()


def run(portfolio, data: bytes | str, *, format: str = "generic", dry_run: bool = False):
    if isinstance(data, str):
        data = data.encode()
    return import_transactions(portfolio=portfolio, data=data, format=format, dry_run=dry_run)


def statuses(result) -> dict[int, str]:
    return {row.line: row.status for row in result.rows}


def holding(portfolio, ticker: str) -> Holding:
    return Holding.objects.get(portfolio=portfolio, instrument__ticker=ticker)


# -- the Nordnet sample -----------------------------------------------------------------


def test_a_dry_run_reports_everything_and_saves_nothing(portfolio, instruments, sample):
    result = run(portfolio, sample, format="nordnet", dry_run=True)
    assert result.ok and not result.committed
    assert result.counts == {
        "created": 13,
        "duplicate": 0,
        "skipped": 2,
        "error": 0,
        "unchecked": 0,
    }
    assert [row.line for row in result.rows] == list(range(2, 17))
    assert result.created_ids == []
    assert all(row.transaction_id is None for row in result.rows)
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()
    portfolio.refresh_from_db()
    assert not portfolio.track_cash  # switched on only by an import that commits


def test_a_commit_saves_every_row(portfolio, instruments, sample):
    result = run(portfolio, sample, format="nordnet")
    assert result.ok and result.committed
    assert result.counts["created"] == 13
    saved = Transaction.objects.filter(portfolio=portfolio)
    assert sorted(result.created_ids) == sorted(saved.values_list("pk", flat=True))

    equinor = holding(portfolio, "EQNR.OL")
    # 40 @ 352.10 + 49 and 20 @ 290.55 + 49, less the 180.72 dividend; 25 sold of 60.
    assert equinor.quantity == D("35")
    assert equinor.dividends == D("180.72")
    assert equinor.total_cost == D("11557.1633")
    assert equinor.realized_gain == D("905.8833")
    assert holding(portfolio, "ORK.OL").quantity == D("60")
    assert holding(portfolio, "NHY.OL").quantity == D("150")  # the cancelled purchase is out

    apple = holding(portfolio, "AAPL")
    assert apple.quantity == D("20")
    assert apple.dividends == D("26.4398")  # 12 x 0.24 x 10.802, less 4.67 withheld
    dividend = saved.get(import_key="nordnet:300007")
    assert (dividend.type, dividend.fees, dividend.exchange_rate) == (
        "DIVIDEND",
        D("4.67"),
        D("10.802"),
    )
    first = saved.get(import_key="nordnet:300003")
    assert first.total_amount == D("15240.7324")  # Nordnet booked 15 240,73
    assert result.rows[12].transaction_id == first.pk  # line 14


def test_it_books_exactly_what_record_transaction_would(owner, instruments, sample):
    imported = PortfolioFactory(user=owner, name="Imported")
    run(imported, sample, format="nordnet")
    by_hand = PortfolioFactory(user=owner, name="By hand")
    by_hand.track_cash = True
    services.save_portfolio(by_hand)
    for txn in Transaction.objects.filter(portfolio=imported).order_by("date", "id"):
        if txn.holding_id is None:
            services.record_transaction(
                portfolio=by_hand, type=txn.type, date=txn.date, amount=txn.total_amount
            )
            continue
        services.record_transaction(
            portfolio=by_hand,
            instrument=txn.holding.instrument,
            **{field: getattr(txn, field) for field in services.EDITABLE_FIELDS},
        )

    def books(portfolio):
        holdings = {
            h.instrument.ticker: [getattr(h, f) for f in FIGURES]
            for h in Holding.objects.filter(portfolio=portfolio).select_related("instrument")
        }
        derived = list(
            Transaction.objects.filter(portfolio=portfolio)
            .order_by("date", "id")
            .values_list("total_amount", "average_cost_at_transaction")
        )
        return holdings, derived, Portfolio.objects.get(pk=portfolio.pk).cash_balance

    assert books(imported) == books(by_hand)


def test_importing_the_same_file_again_creates_nothing(portfolio, instruments, sample):
    run(portfolio, sample, format="nordnet")
    again = run(portfolio, sample, format="nordnet")
    assert again.ok and again.committed
    assert again.counts == {
        "created": 0,
        "duplicate": 13,
        "skipped": 2,
        "error": 0,
        "unchecked": 0,
    }
    assert Transaction.objects.filter(portfolio=portfolio).count() == 13


def test_import_keys_are_per_portfolio(owner, portfolio, instruments, sample):
    run(portfolio, sample, format="nordnet")
    other = PortfolioFactory(user=owner, name="Other", currency="NOK")
    assert run(other, sample, format="nordnet").counts["created"] == 13


def test_the_imported_cash_equals_the_files_saldo(portfolio, instruments, sample):
    # The newest row (line 2, Id 300015) has Saldo 33 005,75: the account's cash after
    # every booking, which the import reproduces to the øre (its fees follow the booked
    # amounts; each booking moves the cash by whole øre).
    header, newest = (line.split("\t") for line in decode(sample).splitlines()[:2])
    saldo = parse_decimal(newest[header.index("Saldo")])
    assert (newest[0], saldo) == ("300015", D("33005.75"))
    result = run(portfolio, sample, format="nordnet")
    assert result.committed
    portfolio.refresh_from_db()
    assert portfolio.track_cash  # an import into an empty portfolio turns cash on
    assert portfolio.cash_balance == saldo


def test_cash_rows_into_a_portfolio_with_trades_but_no_cash_are_skipped(
    portfolio, instruments, sample
):
    services.record_transaction(
        portfolio=portfolio, instrument=instruments["EQNR.OL"], type="BUY",
        date=dt.date(2022, 12, 1), quantity=D(1), price=D(300),
    )  # fmt: skip
    result = run(portfolio, sample, format="nordnet")
    assert result.committed
    cash_lines = {2, 8, 16}
    assert {r.line for r in result.rows if r.status == "skipped"} >= cash_lines
    assert all("does not track cash" in r.message for r in result.rows if r.line in cash_lines)
    portfolio.refresh_from_db()
    assert (portfolio.track_cash, portfolio.cash_balance) == (False, 0)


def test_a_file_booked_in_another_currency_is_refused(owner, instruments, sample):
    swedish_kroner = PortfolioFactory(user=owner, currency="SEK")
    result = run(swedish_kroner, sample, format="nordnet")
    assert not result.ok and not result.committed
    errors = [e for e in result.errors if e.line == 3]
    assert [e.field for e in errors] == ["currency"]
    assert "books this row in NOK" in errors[0].message
    assert not Transaction.objects.exists()


def test_a_fund_nordnet_names_is_matched_by_isin_once_stored(portfolio, db):
    row = "\t".join(
        ["1", "2024-01-02", "2024-01-02", "2024-01-04", "1", "KJØPT", "KLP AksjeGlobal Indeks P",
         "NO0010778095", "3,5", "2 850,12", "", "0,00", "NOK", "-9 975,42", "NOK"] + [""] * 6
        + ["1,0000"] + [""] * 8
    )  # fmt: skip
    data = f"{SAMPLE_HEADER}\n{row}\n".encode("utf-16")
    unknown = run(portfolio, data, format="nordnet")
    [error] = unknown.errors
    assert (error.line, error.field) == (2, "symbol")
    assert "KLP-AKSJEGLOBAL-INDEKS-P.OL" in error.message and "NO0010778095" in error.message
    # No instrument is invented from a name.
    assert not Instrument.objects.exists()

    fund = InstrumentFactory(ticker="0P0001CRZW.IR", isin="NO0010778095", currency="NOK")
    result = run(portfolio, data, format="nordnet")
    assert result.committed
    assert holding(portfolio, fund.ticker).quantity == D("3.5")


# -- all or nothing ---------------------------------------------------------------------

OVERSELL = """\
date,type,symbol,quantity,price
2024-01-02,BUY,EQNR.OL,10,300
2024-01-03,BUY,ORK.OL,5,80
2024-01-04,SELL,EQNR.OL,20,310
2024-01-05,SELL,ORK.OL,5,85
2024-01-06,BUY,EQNR.OL,1,300
"""


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_oversell_rolls_everything_back_and_names_its_line(portfolio, instruments, dry_run):
    result = run(portfolio, OVERSELL, dry_run=dry_run)
    assert not result.ok and not result.committed
    [error] = result.errors
    assert (error.line, error.field) == (4, "quantity")
    assert error.message == "Cannot sell 20 shares on 2024-01-04: only 10 held at that date."
    assert statuses(result) == {
        2: "created",
        3: "created",
        4: "error",
        5: "created",  # another holding: checked, and would be created
        6: "unchecked",  # after the failure in the same holding
    }
    assert result.created_ids == []
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_an_oversell_against_stored_transactions(portfolio, instruments):
    record(portfolio, instruments["EQNR.OL"], quantity="5", price="300")
    result = run(portfolio, "date,type,symbol,quantity,price\n2024-02-01,SELL,EQNR.OL,6,1\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "quantity")]
    assert holding(portfolio, "EQNR.OL").quantity == D("5")


def test_a_sale_that_makes_a_stored_later_sale_oversell_is_named(portfolio, instruments):
    equinor = instruments["EQNR.OL"]
    record(portfolio, equinor, quantity="10", price="300")
    later = record(portfolio, equinor, "SELL", quantity="10", price="320", date=MAR)
    text = (
        "date,type,symbol,quantity,price\n"
        "2024-01-05,BUY,EQNR.OL,1,1\n"
        "2024-02-01,SELL,EQNR.OL,5,310\n"
    )
    result = run(portfolio, text)
    assert statuses(result) == {2: "created", 3: "error"}
    [error] = result.errors
    assert (error.line, error.field) == (3, "quantity")
    assert f"(transaction #{later.pk})" in error.message
    assert Transaction.objects.count() == 2


def test_a_value_out_of_range_names_its_line_and_field(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price\n"
        "2024-01-02,BUY,EQNR.OL,1,300\n"
        "2024-01-03,BUY,EQNR.OL,1,300.1234567\n"
        "2024-01-04,BUY,EQNR.OL,1,300\n"
    )
    result = run(portfolio, text)
    assert statuses(result) == {2: "created", 3: "error", 4: "unchecked"}
    [error] = result.errors
    assert (error.line, error.field) == (3, "price")
    assert "decimal places" in error.message
    assert not Transaction.objects.exists()


def test_rows_are_recorded_in_date_order_whatever_the_file_order(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price\n"
        "2024-03-01,SELL,EQNR.OL,10,320\n"
        "2024-01-02,BUY,EQNR.OL,10,300\n"
    )
    result = run(portfolio, text)
    assert result.committed
    assert holding(portfolio, "EQNR.OL").realized_gain == D("200")


def test_an_unknown_symbol_is_a_row_error(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price\n2024-01-02,BUY,EQNR.OL,1,300\n2024-01-02,BUY,NOPE,1,1\n"
    )
    result = run(portfolio, text)
    assert statuses(result) == {2: "created", 3: "error"}
    [error] = result.errors
    assert (error.line, error.field) == (3, "symbol")
    assert error.message.startswith("Unknown symbol NOPE.")
    assert not Transaction.objects.exists()


def test_a_generic_row_with_a_currency_adds_an_instrument_the_provider_lacks(portfolio, db):
    result = run(
        portfolio, "date,type,symbol,quantity,price,currency\n2024-01-02,BUY,FUND1,2,100,NOK\n"
    )
    assert result.committed
    assert Instrument.objects.get(ticker="FUND1").currency == "NOK"


def test_a_currency_contradicting_the_instrument_is_a_row_error(portfolio, instruments):
    result = run(
        portfolio, "date,type,symbol,quantity,price,currency\n2024-01-02,BUY,AAPL,1,100,NOK\n"
    )
    [error] = result.errors
    assert (error.line, error.field) == (2, "currency")
    assert "AAPL" in error.message and "USD" in error.message


def test_a_parse_error_stops_before_anything_is_resolved(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price\n2024-01-02,BUY,EQNR.OL,1,300\n2024-01-02,BUY,NOPE,x,1\n"
    )
    result = run(portfolio, text)
    assert statuses(result) == {2: "unchecked", 3: "error"}
    assert [(e.line, e.field) for e in result.errors] == [(3, "quantity")]


def test_a_row_repeated_in_the_file_by_id_is_a_duplicate(portfolio, instruments, sample):
    lines = decode(sample).splitlines()
    data = "\n".join([*lines, lines[2]]).encode("utf-16")  # the EQNR sale again, as line 17
    result = run(portfolio, data, format="nordnet")
    assert result.committed
    assert statuses(result)[17] == "duplicate"
    assert result.rows[-1].message == "The same transaction as line 3."


# -- exchange rates ---------------------------------------------------------------------


def test_a_missing_exchange_rate_defaults_to_the_stored_one(portfolio, instruments):
    HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", rate=D("10.5"))
    text = (
        "date,type,symbol,quantity,price\n2024-01-03,BUY,AAPL,2,100\n2024-01-03,BUY,EQNR.OL,1,300\n"
    )
    result = run(portfolio, text)
    assert result.committed
    apple, equinor = (
        Transaction.objects.get(holding__instrument__ticker=t) for t in ("AAPL", "EQNR.OL")
    )
    assert apple.exchange_rate == D("10.5")  # the close of 2024-01-02, the day before
    assert apple.total_amount == D("2100")
    assert equinor.exchange_rate == D("1")


def test_an_exchange_rate_nowhere_to_be_found_is_a_row_error(portfolio, instruments):
    result = run(portfolio, "date,type,symbol,quantity,price\n2024-01-03,BUY,AAPL,2,100\n")
    [error] = result.errors
    assert (error.line, error.field) == (2, "exchange_rate")
    assert error.message.startswith("No exchange rate USD->NOK")
    assert not Transaction.objects.exists()


def test_an_exchange_rate_for_a_portfolio_currency_instrument_must_be_one(portfolio, instruments):
    text = "date,type,symbol,quantity,price,exchange_rate\n2024-01-03,BUY,EQNR.OL,1,300,10.5\n"
    [error] = run(portfolio, text).errors
    assert (error.line, error.field) == (2, "exchange_rate")


def test_a_16_digit_rate_in_the_file_is_rounded(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price,exchange_rate\n"
        "2024-01-03,BUY,AAPL,10,100,0.9941099999999999\n"
    )
    assert run(portfolio, text).committed
    txn = Transaction.objects.get()
    assert txn.exchange_rate == D("0.9941100000")
    assert txn.total_amount == D("994.11")  # 10 x 100 x 0.99411


def test_a_missing_rate_is_fetched_from_the_provider(portfolio, instruments, provider):
    provider.closes["USDNOK=X"] = {dt.date(2024, 1, 3): D("10.2345")}
    result = run(portfolio, "date,type,symbol,quantity,price\n2024-01-03,BUY,AAPL,2,100\n")
    assert result.committed
    assert Transaction.objects.get().exchange_rate == D("10.2345")


# -- issue 8: the services' rules, row by row --------------------------------------------


def test_a_too_large_row_is_a_row_error_and_nothing_is_imported(portfolio, instruments):
    text = (
        "date,type,symbol,quantity,price\n"
        "2024-01-02,BUY,ORK.OL,1,80\n"
        "2024-01-03,BUY,EQNR.OL,2000000,60000\n"
    )
    result = run(portfolio, text)
    assert not result.committed
    [error] = result.errors
    assert (error.line, error.field) == (3, "quantity")
    assert error.message == (
        "The amount 120,000,000,000 NOK exceeds the largest amount the ledger stores "
        "(99,999,999,999.9999)."
    )
    assert not Transaction.objects.exists()


def test_a_row_that_takes_a_stored_holding_past_the_column_is_named(portfolio, instruments):
    record(portfolio, instruments["EQNR.OL"], quantity="600000", price="100000")
    text = "date,type,symbol,quantity,price\n2024-02-01,BUY,EQNR.OL,600000,100000\n"
    [error] = run(portfolio, text).errors
    assert (error.line, error.field) == (2, "quantity")
    assert error.message.startswith("The total cost 120,000,000,000 NOK exceeds")
    assert Transaction.objects.count() == 1


def test_a_dividend_on_shares_never_held_is_a_row_error(portfolio, instruments):
    text = "date,type,symbol,quantity,price\n2024-01-03,DIVIDEND,EQNR.OL,100,5\n"
    [error] = run(portfolio, text).errors
    assert (error.line, error.field) == (2, "quantity")
    assert error.message == (
        "Cannot book a dividend on 100 shares on 2024-01-03: no shares were held by that date."
    )
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("day", ["1899-12-31", "0001-01-01", "2999-01-01"])
def test_a_date_outside_1900_to_today_is_a_row_error(portfolio, instruments, day):
    # A foreign row too: no rate is looked up for a date no trade may have.
    text = f"date,type,symbol,quantity,price\n{day},BUY,AAPL,1,100\n{day},BUY,EQNR.OL,1,100\n"
    result = run(portfolio, text)
    assert [(e.line, e.field) for e in result.errors] == [(2, "date"), (3, "date")]
    assert not Transaction.objects.exists()


def test_an_unknown_format_is_refused(portfolio):
    with pytest.raises(ValueError, match="Unknown format 'avanza'"):
        run(portfolio, b"", format="avanza")


# -- speed ------------------------------------------------------------------------------


def test_a_2000_row_import_commits_every_row(portfolio, db):
    symbols = [InstrumentFactory(ticker=f"BULK{n}.OL").ticker for n in range(20)]
    start = dt.date(2015, 1, 1)
    lines = ["date,type,symbol,quantity,price,fees"]
    for n in range(2000):
        symbol = symbols[n % 20]
        day = start + dt.timedelta(days=n // 4)
        # Every fifth row per symbol sells part of what the previous four bought.
        kind, quantity = ("SELL", 15) if (n // 20) % 5 == 4 else ("BUY", 10)
        lines.append(f"{day},{kind},{symbol},{quantity},{100 + n % 37}.25,29")
    data = "\n".join(lines).encode()

    began = time.perf_counter()
    result = run(portfolio, data)
    elapsed = time.perf_counter() - began
    print(f"\n2,000-row generic import: {elapsed:.2f} s")
    assert result.committed and result.counts["created"] == 2000
    assert Transaction.objects.filter(portfolio=portfolio).count() == 2000
