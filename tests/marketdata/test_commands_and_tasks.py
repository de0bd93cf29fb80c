from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from marketdata.models import HistoricalStockPrice, Instrument
from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str):
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_prices_stores_every_row(tmp_path, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    path = write(
        tmp_path,
        "\ufeffsymbol,date,close,currency\n"
        "EQNR.OL,2024-01-02,280.50,\n"
        "eqnr.ol,2024-01-03,281.125,NOK\n"
        "MYFUND,2024-01-02,101.5,NOK\n",
    )
    out = StringIO()

    call_command("import_prices", path, stdout=out)

    assert "Imported 3 closes for 2 instruments." in out.getvalue()
    assert list(
        HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL")
        .order_by("date")
        .values_list("close", flat=True)
    ) == [Decimal("280.5"), Decimal("281.125")]
    assert Instrument.objects.get(ticker="MYFUND").currency == "NOK"


def test_import_prices_reports_every_bad_row_and_stores_nothing(tmp_path, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    path = write(
        tmp_path,
        "symbol,date,close\n"
        "EQNR.OL,2024-01-02,280.5\n"
        "EQNR.OL,02.01.2024,281\n"
        ",2024-01-03,1\n"
        "NEWONE,2024-01-03,-5\n"
        "NEWTWO,2024-01-03,5\n",
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_prices", path)

    message = str(caught.value)
    assert "Nothing imported" in message
    assert "Line 3 (EQNR.OL): '02.01.2024' is not a date (use YYYY-MM-DD)." in message
    assert "Line 4: no symbol." in message
    assert "Line 5 (NEWONE): close must not be negative, got -5." in message
    assert "NEWTWO: Unknown symbol 'NEWTWO'" in message
    assert not HistoricalStockPrice.objects.exists()
    assert list(Instrument.objects.values_list("ticker", flat=True)) == ["EQNR.OL"]


def test_import_prices_needs_its_columns(tmp_path):
    with pytest.raises(CommandError, match="Missing column"):
        call_command("import_prices", write(tmp_path, "ticker,day,price\nA,2024-01-02,1\n"))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_prices", str(tmp_path / "missing.csv"))
