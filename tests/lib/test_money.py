from __future__ import annotations

from decimal import Decimal

import pytest

from financedash.lib.money import (
    MONEY,
    PRICE,
    DecimalInput,
    NumberFormatError,
    fits,
    format_amount,
    parse_decimal,
    round_rate,
)

D = Decimal
NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("440.50", "440.50"),
        ("440,50", "440.50"),
        ("1 234,50", "1234.50"),
        (f"1{NBSP}234,50", "1234.50"),
        (f"1{NNBSP}234,5", "1234.5"),
        ("1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1 234 567", "1234567"),
        ("1,234,567", "1234567"),
        ("0,125", "0.125"),  # no thousands start with 0: a decimal comma
        ("1234,567", "1234.567"),  # not grouped as thousands: a decimal comma
        ("12.345", "12.345"),  # a lone dot is always the decimal mark
        (" -5,5 ", "-5.5"),
        ("\u22125", "-5"),
    ],
)
def test_parse_decimal_reads_what_people_type(text, value):
    parsed = parse_decimal(text)
    assert parsed == D(value) and str(parsed) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,234", "'1,234' is ambiguous: write 1234 or 1.234."),
        ("440,500", "'440,500' is ambiguous: write 440500 or 440.500."),
        ("12 34,5", "'12 34,5' has misplaced digit grouping."),
        ("1,23,4", "'1,23,4' has misplaced digit grouping."),
        ("12.34,5", "'12.34,5' has misplaced digit grouping."),
        ("abc", "'abc' is not a number."),
        ("1e5", "'1e5' is not a number."),
        ("NaN", "'NaN' is not a number."),
    ],
)
def test_parse_decimal_refuses_rather_than_guesses(text, message):
    with pytest.raises(NumberFormatError) as caught:
        parse_decimal(text)
    assert str(caught.value) == message


def test_a_file_that_writes_decimal_commas_may_say_so():
    assert parse_decimal("1,234", single_mark_is_decimal=True) == D("1.234")


def test_the_form_field_names_itself_in_the_error():
    field = DecimalInput(label="Price", max_digits=15, decimal_places=6)
    assert field.clean("440,50") == D("440.50")
    with pytest.raises(Exception) as caught:
        field.clean("1,234")
    assert caught.value.messages == ["Price: '1,234' is ambiguous: write 1234 or 1.234."]


def test_fits_compares_with_the_column_after_rounding():
    assert fits(D("99999999999.9999"), MONEY)
    assert fits(D("99999999999.99994"), MONEY)  # rounds down to 99,999,999,999.9999
    assert not fits(D("99999999999.99995"), MONEY)  # rounds up to 10^11
    assert not fits(D("-120000000000"), MONEY)
    assert not fits(D("1000000000"), PRICE)
    assert not fits(D("1e80"), MONEY)  # far past the column: no rounding attempted


def test_round_rate_rounds_half_to_even_at_ten_decimals():
    assert round_rate(D("0.9941099999999999")) == D("0.9941100000")
    assert round_rate(D("1.00000000005")) == D("1.0000000000")
    assert round_rate(D("1.00000000015")) == D("1.0000000002")
    assert round_rate(D("1e80")) == D("1e80")  # no rate: left for the shape check to refuse


def test_format_amount():
    assert format_amount(D("120000000000.000000000000")) == "120,000,000,000"
    assert format_amount(D("99999999999.9999")) == "99,999,999,999.9999"
    assert format_amount(D("1234.5678901234")) == "1,234.56789"
