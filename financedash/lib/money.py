"""Field shapes shared by every model that stores money, prices, quantities or rates.

SQLite stores DecimalField as REAL and quantizes on read, which is exact up to 15
significant digits; every field stays within that so both databases round-trip exactly.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from financedash.lib.l10n import decimal_comma, format_input

MONEY = {"max_digits": 15, "decimal_places": 4}  # derived money, full cents with headroom
ENTERED_MONEY = {"max_digits": 15, "decimal_places": 2}  # what a person types: credit, goals
PRICE = {"max_digits": 15, "decimal_places": 6}
QUANTITY = {"max_digits": 15, "decimal_places": 6}
RATE = {"max_digits": 15, "decimal_places": 10}

ZERO = Decimal("0")

currency_validator = RegexValidator(
    r"^[A-Z]{3}$", gettext_lazy("Use a three-letter ISO 4217 code, e.g. NOK.")
)


def CurrencyField(**kwargs) -> models.CharField:  # noqa: N802 - reads like a field class
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("validators", [currency_validator])
    return models.CharField(**kwargs)


def non_negative() -> list[MinValueValidator]:
    return [MinValueValidator(ZERO)]


def limit(shape: dict) -> Decimal:
    """The first magnitude a column of this shape cannot store: 10^11 for MONEY."""
    return _POWERS[shape["max_digits"] - shape["decimal_places"]]


_POWERS = [Decimal(10) ** n for n in range(16)]


def quantum(shape: dict) -> Decimal:
    return Decimal(1).scaleb(-shape["decimal_places"])


def fits(value: Decimal, shape: dict) -> bool:
    """Whether the value, rounded to the column's decimal places, fits the column."""
    largest = limit(shape)
    if not -largest < value < largest:
        return False
    if -largest + 1 < value < largest - 1:  # the common case: no rounding can reach the limit
        return True
    with localcontext(Context(prec=60)):
        return abs(value.quantize(quantum(shape), ROUND_HALF_EVEN)) < largest


def round_rate(value: Decimal) -> Decimal:
    """An exchange rate rounded to the stored precision (10 dp, half to even): a rate
    pasted from a spreadsheet (0.9941099999999999) is meant, not wrong. One too large to
    be any rate is left as it is, for the column's shape to refuse."""
    if not value.is_finite() or value.adjusted() > 40:
        return value
    with localcontext(Context(prec=60)):
        return value.quantize(quantum(RATE), ROUND_HALF_EVEN)


def format_amount(value: Decimal) -> str:
    """1,234,567.8 for messages: digits grouped, at most 6 decimals, trailing zeros dropped."""
    with localcontext(Context(prec=60)):
        if value.as_tuple().exponent < -6:
            value = value.quantize(Decimal("1e-6"), ROUND_HALF_EVEN)
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- reading numbers people type ---------------------------------------------------------


class NumberFormatError(ValueError):
    """Text that is not a number, or whose meaning is ambiguous."""


# Spaces of every width are digit grouping: Norwegian writes 1 234,50, often with a
# non-breaking (U+00A0) or narrow non-breaking (U+202F) space.
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]")
_PLAIN = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+$")


