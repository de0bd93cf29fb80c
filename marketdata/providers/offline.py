"""No outside calls at all: everything comes from what is stored (manual entries, imports,
earlier syncs). For users without internet and for funds Yahoo does not carry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marketdata import fx
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import (
    InstrumentInfo,
    Provider,
    Quote,
    UnknownSymbol,
    close_timestamp,
    fx_symbol,
    normalize_symbol,
)


class OfflineProvider(Provider):
    name = "offline"
    stored_only = True

    def get_quotes(self, symbols: list[str]) -> dict[str, Quote]:
        latest = HistoricalStockPrice.objects.latest_closes(normalize_symbol(s) for s in symbols)
        # A stored close is never live: always stale, dated by its day.
        return {
            symbol: Quote(symbol, close, currency, close_timestamp(day), stale=True)
            for symbol, (day, close, currency) in latest.items()
        }

    def get_history(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        symbol = normalize_symbol(symbol)
        if not Instrument.objects.filter(ticker=symbol).exists():
            raise UnknownSymbol(symbol)
        return list(
            HistoricalStockPrice.objects.filter(
                instrument__ticker=symbol, date__gte=start, date__lte=end
            )
            .order_by("date")
            .values_list("date", "close")
        )

    def get_splits(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        # Never calls out: the splits already stored (InstrumentSplit) are all there is.
        return []

    def get_fx_history(
        self, base: str, target: str, start: date, end: date
    ) -> list[tuple[date, Decimal]]:
        rows = HistoricalExchangeRate.objects.filter(date__gte=start, date__lte=end).order_by(
            "date"
        )
        direct = rows.filter(base_currency=base, target_currency=target)
        inverse = rows.filter(base_currency=target, target_currency=base)
        result = fx.pair_series(
            direct.values_list("date", "rate"), inverse.values_list("date", "rate")
        )
        if (
            not result
            and not HistoricalExchangeRate.objects.for_pairs(
                [(base, target), (target, base)]
            ).exists()
        ):
            raise UnknownSymbol(fx_symbol(base, target))
        return result

    def get_info(self, symbol: str) -> InstrumentInfo:
        symbol = normalize_symbol(symbol)
        instrument = Instrument.objects.filter(ticker=symbol).first()
        if instrument is None:
            raise UnknownSymbol(symbol)
        return InstrumentInfo(
            symbol=instrument.ticker,
            name=instrument.company_name,
            exchange=instrument.exchange,
            currency=instrument.currency,
            isin=instrument.isin,
        )

    def search(self, query: str) -> list[InstrumentInfo]:
        # history.search_instruments has already searched the stored instruments.
        return []
