"""Broker file formats: each a pure parser from the uploaded bytes to rows and row errors.

portfolios.imports resolves the rows' symbols and records them; FORMATS names the parsers
the import endpoint accepts.
"""

from __future__ import annotations

from collections.abc import Callable

from portfolios.importers import generic, ghostfolio, nordnet
from portfolios.importers.base import ParsedRow, ParseResult, RowError, SkippedRow

Parser = Callable[[bytes], ParseResult]

FORMATS: dict[str, Parser] = {
    "generic": generic.parse,
    "nordnet": nordnet.parse,
    "ghostfolio": ghostfolio.parse,
}
# The default: importers.detect tells the format from the file's content.
AUTO = "auto"
FORMAT_CHOICES = (AUTO, *FORMATS)

__all__ = [
    "AUTO",
    "FORMATS",
    "FORMAT_CHOICES",
    "ParseResult",
    "ParsedRow",
    "Parser",
    "RowError",
    "SkippedRow",
]
