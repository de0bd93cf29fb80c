from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from portfolios.importers import FORMATS, generic, nordnet
from portfolios.importers.base import FieldError, decode, parse_date, parse_decimal

D = Decimal
SAMPLE = Path(__file__).parent.parent / "fixtures" / "nordnet-transactions-no.csv"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def sample(sample_bytes):
    return nordnet.parse(sample_bytes)


def by_line(result) -> dict:
    return {row.line: row for row in result.rows}


def reasons(result) -> dict[int, str]:
    return {skipped.line: skipped.reason for skipped in result.skipped}


# -- the real Nordnet sample ------------------------------------------------------------


def test_the_nordnet_sample_accounts_for_every_line(sample_bytes, sample):
    lines = len(decode(sample_bytes).splitlines())
    assert sample.errors == []
    handled = sorted([row.line for row in sample.rows] + [s.line for s in sample.skipped])
    assert handled == list(range(2, lines + 1))
    assert len(sample.rows) == 13  # 10 trades and dividends, 3 cash rows


def test_it_reads_a_nok_sale(sample):
    row = by_line(sample)[3]
    assert (row.type, row.date, row.ticker, row.symbol) == (
        "SELL",
        dt.date(2023, 11, 15),
        "EQNR",
        "EQNR.OL",
    )
    assert row.isin == "NO0010096985"
    assert row.quantity == D("25")
    assert row.price == D("368.40")
    assert row.fees == D("49.00")
    assert (row.currency, row.account_currency, row.exchange_rate) == ("NOK", "NOK", D("1"))
    assert row.import_key == "nordnet:300014"


def test_it_reads_a_usd_purchase_with_its_exchange_rate(sample):
    row = by_line(sample)[14]
    assert (row.type, row.date, row.symbol) == ("BUY", dt.date(2023, 1, 5), "AAPL")
    assert row.quantity == D("12")
    assert row.price == D("126.36")
    # Totale Avgifter, already in NOK: the USD 1.50 commission at 10.0412.
    assert row.fees == D("15.06")
    assert row.exchange_rate == D("10.0412")
    assert (row.currency, row.account_currency) == ("USD", "NOK")
    # The booked amount is what the ledger will derive from these values.
    assert (row.quantity * row.price * row.exchange_rate + row.fees).quantize(D("0.01")) == D(
        "15240.73"
    )


def test_withholding_tax_becomes_the_dividends_fees(sample):
    dividend = by_line(sample)[10]
    assert (dividend.type, dividend.date, dividend.symbol) == (
        "DIVIDEND",
        dt.date(2023, 5, 18),
        "AAPL",
    )
    assert dividend.quantity == D("12")
    assert dividend.price == D("0.2400")
    assert dividend.currency == "USD"
    assert dividend.exchange_rate == D("10.8020")
    assert dividend.fees == D("4.67")
    assert dividend.import_key == "nordnet:300007"
    assert "Withholding tax 4.67 NOK (Nordnet 300008)" in dividend.notes
    assert reasons(sample)[9] == "Withholding tax: added to the fees of the dividend on line 10."


def test_a_nok_dividend(sample):
    row = by_line(sample)[11]
    assert (row.type, row.symbol, row.quantity, row.price, row.fees) == (
        "DIVIDEND",
        "EQNR.OL",
        D("60"),
        D("3.0120"),
        D("0"),
    )
    assert row.quantity * row.price == D("180.72")  # the booked Beløp


def test_cash_rows_become_cash_transactions_cancelled_trades_are_skipped(sample):
    skipped = reasons(sample)
    assert set(skipped) == {4, 9}
    assert "cancelled" in skipped[4] and "2023-09-06" in skipped[4]
    assert "Withholding tax" in skipped[9]
    cash = {row.line: (row.type, row.amount, row.import_key) for row in sample.rows if row.is_cash}
    assert cash == {
        2: ("WITHDRAWAL", D("10000.00"), "nordnet:300015"),
        8: ("FEE", D("49.00"), "nordnet:300009"),
        16: ("DEPOSIT", D("100000.00"), "nordnet:300001"),
    }
    # Only the NHY purchase that stood is kept.
    assert [row.line for row in sample.rows if row.symbol == "NHY.OL"] == [5]


