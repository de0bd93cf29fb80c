"""Which format a file is in, told from its content alone (the import's default, `auto`).

Pure: bytes in, a Detection out. The file name is not consulted: a Nordnet export saved
again from a spreadsheet keeps its `.csv` name but changes encoding and separator, and
exports are often renamed. What is read instead:

- Ghostfolio: JSON (after any byte-order mark and white space) whose top level is an
  object with an `activities` list, as Ghostfolio's "Export" writes it.
- Nordnet: a header with Nordnet's own columns (Id, the transaction type, the security,
  the quantity and the price, in Norwegian or Swedish; see importers.nordnet.COLUMNS), in
  any encoding importers.base.decode reads (UTF-16 as downloaded, UTF-8 with or without
  a byte-order mark, Windows-1252) and with tabs, semicolons or commas.
- Generic: a header naming the generic columns (date, type, symbol, quantity, price).

Nordnet is tried before generic because its headers never satisfy the generic ones, and
a file that matches none is reported with what its header holds, so the reason is plain.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext, ngettext

from portfolios.importers import generic, ghostfolio, nordnet
from portfolios.importers.base import decode, header_key, read_rows

GENERIC = "generic"
NORDNET = "nordnet"
GHOSTFOLIO = "ghostfolio"

_SWEDISH_ONLY = {"transaktionstyp", "värdepapper", "antal", "affärsdag", "depå"}


@dataclass(frozen=True)
class Detection:
    format: str | None  # None: no format matched
    reason: str  # what gave it away, or why nothing matched


def detect(data: bytes) -> Detection:
    json_doc = ghostfolio.read_document(data)
    if json_doc is not None:
        if isinstance(json_doc, dict) and isinstance(json_doc.get("activities"), list):
            count = len(json_doc["activities"])
            return Detection(
                GHOSTFOLIO,
                ngettext(
                    "a JSON export with %(count)s Ghostfolio activity",
                    "a JSON export with %(count)s Ghostfolio activities",
                    count,
                )
                % {"count": count},
            )
        return Detection(
            None,
            gettext("The file is JSON, but not a Ghostfolio export (it has no activities list)."),
        )
    text = decode(data)
    header, _ = read_rows(text, "\t;,")
    keys = {header_key(name) for name in header}
    columns = nordnet.header_columns(header)
    if all(name in columns for name in nordnet.REQUIRED):
        if keys & _SWEDISH_ONLY:
            return Detection(NORDNET, gettext("Nordnet's Swedish column names"))
        return Detection(NORDNET, gettext("Nordnet's Norwegian column names"))
    if all(name in keys for name in generic.REQUIRED):
        return Detection(
            GENERIC,
            gettext("the generic columns %(columns)s") % {"columns": ", ".join(generic.REQUIRED)},
        )
    shown = ", ".join(name for name in header[:8] if name) or gettext("nothing")
    return Detection(
        None,
        gettext(
            "Could not tell the file's format from its first line (%(shown)s). Choose the "
            "format, or use the generic columns date, type, symbol, quantity, price."
        )
        % {"shown": shown},
    )
