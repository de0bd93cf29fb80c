"""Format auto-detection and the Ghostfolio parser: pure, no database."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolios.importers import ghostfolio, nordnet
from portfolios.importers.base import decode
from portfolios.importers.detect import detect
from tests.portfolios.test_importers import SWEDISH_HEADER, swedish_row

D = Decimal
FIXTURES = Path(__file__).parent.parent / "fixtures"
NORDNET = (FIXTURES / "nordnet-transactions-no.csv").read_bytes()
GHOSTFOLIO = (FIXTURES / "ghostfolio-export.json").read_bytes()
GENERIC = b"date,type,symbol,quantity,price,fees\n2024-01-02,BUY,EQNR.OL,10,250,49\n"


def swedish_export() -> bytes:
    lines = [
        SWEDISH_HEADER,
        swedish_row("500002", "2024-02-01", "KÖPT", "VOLV B", "SE0000115446", "10", "245,60",
                    "39,00", "-2 495,00", courtage="39,00", courtage_ccy="SEK"),
    ]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode("utf-16")


# -- detection ----------------------------------------------------------------------------


def test_the_nordnet_download_is_nordnet():
    # UTF-16 with a byte-order mark, tab-separated, Norwegian headers: as Nordnet serves it.
    found = detect(NORDNET)
    assert found.format == "nordnet"
    assert "Norwegian" in found.reason


@pytest.mark.parametrize(
    ("encoding", "bom", "separator"),
    [
        ("utf-8", b"", "\t"),
        ("utf-8", b"\xef\xbb\xbf", "\t"),
        ("utf-8", b"", ";"),  # opened in a spreadsheet and saved again "as CSV"
        ("utf-8", b"\xef\xbb\xbf", ";"),
        ("cp1252", b"", ";"),  # Excel on Windows
        ("utf-16-le", b"", "\t"),  # UTF-16 without its byte-order mark
    ],
)
def test_a_nordnet_file_saved_again_is_still_nordnet(encoding, bom, separator):
    text = decode(NORDNET).replace("\t", separator)
    data = bom + text.encode(encoding)
    assert detect(data).format == "nordnet"
    # And it parses to the very rows of the original.
    assert nordnet.parse(data) == nordnet.parse(NORDNET)


def test_a_swedish_nordnet_export_is_nordnet():
    found = detect(swedish_export())
    assert found.format == "nordnet"
    assert "Swedish" in found.reason
    resaved = decode(swedish_export()).encode("utf-8")
    assert detect(resaved).format == "nordnet"


@pytest.mark.parametrize(
    "data",
    [
        GENERIC,
        b"\xef\xbb\xbf" + GENERIC,
        GENERIC.replace(b",", b";"),
        b"Date,Type,Symbol,Quantity,Price\n2024-01-02,BUY,EQNR.OL,10,250\n",
        GENERIC.decode().encode("utf-16"),
    ],
)
def test_generic_files_are_generic(data):
    assert detect(data).format == "generic"


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"\n  "])
def test_a_ghostfolio_export_is_ghostfolio(prefix):
    found = detect(prefix + GHOSTFOLIO)
    assert found.format == "ghostfolio"
    assert "7 Ghostfolio activities" in found.reason


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"when,what,how many\n2024-01-01,BUY,3\n", "when, what, how many"),
        (b'{"transactions": []}', "not a Ghostfolio export"),
        (b"", "nothing"),
    ],
)
def test_an_unknown_file_says_why(data, says):
    found = detect(data)
    assert found.format is None
    assert says in found.reason


# -- Ghostfolio -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parsed():
    return ghostfolio.parse(GHOSTFOLIO)


def test_ghostfolio_trades_and_dividends(parsed):
    assert parsed.errors == []
    rows = {row.line: row for row in parsed.rows}
    buy, apple, dividend, sale = rows[1], rows[2], rows[3], rows[4]
    assert (buy.type, buy.date, buy.symbol, buy.isin, buy.currency) == (
        "BUY", dt.date(2024, 1, 2), "EQNR.OL", "NO0010096985", "NOK",
    )  # fmt: skip
    assert (buy.quantity, buy.price, buy.fees, buy.notes) == (
        D("10"),
        D("300"),
        D("29"),
        "first lot",
    )
    assert buy.import_key == "ghostfolio:e0000001-0000-4000-8000-000000000001"
    assert buy.name == "Equinor ASA"
    # Ghostfolio's numbers are read exactly as written, never through a float.
    assert (apple.price, apple.fees, apple.currency) == (D("185.5"), D("1"), "USD")
    assert apple.fees_in_instrument_currency
    assert (dividend.type, dividend.quantity, dividend.price, dividend.fees) == (
        "DIVIDEND", D("5"), D("0.24"), D("0.18"),
    )  # fmt: skip
    assert (sale.type, sale.quantity, sale.price) == ("SELL", D("4"), D("320"))


def test_ghostfolio_cash_activities_become_cash_entries(parsed):
    rows = {row.line: row for row in parsed.rows}
    fee, interest = rows[5], rows[6]
    # A FEE's amount is its fee; INTEREST's is quantity x unitPrice (1 x 12.5).
    assert (fee.type, fee.amount, fee.currency, fee.date) == (
        "FEE", D("49"), "NOK", dt.date(2024, 3, 31),
    )  # fmt: skip
    assert (interest.type, interest.amount) == ("INTEREST", D("12.5"))
    assert fee.symbol == interest.symbol == ""


def test_ghostfolio_unsupported_types_are_skipped_with_the_reason(parsed):
    [skipped] = parsed.skipped
    assert skipped.line == 7
    assert skipped.reason.startswith("LIABILITY: a debt")


def test_ghostfolio_rows_come_in_date_order():
    document = json.loads(GHOSTFOLIO)
    document["activities"].reverse()  # Ghostfolio's own table lists newest first
    rows = ghostfolio.parse(json.dumps(document).encode()).rows
    assert [row.date for row in rows] == sorted(row.date for row in rows)


def test_ghostfolio_manual_instruments_go_by_their_name():
    document = {
        "assetProfiles": [
            {"dataSource": "MANUAL", "symbol": "0d1c-uuid", "name": "KLP AksjeGlobal Indeks P",
             "isin": "NO0010778095", "currency": "NOK"},
        ],
        "activities": [
            {"type": "BUY", "date": "2024-01-02T00:00:00.000Z", "symbol": "0d1c-uuid",
             "dataSource": "MANUAL", "quantity": 3.5, "unitPrice": 2850.12, "fee": 0,
             "currency": "NOK"},
            {"type": "ITEM", "date": "2024-01-02T00:00:00.000Z", "symbol": "x", "quantity": 1,
             "unitPrice": 1, "fee": 0, "currency": "NOK"},
            {"type": "GIFT", "date": "2024-01-02T00:00:00.000Z", "symbol": "x", "quantity": 1,
             "unitPrice": 1, "fee": 0, "currency": "NOK"},
        ],
    }  # fmt: skip
    parsed = ghostfolio.parse(json.dumps(document).encode())
    [row] = parsed.rows
    assert (row.ticker, row.isin, row.quantity, row.price) == (
        "KLP AksjeGlobal Indeks P", "NO0010778095", D("3.5"), D("2850.12"),
    )  # fmt: skip
    # Without an id, the activity's own fields identify it for re-imports.
    assert row.import_key.startswith("ghostfolio:") and len(row.import_key) > 20
    reasons = {s.line: s.reason for s in parsed.skipped}
    assert reasons[2].startswith("ITEM: a valuable")
    assert reasons[3] == "GIFT is not a Ghostfolio activity type this import knows."


@pytest.mark.parametrize(
    ("activity", "field"),
    [
        ({"quantity": -1}, "quantity"),
        ({"unitPrice": "abc"}, "unitPrice"),
        ({"date": "yesterday"}, "date"),
        ({"date": None}, "date"),
    ],
)
def test_ghostfolio_bad_values_name_the_field(activity, field):
    base = {
        "type": "BUY", "date": "2024-01-02T00:00:00.000Z", "symbol": "AAPL",
        "dataSource": "YAHOO", "quantity": 1, "unitPrice": 1, "fee": 0, "currency": "USD",
    }  # fmt: skip
    parsed = ghostfolio.parse(json.dumps({"activities": [{**base, **activity}]}).encode())
    assert [(e.line, e.field) for e in parsed.errors] == [(1, field)]
    assert parsed.rows == []


def test_not_a_ghostfolio_export():
    parsed = ghostfolio.parse(b"date,type\n")
    assert [e.message for e in parsed.errors] == [
        "Not a Ghostfolio export: expected a JSON object with activities."
    ]