def test_trade_fees_follow_the_booked_amount(sample):
    # Line 6: 8 AAPL at 187.65 USD x 10.6240 = 15,948.7488 NOK; Nordnet booked 15,964.68
    # (USD 1.50 commission converted unrounded: 15.936), its fees column says 15.94. The
    # fees are 15,964.68 - 15,948.7488 = 15.9312, in whole øre 15.93: then the buy costs
    # 15,964.6788, booked 15,964.68, as Nordnet booked it.
    assert by_line(sample)[6].fees == D("15.93")
    # Line 14: 15,240.73 - 12 x 126.36 x 10.0412 (15,225.672384) = 15.057616 -> 15.06.
    assert by_line(sample)[14].fees == D("15.06")


def test_rows_come_in_replay_order(sample):
    order = [(row.date, row.import_key) for row in sample.rows]
    assert order == sorted(order, key=lambda item: (item[0], int(item[1].split(":")[1])))
    assert [row.type for row in sample.rows if row.symbol == "EQNR.OL"] == [
        "BUY",
        "BUY",
        "DIVIDEND",
        "SELL",
    ]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_semicolon_copy_reads_the_same(sample_bytes, sample, bom):
    text = decode(sample_bytes).replace("\t", ";")
    assert nordnet.parse(bom + text.encode("utf-8")) == sample


def test_a_utf16_file_without_bom_reads_the_same(sample_bytes, sample):
    text = decode(sample_bytes)
    assert nordnet.parse(text.encode("utf-16-le")) == sample


# -- Swedish ----------------------------------------------------------------------------

SWEDISH_HEADER = (
    "Id\tBokföringsdag\tAffärsdag\tLikviddag\tDepå\tTransaktionstyp\tVärdepapper\tISIN\tAntal\t"
    "Kurs\tRänta\tTotal Avgift\tValuta\tBelopp\tValuta\tInköpsvärde\tValuta\tResultat\tValuta\t"
    "Totalt antal\tSaldo\tVäxlingskurs\tTransaktionstext\tMakuleringsdatum\tNotanummer\t"
    "Verifikationsnummer\tCourtage\tValuta\tReferensvalutakurs\tInitial låneränta"
)


def swedish_row(
    id, day, kind, security="", isin="", qty="", price="", fees="", amount="", rate="",
    text="", cancelled="", verification="", courtage="", courtage_ccy="",
):  # fmt: skip
    return "\t".join(
        [
            id, day, day, day, "9876543", kind, security, isin, qty, price, "", fees,
            "SEK" if fees else "", amount, "SEK", "", "", "", "", "", "", rate, text,
            cancelled, "", verification, courtage, courtage_ccy, "", "",
        ]
    )  # fmt: skip


@pytest.fixture
def swedish():
    lines = [
        SWEDISH_HEADER,
        swedish_row("500008", "2024-06-20", "KÖPT", "ERIC B", "SE0000108656", "50", "61,20",
                    "19,00", f"-3{NBSP}079,00", cancelled="2024-06-21", courtage="19,00",
                    courtage_ccy="SEK"),
        swedish_row("500007", "2024-06-14", "UTL KUPSKATT", "MSFT", "US5949181045",
                    amount="-3,56", verification="9002"),
        swedish_row("500006", "2024-06-13", "UTDELNING", "MSFT", "US5949181045", "3", "0,75",
                    amount="23,74", rate="10,5500", text="UTDELNING MSFT 0,75 USD/AKTIE",
                    verification="9002"),
        swedish_row("500005", "2024-05-02", "KÖPT", "MSFT", "US5949181045", "3", "410,25",
                    amount=f"-12{NBSP}997,36", rate="10,5520", courtage="1,00",
                    courtage_ccy="USD"),
        swedish_row("500004", "2024-04-25", "UTDELNING", "VOLV B", "SE0000115446", "6", "7,00",
                    amount="42,00", text="UTDELNING VOLV B 7 SEK/AKTIE"),
        swedish_row("500003", "2024-03-01", "SÅLT", "VOLV B", "SE0000115446", "-4", "250,00",
                    "39,00", "961,00", courtage="39,00", courtage_ccy="SEK"),
        swedish_row("500002", "2024-02-01", "KÖPT", "VOLV B", "SE0000115446", "10", "245,60",
                    "39,00", f"-2{NBSP}495,00", courtage="39,00", courtage_ccy="SEK"),
        swedish_row("500001", "2024-01-15", "INSÄTTNING", amount=f"20{NBSP}000,00"),
    ]  # fmt: skip
    return nordnet.parse(("\r\n".join(lines) + "\r\n").encode("utf-16"))


