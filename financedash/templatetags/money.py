"""The one money formatter: `{{ amount|money:"NOK" }}` and `{{ amount|signed_money:cur }}`,
with its compact form for chart axes and the percent and quantity formats beside it."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from babel.numbers import format_decimal, get_currency_symbol, get_decimal_symbol
from django import template

from financedash.lib.l10n import babel_locale
from financedash.lib.privacy import MASK, hidden

register = template.Library()

CENT = Decimal("0.01")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def _quantized(value, places: int) -> Decimal | None:
    """The value to `places` decimals, or None when it is no finite number: a filter must
    never fail the page over one figure (a 60-digit return, an unreadable amount)."""
    try:
        amount = Decimal(value)
        exponent = Decimal(1).scaleb(-places)
        digits = max(28, amount.adjusted() + places + 2)
        return amount.quantize(exponent, rounding=ROUND_HALF_EVEN, context=Context(prec=digits))
    except (InvalidOperation, TypeError, ValueError):
        return None


def _group(amount: Decimal, places: int) -> str:
    """The digits of |amount| to `places` decimals, grouped as the active language writes
    them: 1 234,50 in Norwegian (CLDR's no-break space), 1 234.50 in English (a narrow one,
    as the English pages always had)."""
    locale = babel_locale()
    if locale is not None:
        pattern = "#,##0" + ("." + "0" * places if places > 0 else "")
        return format_decimal(abs(amount), format=pattern, locale=locale)
    text = f"{abs(amount):,.{places}f}".replace(",", "\u202f")
    return text


def format_money(value, currency: str = "", *, signed: bool = False, places: int = 2) -> str:
    if hidden():
        return MASK
    if value is None or value == "":
        return "—"
    amount = _quantized(value, places)
    if amount is None:
        return "—"
    sign = "−" if amount < 0 else ("+" if signed and amount > 0 else "")
    digits = _group(amount, places)
    locale = babel_locale()
    if locale is not None and currency:
        # The locale's own symbol and order: 1 234,50 kr, 1 234,50 USD.
        return f"{sign}{digits}\u00a0{get_currency_symbol(currency, locale)}"
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    # A no-break space: an amount must never wrap between its number and its currency.
    return f"{sign}{digits}\u00a0{currency}" if currency else f"{sign}{digits}"


@register.filter
def money(value, currency: str = "") -> str:
    return format_money(value, currency)


@register.filter
def signed_money(value, currency: str = "") -> str:
    return format_money(value, currency, signed=True)


@register.filter
def quantity(value) -> str:
    """Up to 8 decimals, no trailing zeros: 10, 2.5, 0.00012345."""
    amount = None if value is None else _quantized(value, 8)
    if amount is None:
        return "—"
    amount = amount.normalize()
    locale = babel_locale()
    if locale is not None:
        return format_decimal(amount, format="#,##0.########", locale=locale)
    text = f"{amount:,f}".replace(",", "\u202f")
    return text


@register.filter
def percent(value, places: int = 2) -> str:
    amount = None if value is None else _quantized(value, int(places))
    if amount is None:
        return "—"
    sign = "−" if amount < 0 else ("+" if amount > 0 else "")
    return f"{sign}{_decimals(abs(amount), int(places))}\u00a0%"


@register.filter
def gain_class(value) -> str:
    """CSS class for a gain: colour is never the only signal, the sign is always shown."""
    if value is None or value == "":
        return ""
    try:
        value = Decimal(value)
        return "gain" if value > 0 else ("loss" if value < 0 else "")
    except (InvalidOperation, TypeError, ValueError):
        return ""


_COMPACT = ((Decimal("1e9"), "bn"), (Decimal("1e6"), "M"), (Decimal("1e3"), "k"))
# Norwegian short forms (CLDR's nb "short" decimal format): 1,2 mrd., 850 k is "850k" there
# too, but "M" reads as nothing in Norwegian.
_NB_COMPACT = {"bn": "mrd.", "M": "mill."}


def _decimals(amount: Decimal, places: int) -> str:
    """A rate's digits with the active language's decimal mark (no grouping: rates are small)."""
    locale = babel_locale()
    text = f"{amount:.{places}f}"
    return text if locale is None else text.replace(".", get_decimal_symbol(locale))


@register.filter
def compact_money(value, currency: str = "") -> str:
    """Short amounts for chart axes: 1.25 M, 850 k, 12.5 (currency after, when given)."""
    if hidden():
        return MASK
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    sign = "−" if amount < 0 else ""
    size, suffix = abs(amount), ""
    for threshold, name in _COMPACT:
        if size >= threshold:
            size, suffix = size / threshold, name
            break
    # Trailing zeros are dropped below, so 2 places only show where a tick needs them.
    places = 0 if size >= 100 else (1 if size >= 10 else 2)
    rounded = _quantized(size, places)
    if rounded is None:
        return "—"
    digits = f"{rounded:,f}"
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    digits = digits.replace(",", chr(0x202F))
    locale = babel_locale()
    if locale is not None:
        # 1,25 mill. kr: the digits and currency in the locale's way, the short suffixes too.
        digits = format_decimal(rounded, format="#,##0.##", locale=locale)
        suffix = _NB_COMPACT.get(suffix, suffix)
        currency = get_currency_symbol(currency, locale) if currency else ""
    text = f"{sign}{digits}"
    text = f"{text}\u00a0{suffix}" if suffix else text
    return f"{text}\u00a0{currency}" if currency else text


@register.filter
def share(value, places: int = 1) -> str:
    """A part of a whole (allocation, goal progress): never signed, unlike `percent`."""
    amount = None if value is None else _quantized(value, int(places))
    if amount is None:
        return "—"
    return f"{_decimals(amount, int(places))}\u00a0%"


@register.filter
def ratio(value, places: int = 2) -> str:
    """A return given as a fraction (0.1 is 10 %), shown like `percent`."""
    if value is None:
        return "—"
    try:
        return percent(Decimal(value) * 100, places)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
