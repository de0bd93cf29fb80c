"""Numbers and dates per language (issue 15): Norwegian through babel (CLDR), English as
the pages always had it; one parser for what people type, per language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from financedash.lib.l10n import format_input, format_number
from financedash.lib.money import DecimalInput, NumberFormatError, parse_decimal
from financedash.templatetags.dates import day, day_time, moment, month, tick
from financedash.templatetags.money import (
    compact_money,
    format_money,
    percent,
    quantity,
    ratio,
    share,
)

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture
def nb():
    with translation.override("nb"):
        yield


@pytest.fixture
def en():
    with translation.override("en"):
        yield


# -- formatting ---------------------------------------------------------------------------


def test_norwegian_money_is_grouped_with_a_no_break_space_and_ends_in_kr(nb):
    assert format_money(Decimal("1234.5"), "NOK") == f"1{NBSP}234,50{NBSP}kr"
    assert format_money(Decimal("-479763.514"), "NOK") == f"−479{NBSP}763,51{NBSP}kr"
    assert format_money(Decimal("1234.5"), "NOK", signed=True) == f"+1{NBSP}234,50{NBSP}kr"
    # Other currencies by their code, after the amount as Norwegians write it; the euro
    # by its sign.
    assert format_money(Decimal("1234.5"), "USD") == f"1{NBSP}234,50{NBSP}USD"
    assert format_money(Decimal("1234.5"), "EUR") == f"1{NBSP}234,50{NBSP}€"
    assert format_money(Decimal("1234.5")) == f"1{NBSP}234,50"


def test_english_money_keeps_its_look(en):
    assert format_money(Decimal("479763.514"), "NOK") == f"479{NNBSP}763.51\u00a0NOK"
    assert format_money(Decimal("1234.5"), "USD", signed=True) == f"+$1{NNBSP}234.50"


@given(
    value=st.decimals(min_value="-1e12", max_value="1e12", places=2, allow_nan=False),
    currency=st.sampled_from(["NOK", "USD", "SEK", ""]),
    language=st.sampled_from(["nb", "en"]),
)
def test_an_amount_has_no_breaking_space(value, currency, language):
    # Regression: "+9 445 805,11 k" / "r" at 360 px; English joined "NOK" with a plain
    # space. Every space inside an amount is a no-break one, so it never wraps inside.
    with translation.override(language):
        for text in (
            format_money(value, currency, signed=True),
            compact_money(value, currency),
        ):
            assert not any(c.isspace() and c not in (NBSP, NNBSP) for c in text), text


def test_other_figures_follow_the_language(nb):
    assert quantity(Decimal("1234.00012000")) == f"1{NBSP}234,00012"
    assert percent(Decimal("-3.456")) == f"−3,46{NBSP}%"
    assert ratio(Decimal("0.1")) == f"+10,00{NBSP}%"
    assert share(Decimal("12.34")) == f"12,3{NBSP}%"
    assert compact_money(Decimal("1250000"), "NOK") == f"1,25{NBSP}mill.{NBSP}kr"
    assert compact_money(Decimal("850000")) == f"850{NBSP}k"


def test_english_figures_are_unchanged(en):
    assert quantity(Decimal("1234.00012000")) == f"1{NNBSP}234.00012"
    assert percent(Decimal("-3.456")) == f"−3.46{NBSP}%"
    assert compact_money(Decimal("1250000"), "NOK") == f"1.25{NBSP}M{NBSP}NOK"


def test_unreadable_figures_still_show_a_dash(nb):
    assert format_money("x", "NOK") == "—"
    assert quantity(None) == "—"


def test_dates_per_language():
    day_ = dt.date(2026, 12, 1)
    at = timezone.make_aware(dt.datetime(2026, 12, 1, 14, 5))
    with translation.override("nb"):
        assert day(day_) == "1. des. 2026"
        assert day(day_, "short") == "01.12.2026"
        assert moment(at) == "01.12.2026 14:05"
        assert day_time(at) == "1. des. 14:05"
    with translation.override("en"):
        assert day(day_) == "1 Dec 2026"
        assert day(day_, "short") == "2026-12-01"
        assert moment(at) == "2026-12-01 14:05"
        assert day_time(at) == "1 Dec 14:05"
    assert day(None) == "" and day("2026-12-01") == ""


def test_months_and_chart_ticks_per_language():
    # Regression: Django's "M Y" wrote "Mai 2026" / "31 Des 2019" in Norwegian.
    may, december = dt.date(2026, 5, 1), dt.date(2019, 12, 31)
    with translation.override("nb"):
        assert month(may) == "mai 2026" and month(december) == "des. 2019"
        assert tick(december, "j M") == "31. des."
        assert tick(december, "M Y") == "des. 2019"
        assert tick(december, "Y") == "2019"
    with translation.override("en"):
        assert month(may) == "May 2026" and month(december) == "Dec 2019"
        assert tick(december, "j M") == "31 Dec"
        assert tick(december, "M Y") == "Dec 2019"
        assert tick(december, "Y") == "2019"
    assert month(None) == "" and tick(None) == ""


def test_a_form_shows_a_stored_number_grouped_in_its_language():
    # Every stored digit stays (two decimals of 12000000.00); plain spaces, easy to edit.
    assert format_input(Decimal("12000000.00"), "nb") == "12 000 000,00"
    assert format_input(Decimal("12000000.00"), "en") == "12 000 000.00"
    assert format_input(Decimal("0.1234567890"), "nb") == "0,1234567890"
    assert format_number(Decimal("2.500000"), "nb") == "2,5"
    assert format_number(Decimal("2.500000"), "en") == "2.5"


# -- parsing ------------------------------------------------------------------------------

# (text, Norwegian reading, English reading); None = refused as ambiguous or malformed.
CASES = [
    ("1 234,50", "1234.50", "1234.50"),  # spaces group, so the comma can only be decimal
    ("1234,5", "1234.5", "1234.5"),
    (f"1{NBSP}234,50", "1234.50", "1234.50"),
    (f"1{NNBSP}234,50", "1234.50", "1234.50"),
    ("1234.50", "1234.50", "1234.50"),  # a plain dot decimal is read in Norwegian too
    ("0.125", "0.125", "0.125"),  # no grouping reads "0.125" as 125
    ("1.234,50", "1234.50", "1234.50"),  # both marks: the last is decimal, in every language
    ("1,234.50", "1234.50", "1234.50"),
    ("1,234", "1.234", None),  # a Norwegian decimal comma; 1234 or 1.234 to an English eye
    ("1.234", None, "1.234"),  # the mirror case: 1234 or 1.234 to a Norwegian eye
    ("1.234.567", "1234567", "1234567"),
    ("12 34,5", None, None),  # misplaced grouping
    ("abc", None, None),
]


@pytest.mark.parametrize(("text", "norwegian", "english"), CASES)
def test_parse_per_language(text, norwegian, english):
    for language, expected in (("nb", norwegian), ("en", english)):
        if expected is None:
            with pytest.raises(NumberFormatError):
                parse_decimal(text, language=language)
        else:
            assert parse_decimal(text, language=language) == Decimal(expected), language


def test_without_a_language_files_keep_the_english_rule():
    # The importers read files, not a person's language.
    with translation.override("nb"):
        with pytest.raises(NumberFormatError):
            parse_decimal("1,234")
        assert parse_decimal("1.234") == Decimal("1.234")


def test_the_refusal_speaks_the_language(nb):
    with pytest.raises(NumberFormatError, match="tvetydig: skriv 1234 eller 1,234"):
        parse_decimal("1.234", language="nb")


@given(st.decimals(min_value=-(10**11), max_value=10**11, places=2, allow_nan=False))
def test_a_shown_value_reads_back_as_itself(value):
    # What a form shows is what it reads, in either language.
    for language in ("nb", "en"):
        assert parse_decimal(format_input(value, language), language=language) == value


def test_the_form_field_reads_and_shows_the_request_language():
    field = DecimalInput(max_digits=15, decimal_places=2)
    with translation.override("nb"):
        assert field.clean("1 234,50") == Decimal("1234.50")
        assert field.clean("1,5") == Decimal("1.5")
        assert field.prepare_value(Decimal("12000000.00")) == "12 000 000,00"
    with translation.override("en"):
        assert field.clean("1,234.50") == Decimal("1234.50")
        assert field.prepare_value(Decimal("12000000.00")) == "12 000 000.00"