def parse_decimal(
    text: str, *, single_mark_is_decimal: bool = False, language: str | None = None
) -> Decimal:
    """A number as people write it: 440.50, 440,50, 1 234,50, 1,234.50 or 1.234,50.

    With both marks the last one is the decimal mark and the other groups digits, in every
    language (1.234,50 and 1,234.50 are both 1234.50: no reader takes them otherwise); a
    mark repeated in the whole part groups digits (1.234.567); spaces of any width group
    digits. A single comma is the decimal mark (440,50), except where it could as well
    group thousands: "1,234" is 1234 to an English reader and 1.234 to a Norwegian one, so
    it is refused rather than guessed, unless the caller knows its source writes decimal
    commas (single_mark_is_decimal).

    A single dot is the decimal mark, except that `language` (a form's: the request's
    language) turns the comma rule round for a language that writes decimal commas: in
    Norwegian "1,234" is 1.234 and "1.234", which a Norwegian may mean as 1234, is refused
    as ambiguous; "1234.50" and "0.125" are still read (no grouping reads that way).
    Without a language (files, the API) the English rule holds.
    """
    comma_language = language is not None and decimal_comma(language)
    single_mark_is_decimal = single_mark_is_decimal or comma_language
    original = text.strip()
    value = original.replace("\u2212", "-")
    sign = ""
    if value[:1] in ("+", "-"):
        sign, value = value[0], value[1:].lstrip()
    spaced = bool(_SPACES.search(value))
    if spaced:
        whole = re.split(r"[.,]", value, maxsplit=1)[0]
        if not re.fullmatch(r"\d{1,3}([ \t\u00a0\u2007\u202f]\d{3})+", whole):
            raise NumberFormatError(
                gettext("%(text)r has misplaced digit grouping.") % {"text": original}
            )
        value = _SPACES.sub("", value)
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        whole, _, fraction = value.rpartition(decimal_mark)
        value = _ungroup(original, whole, grouping) + "." + fraction
    elif value.count(",") > 1 or value.count(".") > 1:
        grouping = "," if "," in value else "."
        value = _ungroup(original, value, grouping)
    elif "." in value and comma_language and not spaced:
        whole, _, fraction = value.partition(".")
        if len(fraction) == 3 and _GROUPED.match(f"{whole},{fraction}") and whole.lstrip("0"):
            raise NumberFormatError(
                gettext(
                    "%(text)r is ambiguous: write %(whole)s%(fraction)s or %(whole)s,%(fraction)s."
                )
                % {"text": original, "whole": whole, "fraction": fraction}
            )
    elif "," in value:
        whole, _, fraction = value.partition(",")
        if (
            not (single_mark_is_decimal or spaced)
            and len(fraction) == 3
            and _GROUPED.match(value)
            and whole.lstrip("0")
        ):
            raise NumberFormatError(
                gettext(
                    "%(text)r is ambiguous: write %(whole)s%(fraction)s or %(whole)s.%(fraction)s."
                )
                % {"text": original, "whole": whole, "fraction": fraction}
            )
        value = f"{whole}.{fraction}"
    if not _PLAIN.match(value):
        raise NumberFormatError(gettext("%(text)r is not a number.") % {"text": original})
    return Decimal(sign + value)


def _ungroup(original: str, whole: str, grouping: str) -> str:
    if not _GROUPED.match(whole.replace(grouping, ",")):
        raise NumberFormatError(
            gettext("%(text)r has misplaced digit grouping.") % {"text": original}
        )
    return whole.replace(grouping, "")


class DecimalInput(forms.DecimalField):
    """A decimal form field that reads what people type (parse_decimal) in a text input:
    a browser's number input drops a decimal comma, or the whole value, before the
    server sees it. `decimal_places=None` leaves rounding to the service (exchange rates).
    It reads and shows numbers in the request's language: 1 234,50 in Norwegian."""

    def __init__(self, *, max_digits=None, decimal_places=None, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return parse_decimal(str(value), language=translation.get_language())
        except NumberFormatError as exc:
            label = f"{self.label}: " if self.label else ""
            raise ValidationError(f"{label}{exc}", code="invalid") from exc

    def prepare_value(self, value):
        # A stored value grouped and in the language's decimal mark: 12 000 000,00 (nb).
        if isinstance(value, Decimal):
            return format_input(value)
        return value

    def widget_attrs(self, widget):
        # No min/max/step: they belong to a number input; this one is text.
        attrs = super().widget_attrs(widget)
        for name in ("min", "max", "step"):
            attrs.pop(name, None)
        attrs.update(inputmode="decimal", autocomplete="off")
        return attrs


def decimal_formfield(db_field, **kwargs) -> forms.Field | None:
    """A ModelForm's formfield_callback: decimal fields as DecimalInput, the rest as usual."""
    if isinstance(db_field, models.DecimalField):
        kwargs["form_class"] = DecimalInput
    return db_field.formfield(**kwargs)


# For a ModelAdmin's formfield_overrides: the admin reads numbers as every form does.
ADMIN_DECIMALS = {models.DecimalField: {"form_class": DecimalInput}}
