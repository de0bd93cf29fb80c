"""The one money formatter: `{{ amount|money:"NOK" }}` and `{{ amount|signed_money:cur }}`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def _group(amount: Decimal, places: int) -> str:
    text = f"{abs(amount):,.{places}f}".replace(",", "\u202f")
    return text


def format_money(value, currency: str = "", *, signed: bool = False, places: int = 2) -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    sign = "−" if amount < 0 else ("+" if signed and amount > 0 else "")
    digits = _group(amount, places)
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency}".rstrip()


@register.filter
def money(value, currency: str = "") -> str:
    return format_money(value, currency)


@register.filter
def signed_money(value, currency: str = "") -> str:
    return format_money(value, currency, signed=True)


@register.filter
def quantity(value) -> str:
    """Up to 8 decimals, no trailing zeros: 10, 2.5, 0.00012345."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal("1e-8")).normalize()
    text = f"{amount:,f}".replace(",", "\u202f")
    return text


@register.filter
def percent(value, places: int = 2) -> str:
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal(1).scaleb(-int(places)))
    sign = "−" if amount < 0 else ("+" if amount > 0 else "")
    return f"{sign}{abs(amount):.{int(places)}f}\u00a0%"


@register.filter
def gain_class(value) -> str:
    """CSS class for a gain: colour is never the only signal, the sign is always shown."""
    if value is None:
        return ""
    return "gain" if Decimal(value) > 0 else ("loss" if Decimal(value) < 0 else "")