def test_a_swedish_export(swedish):
    assert swedish.errors == []
    rows = by_line(swedish)
    buy, sale, volvo_dividend = rows[8], rows[7], rows[6]
    assert (buy.type, buy.symbol, buy.ticker, buy.currency) == ("BUY", "VOLV-B.ST", "VOLV B", "SEK")
    assert (buy.quantity, buy.price, buy.fees, buy.exchange_rate) == (
        D("10"),
        D("245.60"),
        D("39.00"),
        None,
    )
    assert (sale.type, sale.quantity, sale.price) == ("SELL", D("4"), D("250.00"))
    assert (volvo_dividend.type, volvo_dividend.quantity, volvo_dividend.price) == (
        "DIVIDEND",
        D("6"),
        D("7.00"),
    )
    deposit = rows[9]
    assert (deposit.type, deposit.amount, deposit.account_currency) == (
        "DEPOSIT",
        D("20000.00"),
        "SEK",
    )
    assert "cancelled" in reasons(swedish)[2]


def test_swedish_courtage_in_the_trade_currency_is_converted(swedish):
    msft = by_line(swedish)[5]
    assert (msft.symbol, msft.currency, msft.exchange_rate) == ("MSFT", "USD", D("10.5520"))
    assert msft.fees == D("10.55")  # USD 1.00 at 10.5520, to the øre


def test_swedish_withholding_tax_matches_by_verification_number(swedish):
    # The tax is booked a day after the dividend: only the verification number ties them.
    dividend = by_line(swedish)[4]
    assert (dividend.currency, dividend.fees) == ("USD", D("3.56"))
    assert reasons(swedish)[3].endswith("dividend on line 4.")


def test_withholding_tax_without_its_dividend_is_skipped_with_a_reason():
    header = SWEDISH_HEADER
    tax = swedish_row("1", "2024-06-14", "UTL KUPSKATT", "MSFT", "US5949181045", amount="-3,56")
    result = nordnet.parse(f"{header}\n{tax}\n".encode())
    assert result.rows == [] and result.errors == []
    assert "no dividend" in reasons(result)[2]


def test_other_types_are_skipped_with_a_reason():
    rows = [
        swedish_row("1", "2024-06-14", "KORR UTL KUPSKATT", "MSFT", "US5949181045", amount="1,00"),
        swedish_row("2", "2024-06-14", "MAK UTDELNING", "MSFT", "US5949181045", "3", "0,75",
                    amount="-23,74"),
        swedish_row("3", "2024-06-14", "SPLIT INLÄGG VP", "MSFT", "US5949181045", "6"),
        swedish_row("4", "2024-06-14", "UTTAG", amount="-100,00"),
        swedish_row("5", "2024-06-14", "RÄNTA", amount="-1,00"),
        swedish_row("6", "2024-06-14", "INLÅNINGSRÄNTA", amount="2,50"),
        swedish_row("7", "2024-06-14", "PLATTFORMSAVGIFT", amount="5,00"),
        swedish_row("8", "2024-06-14", "ÖVERFÖRING"),
    ]  # fmt: skip
    result = nordnet.parse("\n".join([SWEDISH_HEADER, *rows]).encode())
    assert result.errors == []
    skipped = reasons(result)
    assert "tax correction" in skipped[2]
    assert "reversal" in skipped[3]
    assert "record that by hand" in skipped[4]
    assert "cash booking" in skipped[8]  # a refunded fee is not guessed at
    assert "cash booking" in skipped[9]
    cash = {row.line: (row.type, row.amount, row.notes) for row in result.rows}
    assert cash == {
        5: ("WITHDRAWAL", D("100.00"), "UTTAG"),
        6: ("FEE", D("1.00"), "Debit interest (RÄNTA)"),  # interest charged
        7: ("INTEREST", D("2.50"), "INLÅNINGSRÄNTA"),
    }


