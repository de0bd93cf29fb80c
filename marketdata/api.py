"""JSON API for quotes, history and exchange rates: thin views over quotes.py/history.py."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from financedash.lib.api_fields import DecimalField, RateField
from financedash.lib.api_params import PERIOD_PARAMETERS, period
from financedash.lib.money import PRICE, RATE
from marketdata import history, quotes
from marketdata.providers.base import (
    SYMBOL_PATTERN,
    UnknownSymbol,
    is_valid_symbol,
    normalize_symbol,
)

MAX_BATCH = 100
SYMBOL_PARAM = OpenApiParameter(
    "symbol", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=SYMBOL_PATTERN
)


def _symbol(symbol: str) -> str:
    """A malformed symbol is as unknown as a well-formed one nobody lists: 404."""
    ticker = normalize_symbol(symbol)
    if not is_valid_symbol(ticker):
        raise UnknownSymbol(symbol, f"{symbol!r} is not a valid symbol.")
    return ticker


def _day_figure(help_text: str) -> DecimalField:
    return DecimalField(**PRICE, allow_null=True, help_text=help_text)


class QuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = DecimalField(**PRICE)
    currency = serializers.CharField()
    as_of = serializers.DateTimeField()
    stale = serializers.BooleanField()
    # null where the provider has no such figure (ARCHITECTURE section 7).
    previous_close = _day_figure("The previous session's close.")
    change = _day_figure("price - previous_close.")
    change_percent = DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="change / previous_close x 100, to 2 places.",
    )
    day_high = _day_figure("The session's high so far.")
    day_low = _day_figure("The session's low so far.")
    volume = serializers.IntegerField(allow_null=True, help_text="Shares traded in the session.")
    market_cap = DecimalField(
        max_digits=24, decimal_places=0, allow_null=True, help_text="In the quote's currency."
    )
    fifty_two_week_high = _day_figure("The highest price of the last 52 weeks.")
    fifty_two_week_low = _day_figure("The lowest price of the last 52 weeks.")


class BatchRequestSerializer(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.RegexField(
            SYMBOL_PATTERN, error_messages={"invalid": "Not a valid symbol."}
        ),
        min_length=1,
        max_length=MAX_BATCH,
    )


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class BatchResponseSerializer(serializers.Serializer):
    quotes = serializers.DictField(child=QuoteSerializer())
    errors = serializers.DictField(child=ErrorItemSerializer())


class InstrumentInfoSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    exchange = serializers.CharField()
    currency = serializers.CharField()
    isin = serializers.CharField(allow_null=True)


class SearchSerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=100, error_messages={"blank": "Give some text to search for."}
    )


class PricePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    close = DecimalField(**PRICE, min_value=0)


class PriceHistorySerializer(serializers.Serializer):
    symbol = serializers.CharField()
    currency = serializers.CharField()
    prices = PricePointSerializer(many=True)


class ManualPricesSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3, required=False)
    prices = PricePointSerializer(many=True, allow_empty=False)


class RatePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    rate = RateField(**RATE)

    def validate_rate(self, value):
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value


class RateHistorySerializer(serializers.Serializer):
    base = serializers.CharField()
    target = serializers.CharField()
    rates = RatePointSerializer(many=True)


class ManualRatesSerializer(serializers.Serializer):
    rates = RatePointSerializer(many=True, allow_empty=False)


class StoredSerializer(serializers.Serializer):
    stored = serializers.IntegerField()


def _staff_only(request, what: str) -> None:
    """Closes, rates and instruments are shared by every user of the installation: one
    user's typo (or worse) would change everyone's figures."""
    if not request.user.is_staff:
        raise exceptions.PermissionDenied(
            f"Market data is shared by every user: only staff can enter {what}."
        )


@extend_schema(parameters=[SYMBOL_PARAM], responses=QuoteSerializer)
@api_view(["GET"])
def quote(request, symbol):
    return Response(QuoteSerializer(quotes.get_quote(_symbol(symbol))).data)


@extend_schema(request=BatchRequestSerializer, responses=BatchResponseSerializer)
@api_view(["POST"])
def batch(request):
    serializer = BatchRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    result = quotes.quote_batch(serializer.validated_data["symbols"])
    errors = {
        symbol: {"code": exc.error_code, "message": str(exc)}
        for symbol, exc in result.errors.items()
    }
    return Response(
        {
            "quotes": {s: QuoteSerializer(q).data for s, q in result.quotes.items()},
            "errors": errors,
        }
    )


@extend_schema(
    parameters=[OpenApiParameter("q", OpenApiTypes.STR, required=True)],
    responses=InstrumentInfoSerializer(many=True),
)
@api_view(["GET"])
def search(request):
    # A serializer, not the raw parameter: it also refuses NUL characters, which
    # PostgreSQL cannot store or compare.
    serializer = SearchSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    results = history.search_instruments(serializer.validated_data["q"])
    return Response(InstrumentInfoSerializer(results, many=True).data)


@extend_schema(methods=["GET"], parameters=PERIOD_PARAMETERS, responses=PriceHistorySerializer)
@extend_schema(
    methods=["POST"],
    request=ManualPricesSerializer,
    responses={201: StoredSerializer},
    description="Manual closes (creates the instrument if new). Staff only (403 otherwise): "
    "market data is shared by every user.",
)
@api_view(["GET", "POST"])
def stock_history(request, symbol):
    if request.method == "POST":
        _staff_only(request, "closes")
        serializer = ManualPricesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rows = [(p["date"], p["close"]) for p in data["prices"]]
        stored = history.store_prices(symbol, data.get("currency"), rows)
        return Response({"stored": stored}, status=status.HTTP_201_CREATED)
    span = period(request)
    instrument = history.resolve_instrument(symbol)
    rows = history.price_history(instrument, span["start"], span["end"])
    return Response(
        {
            "symbol": instrument.ticker,
            "currency": instrument.currency,
            "prices": PricePointSerializer(
                [{"date": d, "close": c} for d, c in rows], many=True
            ).data,
        }
    )


@extend_schema(methods=["GET"], parameters=PERIOD_PARAMETERS, responses=RateHistorySerializer)
@extend_schema(
    methods=["POST"],
    request=ManualRatesSerializer,
    responses={201: StoredSerializer},
    description="Manual exchange rates (units of `to` per `from`). Staff only (403 otherwise): "
    "market data is shared by every user.",
)
@api_view(["GET", "POST"])
def rate_history(request, base, target):
    base = history.clean_currency(base, "from")
    target = history.clean_currency(target, "to")
    if request.method == "POST":
        _staff_only(request, "exchange rates")
        serializer = ManualRatesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = [(r["date"], r["rate"]) for r in serializer.validated_data["rates"]]
        stored = history.store_rates(base, target, rows)
        return Response({"stored": stored}, status=status.HTTP_201_CREATED)
    span = period(request)
    rows = history.fx_history(base, target, span["start"], span["end"])
    return Response(
        {
            "base": base,
            "target": target,
            "rates": RatePointSerializer([{"date": d, "rate": r} for d, r in rows], many=True).data,
        }
    )
