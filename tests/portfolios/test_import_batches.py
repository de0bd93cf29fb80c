"""Imports through the database: auto-detection, Ghostfolio, symbol choices remembered by
ISIN, the preview's holdings before/after, ImportBatch and undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from portfolios import services
from portfolios.importers.base import decode
from portfolios.imports import import_transactions
from portfolios.models import Holding, ImportBatch, SymbolChoice, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)
from tests.portfolios.test_import_formats import swedish_export
from tests.portfolios.test_imports import SAMPLE_HEADER

D = Decimal
FIXTURES = Path(__file__).parent.parent / "fixtures"
NORDNET = (FIXTURES / "nordnet-transactions-no.csv").read_bytes()
GHOSTFOLIO = (FIXTURES / "ghostfolio-export.json").read_bytes()
FIGURES = ("quantity", "average_cost", "total_cost", "realized_gain", "dividends", "fees")
TRADES = b"""date,type,symbol,quantity,price,fees
2024-02-01,BUY,EQNR.OL,10,300,29
2024-03-01,SELL,EQNR.OL,4,320,29
2024-03-05,BUY,ORK.OL,20,75,19
"""


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Brokerage", currency="NOK")


@pytest.fixture
def instruments(db):
    return {
        "EQNR.OL": InstrumentFactory(ticker="EQNR.OL", isin="NO0010096985", currency="NOK"),
        "ORK.OL": InstrumentFactory(ticker="ORK.OL", isin="NO0003733800", currency="NOK"),
        "NHY.OL": InstrumentFactory(ticker="NHY.OL", isin="NO0005052605", currency="NOK"),
        "DNB.OL": InstrumentFactory(ticker="DNB.OL", currency="NOK"),
        "AAPL": InstrumentFactory(ticker="AAPL", currency="USD"),
        "MSFT": InstrumentFactory(ticker="MSFT", currency="USD"),
    }


def run(portfolio, data: bytes, **options):
    options.setdefault("format", "auto")
    options.setdefault("dry_run", False)
    return import_transactions(portfolio=portfolio, data=data, **options)


def figures(portfolio) -> dict[str, list]:
    return {
        h.instrument.ticker: [getattr(h, name) for name in FIGURES]
        for h in Holding.objects.filter(portfolio=portfolio).select_related("instrument")
    }


# -- auto-detection -------------------------------------------------------------------------


def test_a_nordnet_file_with_the_default_format_is_read_as_nordnet(portfolio, instruments):
    # Regression: the default format was generic, and a Nordnet file failed on its header.
    result = run(portfolio, NORDNET)
    assert (result.format, result.detected) == ("nordnet", True)
    assert result.detection == "Nordnet's Norwegian column names"
    assert result.ok and result.committed
    assert result.counts["created"] == 13  # 10 trades and dividends, 3 cash entries
    assert Holding.objects.get(portfolio=portfolio, instrument__ticker="EQNR.OL").quantity == 35


def test_a_nordnet_file_saved_again_as_utf8_imports_the_same(owner, instruments):
    original, resaved = (PortfolioFactory(user=owner, name=name) for name in ("A", "B"))
    run(original, NORDNET)
    result = run(resaved, decode(NORDNET).replace("\t", ";").encode("utf-8-sig"))
    assert result.format == "nordnet" and result.committed
    assert figures(resaved) == figures(original)


def test_a_swedish_nordnet_file_is_detected(owner, db):
    InstrumentFactory(ticker="VOLV-B.ST", currency="SEK")
    kronor = PortfolioFactory(user=owner, currency="SEK")
    result = run(kronor, swedish_export())
    assert (result.format, result.detection) == ("nordnet", "Nordnet's Swedish column names")
    assert result.committed and result.counts["created"] == 1


def test_an_unrecognised_file_imports_nothing_and_says_why(portfolio):
    result = run(portfolio, b"when,what\n2024-01-01,BUY\n")
    assert not result.ok and not result.committed
    [error] = result.errors
    assert (error.line, error.field) == (1, "format")
    assert "Could not tell the file's format" in error.message
    assert not ImportBatch.objects.exists()


def test_a_chosen_format_is_not_second_guessed(portfolio, instruments):
    result = run(portfolio, NORDNET, format="generic")
    assert (result.format, result.detected) == ("generic", False)
    assert not result.ok  # the generic parser refuses Nordnet's columns


# -- Ghostfolio -----------------------------------------------------------------------------


@pytest.fixture
def usd_rates(db):
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 3), rate=D("10.2"))
    HistoricalExchangeRateFactory(date=dt.date(2024, 2, 15), rate=D("10.5"))


def test_a_ghostfolio_export_imports_its_trades_dividends_and_cash(
    portfolio, instruments, usd_rates
):
    portfolio.track_cash = True  # the user's choice: a Ghostfolio file never switches it on
    services.save_portfolio(portfolio)
    result = run(portfolio, GHOSTFOLIO)
    assert (result.format, result.committed) == ("ghostfolio", True)
    status = {row.line: (row.status, row.message) for row in result.rows}
    assert [status[line][0] for line in range(1, 7)] == ["created"] * 6
    assert status[7] == (
        "skipped",
        "LIABILITY: a debt Ghostfolio tracks by hand, not a transaction of a brokerage account.",
    )

    equinor = Holding.objects.get(portfolio=portfolio, instrument__ticker="EQNR.OL")
    # Buy 10 @ 300 + 29 = 3029; sell 4 @ 320 - 29 = 1251 for 4 x 302.9 = 1211.6 of cost.
    assert (equinor.quantity, equinor.total_cost, equinor.realized_gain) == (
        D("6"), D("1817.4"), D("39.4"),
    )  # fmt: skip
    apple = Holding.objects.get(portfolio=portfolio, instrument__ticker="AAPL")
    # Buy 5 x 185.5 USD x 10.2 = 9460.50 NOK, plus the 1 USD fee at 10.2 = 10.20 NOK.
    # Dividend 5 x 0.24 x 10.5 = 12.60 NOK less 0.18 USD withheld x 10.5 = 1.89 NOK: 10.71,
    # which lowers the cost basis: 9470.70 - 10.71 = 9459.99. Fees: 10.20 + 1.89 = 12.09.
    assert (apple.quantity, apple.fees, apple.dividends, apple.total_cost) == (
        D("5"), D("12.09"), D("10.71"), D("9459.99"),
    )  # fmt: skip
    rows = {row.line: row for row in result.rows}
    assert (rows[2].fees, rows[2].amount) == (D("10.20"), D("9470.70"))
    assert (rows[3].fees, rows[3].amount) == (D("1.89"), D("10.71"))

    # FEE (its fee, 49) and INTEREST (1 x 12.5) are cash entries.
    # -3029 - 9470.70 + 10.71 + 1251 - 49 + 12.50 = -11274.49: no deposits in the file, so
    # the trades ran on credit.
    fee, interest = (Transaction.objects.get(import_key=rows[n].row.import_key) for n in (5, 6))
    assert (fee.type, fee.total_amount, fee.holding_id) == ("FEE", D("49"), None)
    assert (interest.type, interest.total_amount) == ("INTEREST", D("12.5"))
    portfolio.refresh_from_db()
    assert (portfolio.track_cash, portfolio.cash_balance) == (True, D("-11274.49"))
    assert (result.cash_before, result.cash_after) == (D("0"), D("-11274.49"))

    again = run(portfolio, GHOSTFOLIO)
    assert again.counts["duplicate"] == 6 and again.counts["created"] == 0


def test_ghostfolio_cash_into_a_portfolio_without_cash_is_skipped_with_the_reason(
    portfolio, instruments, usd_rates
):
    record(portfolio, instruments["ORK.OL"], quantity="1", price="70")
    result = run(portfolio, GHOSTFOLIO)
    assert result.committed and result.counts["created"] == 4
    reasons = {row.line: row.message for row in result.rows if row.status == "skipped"}
    assert "does not track cash" in reasons[5] and "does not track cash" in reasons[6]
    amounts = {row.line: row.amount for row in result.rows}
    assert (amounts[5], amounts[6]) == (D("49"), D("12.5"))  # shown though not recorded


def test_ghostfolio_cash_into_an_empty_portfolio_leaves_cash_tracking_off(
    portfolio, instruments, usd_rates
):
    # QA: its fees and interest without the deposits switched cash on and showed -11,274.49
    # of credit that never was. Only an account export (Nordnet) starts the cash.
    result = run(portfolio, GHOSTFOLIO)
    assert result.committed and result.counts["created"] == 4 and not result.starts_cash
    reasons = {row.line: row.message for row in result.rows if row.status == "skipped"}
    assert "does not track cash" in reasons[5]
    portfolio.refresh_from_db()
    assert (portfolio.track_cash, portfolio.cash_balance) == (False, 0)


def test_undo_of_the_import_that_started_the_cash_switches_it_off(portfolio):
    """A Nordnet export into an empty portfolio switches cash tracking on, says so, and
    its undo leaves the portfolio as it was."""
    from tests.portfolios.test_imports import SAMPLE  # noqa: PLC0415

    for ticker, currency in [
        ("EQNR.OL", "NOK"), ("NHY.OL", "NOK"), ("DNB.OL", "NOK"), ("AAPL", "USD"),
        ("ORK.OL", "NOK"), ("MSFT", "USD"),
    ]:  # fmt: skip
        InstrumentFactory(ticker=ticker, currency=currency)
    result = run(portfolio, SAMPLE.read_bytes())
    assert result.committed and result.starts_cash, [r.message for r in result.rows if r.errors]
    portfolio.refresh_from_db()
    assert portfolio.track_cash
    services.undo_import(ImportBatch.objects.get(pk=result.batch_id))
    portfolio.refresh_from_db()
    assert (portfolio.track_cash, portfolio.cash_balance) == (False, 0)


def test_undo_takes_the_imported_cash_with_it(portfolio, instruments, usd_rates):
    portfolio.track_cash = True
    services.save_portfolio(portfolio)
    batch = ImportBatch.objects.get(pk=run(portfolio, GHOSTFOLIO).batch_id)
    assert Transaction.objects.filter(import_batch=batch, holding=None).count() == 2
    assert services.undo_import(batch) == 6
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == 0
    assert not Transaction.objects.filter(portfolio=portfolio).exists()


# -- symbol choices -------------------------------------------------------------------------


def fund_row(nordnet_id: str, day: str, quantity: str = "3,5") -> str:
    return "\t".join(
        [nordnet_id, day, day, day, "1", "KJØPT", "KLP AksjeGlobal Indeks P", "NO0010778095",
         quantity, "2 850,12", "", "0,00", "NOK", "-9 975,42", "NOK"] + [""] * 6
        + ["1,0000"] + [""] * 8
    )  # fmt: skip


def nordnet_file(*rows: str) -> bytes:
    return ("\n".join([SAMPLE_HEADER, *rows]) + "\n").encode("utf-16")


def test_a_symbol_chosen_for_an_isin_is_remembered_for_the_next_import(owner, portfolio, db):
    # The fund is stored without its ISIN: only the user's choice can place it.
    InstrumentFactory(ticker="0P0001CRZW.IR", isin=None, currency="NOK")
    first = nordnet_file(fund_row("1", "2024-01-02"))
    unknown = run(portfolio, first, dry_run=True)
    [plan] = unknown.instruments
    assert (plan.key, plan.symbol, plan.source) == (
        "NO0010778095", "KLP-AKSJEGLOBAL-INDEKS-P.OL", "file",
    )  # fmt: skip
    assert "Unknown symbol KLP-AKSJEGLOBAL-INDEKS-P.OL" in plan.problem

    chosen = run(portfolio, first, symbol_overrides={"no0010778095": "0p0001crzw.ir"})
    assert chosen.committed
    assert chosen.instruments[0].source == "chosen"
    assert chosen.instruments[0].ticker == "0P0001CRZW.IR"
    choice = SymbolChoice.objects.get(user=owner)
    assert (choice.key, choice.symbol) == ("NO0010778095", "0P0001CRZW.IR")

    # The next export, with a new purchase of the same fund: no choice needed.
    later = run(portfolio, nordnet_file(fund_row("2", "2024-02-01", "1")))
    assert later.committed, later.errors
    [plan] = later.instruments
    assert (plan.symbol, plan.source, plan.ticker) == (
        "0P0001CRZW.IR",
        "remembered",
        "0P0001CRZW.IR",
    )
    assert Holding.objects.get(portfolio=portfolio).quantity == D("4.5")


def test_a_choice_is_per_user(owner, outsider, portfolio, db):
    InstrumentFactory(ticker="0P0001CRZW.IR", isin=None, currency="NOK")
    SymbolChoice.objects.create(user=outsider, key="NO0010778095", symbol="0P0001CRZW.IR")
    result = run(portfolio, nordnet_file(fund_row("1", "2024-01-02")), dry_run=True)
    assert result.instruments[0].source == "file"
    assert not result.ok


def test_a_dry_run_remembers_nothing(owner, portfolio, db):
    InstrumentFactory(ticker="0P0001CRZW.IR", isin=None, currency="NOK")
    run(
        portfolio,
        nordnet_file(fund_row("1", "2024-01-02")),
        dry_run=True,
        symbol_overrides={"NO0010778095": "0P0001CRZW.IR"},
    )
    assert not SymbolChoice.objects.exists()


# -- the preview's holdings -------------------------------------------------------------------


def test_the_preview_shows_holdings_before_and_after_and_saves_nothing(portfolio, instruments):
    record(portfolio, instruments["EQNR.OL"], quantity="5", price="250", date=dt.date(2024, 1, 5))
    result = run(portfolio, TRADES, dry_run=True)
    plans = {plan.ticker: (plan.before, plan.after, plan.rows) for plan in result.instruments}
    # EQNR: 5 held, +10 -4 = 11; ORK.OL is new: 0 -> 20.
    assert plans == {"EQNR.OL": (D("5"), D("11"), 2), "ORK.OL": (D("0"), D("20"), 1)}
    rows = {row.line: row for row in result.rows}
    # 10 x 300 + 29 fees; 4 x 320 - 29 fees.
    assert (rows[2].fees, rows[2].amount) == (D("29"), D("3029"))
    assert (rows[3].fees, rows[3].amount) == (D("29"), D("1251"))
    assert Transaction.objects.filter(portfolio=portfolio).count() == 1
    assert not Holding.objects.filter(instrument__ticker="ORK.OL").exists()
    assert not ImportBatch.objects.exists()


# -- batches and undo ---------------------------------------------------------------------------


def test_a_committed_import_is_one_batch(owner, portfolio, instruments):
    result = run(portfolio, TRADES, file_name="trades.csv")
    batch = ImportBatch.objects.get()
    assert result.batch_id == batch.pk
    assert (batch.user, batch.portfolio, batch.file_name, batch.format) == (
        owner, portfolio, "trades.csv", "generic",
    )  # fmt: skip
    assert batch.counts == {
        "created": 3, "duplicate": 0, "skipped": 0, "error": 0, "unchecked": 0,
    }  # fmt: skip
    assert set(batch.transactions.values_list("pk", flat=True)) == set(result.created_ids)
    assert batch.undone_at is None


def test_an_import_that_adds_nothing_makes_no_batch(portfolio, instruments):
    run(portfolio, TRADES)
    again = run(portfolio, TRADES)
    assert again.committed and again.batch_id is None
    assert ImportBatch.objects.count() == 1


def test_undo_restores_the_previous_holdings_exactly(portfolio, instruments):
    eqnr = instruments["EQNR.OL"]
    record(portfolio, eqnr, quantity="7", price="281.37", fees="29", date=dt.date(2024, 1, 5))
    record(portfolio, eqnr, "DIVIDEND", quantity="7", price="2.7", date=dt.date(2024, 1, 20))
    before = figures(portfolio)
    derived = list(
        Transaction.objects.filter(portfolio=portfolio)
        .order_by("pk")
        .values_list("pk", "total_amount", "average_cost_at_transaction")
    )
    result = run(portfolio, TRADES)
    assert figures(portfolio) != before
    # A later sale that the holdings before the import cover by themselves is no obstacle.
    record(portfolio, eqnr, "SELL", quantity="2", price="330", date=dt.date(2024, 4, 2))
    before_sale = figures(portfolio)
    assert before_sale != before

    removed = services.undo_import(ImportBatch.objects.get(pk=result.batch_id))
    assert removed == 3
    sale = Transaction.objects.get(portfolio=portfolio, type="SELL")
    sale_pk = sale.pk
    services.delete_transaction(sale)
    assert figures(portfolio) == before
    assert (
        list(
            Transaction.objects.filter(portfolio=portfolio)
            .order_by("pk")
            .values_list("pk", "total_amount", "average_cost_at_transaction")
        )
        == derived
    )
    assert sale_pk not in {pk for pk, *_ in derived}
    assert not Holding.objects.filter(instrument__ticker="ORK.OL").exists()
    batch = ImportBatch.objects.get()
    assert batch.undone_at is not None
    assert batch.counts["created"] == 3  # what it did stays on record


def test_undo_restores_holdings_that_the_import_changed_mid_history(portfolio, instruments):
    eqnr = instruments["EQNR.OL"]
    record(portfolio, eqnr, quantity="7", price="281.37", fees="29", date=dt.date(2024, 1, 5))
    record(portfolio, eqnr, "SELL", quantity="3", price="310", fees="29", date=dt.date(2024, 5, 2))
    before = figures(portfolio)
    result = run(portfolio, TRADES)
    assert figures(portfolio)["EQNR.OL"][0] == D("10")  # 7 + 10 - 4 - 3
    services.undo_import(ImportBatch.objects.get(pk=result.batch_id))
    assert figures(portfolio) == before


def test_undo_is_refused_when_a_later_sale_needs_the_imported_buys(portfolio, instruments):
    result = run(portfolio, TRADES)
    eqnr = instruments["EQNR.OL"]
    # After the import 6 EQNR are held; a sale of 5 by hand needs the imported shares.
    sale = record(portfolio, eqnr, "SELL", quantity="5", price="340", date=dt.date(2024, 6, 3))
    held = figures(portfolio)
    batch = ImportBatch.objects.get(pk=result.batch_id)
    with pytest.raises(services.UndoRefused) as refused:
        services.undo_import(batch)
    assert refused.value.code == "depended_on"
    message = refused.value.messages[0]
    assert f"the sell of 5 on 2024-06-03 of EQNR.OL (transaction #{sale.pk})" in message
    # All or nothing: every transaction and figure is as it was.
    assert figures(portfolio) == held
    assert Transaction.objects.filter(import_batch=batch).count() == 3
    batch.refresh_from_db()
    assert batch.undone_at is None


def test_undo_twice_is_refused(portfolio, instruments):
    batch = ImportBatch.objects.get(pk=run(portfolio, TRADES).batch_id)
    services.undo_import(batch)
    with pytest.raises(services.UndoRefused) as refused:
        services.undo_import(batch)
    assert refused.value.code == "already_undone"
    assert "already undone" in refused.value.messages[0]


def test_an_undone_file_can_be_imported_again(portfolio, instruments):
    batch = ImportBatch.objects.get(pk=run(portfolio, TRADES).batch_id)
    services.undo_import(batch)
    again = run(portfolio, TRADES)
    assert again.counts["created"] == 3
    assert ImportBatch.objects.count() == 2


def test_undo_restores_the_cash_balance(owner, instruments):
    account = PortfolioFactory(user=owner, name="Cash", currency="NOK", track_cash=True)
    services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D("10000")
    )
    preview = run(account, TRADES, dry_run=True)
    assert (preview.cash_before, preview.cash_after) == (D("10000"), D("6703"))
    result = run(account, TRADES)
    account.refresh_from_db()
    # 10000 - (10 x 300 + 29) + (4 x 320 - 29) - (20 x 75 + 19) = 10000 - 3029 + 1251 - 1519.
    assert account.cash_balance == D("6703")
    services.undo_import(ImportBatch.objects.get(pk=result.batch_id))
    account.refresh_from_db()
    assert account.cash_balance == D("10000")


def test_a_batch_costs_no_query_per_row(owner, instruments):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(rows: int) -> int:
        lines = [f"2024-02-{day:02d},BUY,EQNR.OL,1,300,0" for day in range(1, rows + 1)]
        data = ("date,type,symbol,quantity,price,fees\n" + "\n".join(lines) + "\n").encode()
        portfolio = PortfolioFactory(user=owner, name=f"{rows} rows")
        with CaptureQueriesContext(connection) as captured:
            assert run(portfolio, data).counts["created"] == rows
        return len(captured)

    # Regression: the import batch's foreign key was validated row by row.
    assert queries(5) == queries(25)


def _sample_rows(*ids: str) -> bytes:
    from tests.portfolios.test_imports import SAMPLE  # noqa: PLC0415

    lines = SAMPLE.read_bytes().decode("utf-16").splitlines()
    kept = [lines[0], *(line for line in lines[1:] if line.split("\t")[0] in ids)]
    return "\n".join(kept).encode("utf-16")


@pytest.mark.parametrize(
    ("ids", "saldo"), [(("300015",), "33005.75"), (("300013", "300012"), "33844.75")]
)
def test_a_partial_nordnet_export_still_ends_at_its_saldo(portfolio, ids, saldo):
    # QA: the newest rows of the sample only: the cash came to -36,033.68 against a
    # Saldo of 33,005.75. The oldest row's Saldo less its own Beløp is the balance before
    # the file; it enters as an opening deposit (dated that row's day), so the imported
    # balance is the newest row's Saldo, whichever rows the export holds.
    for ticker, currency in [("EQNR.OL", "NOK"), ("NHY.OL", "NOK")]:
        InstrumentFactory(ticker=ticker, currency=currency)
    result = run(portfolio, _sample_rows(*ids))
    assert result.committed, [r.message for r in result.rows if r.errors]
    assert result.closing_balance == D(saldo) and not result.cash_disagrees
    portfolio.refresh_from_db()
    assert portfolio.cash_balance == D(saldo)
    opening = Transaction.objects.get(portfolio=portfolio, import_key__startswith="nordnet:opening")
    assert opening.type == "DEPOSIT"
    # Again: nothing new, the opening balance included.
    assert run(portfolio, _sample_rows(*ids)).counts["created"] == 0


def test_the_whole_sample_needs_no_opening_balance(portfolio, instruments):
    for ticker, currency in [("DNB.OL", "NOK"), ("MSFT", "USD")]:
        InstrumentFactory(ticker=ticker, currency=currency)
    from tests.portfolios.test_imports import SAMPLE  # noqa: PLC0415

    assert run(portfolio, SAMPLE.read_bytes()).committed
    assert not Transaction.objects.filter(import_key__startswith="nordnet:opening").exists()


def test_a_gap_in_the_export_is_pointed_out(portfolio):
    # Without the sale of 300014 (+9,161.00) the balance cannot reach the Saldo: the
    # preview says so instead of importing a wrong balance in silence.
    for ticker, currency in [("EQNR.OL", "NOK"), ("NHY.OL", "NOK")]:
        InstrumentFactory(ticker=ticker, currency=currency)
    result = run(portfolio, _sample_rows("300015", "300013", "300012", "300011"), dry_run=True)
    assert result.cash_disagrees
    assert (result.cash_after, result.closing_balance) == (D("23844.75"), D("33005.75"))