@pytest.mark.parametrize(
    ("ticker", "currency", "symbol"),
    [
        ("EQNR", "NOK", "EQNR.OL"),
        ("VOLV B", "SEK", "VOLV-B.ST"),
        ("NOVO B", "DKK", "NOVO-B.CO"),
        ("NOKIA", "EUR", "NOKIA.HE"),
        ("AAPL", "USD", "AAPL"),
        ("BRK B", "USD", "BRK-B"),
        ("BRK.B", "USD", "BRK-B"),
        ("XYZ", None, "XYZ"),
    ],
)
def test_yahoo_symbols(ticker, currency, symbol):
    assert nordnet.yahoo_symbol(ticker, currency) == symbol


def test_a_currency_hint_that_contradicts_the_rate_is_ignored(sample_bytes):
    lines = decode(sample_bytes).splitlines()
    apple = lines[5].split("\t")  # KJØPT AAPL at 10,6240, commission in USD
    apple[27] = "NOK"
    lines[5] = "\t".join(apple)
    row = by_line(nordnet.parse("\n".join(lines).encode("utf-16")))[6]
    # Left to the market data to place, rather than read as a NOK trade at a rate of 10.6.
    assert (row.currency, row.symbol, row.exchange_rate) == (None, "AAPL", D("10.6240"))


# -- Nordnet errors ---------------------------------------------------------------------


def test_bad_nordnet_values_name_their_line_and_column(sample_bytes):
    lines = decode(sample_bytes).splitlines()
    sale = lines[2].split("\t")
    sale[2] = "2023-02-30"  # Handelsdag
    sale[9] = "368,4,0"  # Kurs
    lines[2] = "\t".join(sale)
    bought = lines[4].split("\t")
    bought[6] = ""  # Verdipapir
    lines[4] = "\t".join(bought)
    result = nordnet.parse("\n".join(lines).encode("utf-16"))
    assert {(e.line, e.field) for e in result.errors} == {
        (3, "Handelsdag"),
        (3, "Kurs"),
        (5, "Verdipapir"),
    }
    assert 3 not in by_line(result) and 5 not in by_line(result)


def test_a_file_that_is_not_a_nordnet_export_is_refused():
    result = nordnet.parse(b"date,type,symbol,quantity,price\n2024-01-02,BUY,AAPL,1,100\n")
    assert result.rows == []
    [error] = result.errors
    assert error.line == 1 and "Not a Nordnet export" in error.message


# -- generic ----------------------------------------------------------------------------

GENERIC_COMMA = """\
Date,Type,Symbol,Quantity,Price,Fees,Currency,Exchange_Rate,Notes
2024-01-02,buy,eqnr.ol,10,352.10,49,NOK,,first lot
2024-03-15,BUY,AAPL,5,172.50,15,usd,10.4820,
2024-05-16,DIVIDEND,AAPL,5,"0,24",1.93,USD,10.7000,"tax, withheld"
"""

GENERIC_SEMICOLON = """\
date;type;symbol;quantity;price;fees;currency;exchange_rate;notes
2024-01-02;BUY;EQNR.OL;10;352,10;49;NOK;;first lot
2024-03-15;BUY;AAPL;5;172,50;15;USD;10,4820;
2024-05-16;DIVIDEND;AAPL;5;0,24;1,93;USD;10,7;tax, withheld
"""


def test_a_generic_comma_file():
    result = generic.parse(GENERIC_COMMA.encode())
    assert result.errors == [] and result.skipped == []
    first, second, third = result.rows
    assert (first.line, first.type, first.date, first.symbol, first.ticker) == (
        2,
        "BUY",
        dt.date(2024, 1, 2),
        "EQNR.OL",
        "EQNR.OL",
    )
    assert (first.quantity, first.price, first.fees, first.currency) == (
        D("10"),
        D("352.10"),
        D("49"),
        "NOK",
    )
    assert first.exchange_rate is None and first.notes == "first lot"
    assert (second.currency, second.exchange_rate) == ("USD", D("10.4820"))
    assert (third.type, third.price, third.fees, third.notes) == (
        "DIVIDEND",
        D("0.24"),
        D("1.93"),
        "tax, withheld",
    )
    assert all(row.import_key.startswith("generic:") for row in result.rows)


def test_the_documented_example_parses():
    example = [line.strip() for line in generic.__doc__.splitlines() if line.startswith("    ")]
    result = generic.parse("\n".join(example).encode())
    assert result.errors == []
    assert [row.type for row in result.rows] == ["BUY", "BUY", "DIVIDEND", "SELL"]


