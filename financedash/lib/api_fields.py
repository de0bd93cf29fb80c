"""Serializer fields shared by the API."""

from __future__ import annotations

import decimal

from rest_framework import serializers

from financedash.lib.money import round_rate

# Money written out: computed totals may outgrow the stored column, so two digits of headroom.
MONEY_OUT = {"max_digits": 17, "decimal_places": 2}

# JSON numbers are strict: a decimal comma ("440,50") is an error, never reinterpreted.
DECIMAL_ERRORS = {
    "invalid": "A valid number is required: use a dot as the decimal mark, e.g. 440.50."
}


class DecimalField(serializers.DecimalField):
    """DRF's DecimalField, except that writing out a value with more digits than
    max_digits does not fail the response: a stored row out of its column's shape
    (SQLite keeps it) or a large computed figure is answered as it is, rounded to
    decimal_places; a stored infinity or NaN (only raw SQL makes one) is written as
    "Infinity" or "NaN" rather than failing the whole answer. Input is validated exactly
    as DRF does."""

    def quantize(self, value):
        try:
            return super().quantize(value)
        except decimal.InvalidOperation:
            if not value.is_finite():
                return value
            places = self.decimal_places or 0
            context = decimal.Context(prec=max(28, value.adjusted() + places + 2))
            return value.quantize(
                decimal.Decimal(1).scaleb(-places), rounding=self.rounding, context=context
            )


class RateField(DecimalField):
    """An exchange rate: digits past the stored precision are not an error but rounded
    (money.round_rate), as for a rate pasted from a spreadsheet."""

    def validate_precision(self, value):
        return super().validate_precision(round_rate(value))
