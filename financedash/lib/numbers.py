"""Numbers in the language of the request: which babel locale formats them, and how a
number is written back into a form field so that it reads, and parses, as typed.

English keeps the look the pages always had (1 234.50 with a narrow no-break space,
financedash.templatetags.money); every other language is formatted by babel from CLDR
(Norwegian: 1 234,50 kr, 1. des. 2026). The JSON API never comes here: it writes dot
decimals as strings whatever the language.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from django.utils import translation

# Django's language code -> the CLDR locale babel formats with.
_LOCALES = {"nb": Locale.parse("nb_NO")}


def babel_locale(language: str | None = None) -> Locale | None:
    """The babel locale for the language (the active one by default), or None for English,
    which is formatted as it always was."""
    code = (language or translation.get_language() or "en").lower()
    return _LOCALES.get(code.split("-")[0])


def decimal_comma(language: str | None = None) -> bool:
    """Whether the language writes 1,5 for one and a half."""
    locale = babel_locale(language)
    return locale is not None and locale.number_symbols["latn"]["decimal"] == ","


def format_input(value: Decimal, language: str | None = None) -> str:
    """A stored number as a form field shows it: every stored digit kept (12000000.00 stays
    two decimals, a rate keeps ten), the whole part grouped with plain spaces, the
    language's decimal mark. Plain spaces, not no-break ones: the text is edited, and
    parse_decimal reads any of them back."""
    if not value.is_finite():
        return str(value)
    places = max(0, -value.as_tuple().exponent)
    text = f"{value:,.{places}f}".replace(",", " ")
    if decimal_comma(language):
        text = text.replace(".", ",")
    return text