def test_a_generic_semicolon_file_with_decimal_commas_and_a_bom_reads_the_same():
    comma = generic.parse(GENERIC_COMMA.encode())
    semicolon = generic.parse(b"\xef\xbb\xbf" + GENERIC_SEMICOLON.encode())
    assert semicolon.errors == []
    assert [row.price for row in semicolon.rows] == [D("352.10"), D("172.50"), D("0.24")]
    # Same transactions, same keys: a re-export in the other dialect is still a duplicate.
    assert [row.import_key for row in semicolon.rows] == [row.import_key for row in comma.rows]


def test_generic_optional_columns_may_be_left_out():
    result = generic.parse(b"date,type,symbol,quantity,price\n2024-01-02,SELL,AAPL,1 000,1.5\n")
    [row] = result.rows
    assert (row.quantity, row.fees, row.currency, row.exchange_rate, row.notes) == (
        D("1000"),
        D("0"),
        None,
        None,
        "",
    )


def test_generic_keys_are_stable_ignore_notes_and_count_repeated_rows():
    text = "date,type,symbol,quantity,price,notes\n" + "2024-01-02,BUY,AAPL,1,100,a\n" * 2
    once = generic.parse(text.encode())
    again = generic.parse(text.replace(",a\n", ",b\n").encode())
    keys = [row.import_key for row in once.rows]
    assert len(set(keys)) == 2
    assert [row.import_key for row in again.rows] == keys
    assert all(len(key) <= 128 for key in keys)


def test_bad_generic_rows_name_their_line_and_column():
    text = (
        "date,type,symbol,quantity,price,fees\n"
        "2024-13-01,BUY,A,1,1,0\n"
        "\n"
        "2024-01-02,HOLD,A,1,1,0\n"
        "2024-01-02,BUY,A,abc,1,0\n"
        "2024-01-02,SELL,A,-1,1,0\n"
        "2024-01-02,BUY,,1,1,0\n"
        "2024-01-02,BUY,A,1,1,-5\n"
        "2024-01-02,BUY,A,1,1,0\n"
    )
    result = generic.parse(text.encode())
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "date"),
        (4, "type"),
        (5, "quantity"),
        (6, "quantity"),
        (7, "symbol"),
        (8, "fees"),
    ]
    assert "BUY, SELL, DIVIDEND" in result.errors[1].message
    assert [row.line for row in result.rows] == [9]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("date,type,symbol,quantity", "missing price"),
        ("date,type,symbol,quantity,price,fee", "unknown fee"),
        ("date,type,symbol,quantity,price,Price", "repeated price"),
    ],
)
def test_generic_headers_are_checked(header, problem):
    result = generic.parse(f"{header}\n2024-01-02,BUY,A,1,1,1\n".encode())
    [error] = result.errors
    assert error.line == 1 and problem in error.message
    assert result.rows == []


def test_formats_registry():
    assert sorted(FORMATS) == ["generic", "nordnet"]
    assert (FORMATS["generic"], FORMATS["nordnet"]) == (generic.parse, nordnet.parse)


# -- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.5", "1234.5"),
        ("1234,5", "1234.5"),
        ("1 234,50", "1234.50"),
        (f"-10{NBSP}000,00", "-10000.00"),
        ("1\u202f234,5", "1234.5"),
        ("1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1.234.567", "1234567"),
        ("\u22125", "-5"),
        ("+3", "3"),
        ("0,2400", "0.2400"),
    ],
)
def test_parse_decimal(text, value):
    parsed = parse_decimal(text)
    assert parsed == D(value) and str(parsed) == value


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12.34,5", "1e5", "NaN", "", "--1"])
def test_parse_decimal_refuses(text):
    with pytest.raises(FieldError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2024-01-31", dt.date(2024, 1, 31)),
        ("2024-01-31T15:30:00", dt.date(2024, 1, 31)),
        ("31.01.2024", dt.date(2024, 1, 31)),
    ],
)
def test_parse_date(text, value):
    assert parse_date(text) == value


@pytest.mark.parametrize("text", ["2024-02-30", "01/31/2024", "yesterday"])
def test_parse_date_refuses(text):
    with pytest.raises(FieldError):
        parse_date(text)
