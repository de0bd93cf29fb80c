"""JSON API for portfolios, holdings and transactions: thin views over services and the
valuation read path. Every lookup is scoped to the requesting user (404 otherwise)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from financedash.lib.api_fields import DECIMAL_ERRORS, MONEY_OUT, DecimalField, RateField
from financedash.lib.api_params import PERIOD_PARAMETERS, PeriodSerializer, period
from financedash.lib.money import ENTERED_MONEY, MONEY, PRICE, QUANTITY, RATE
from financedash.lib.responses import cached_body, money_text
from marketdata.history import resolve_instrument
from marketdata.providers.base import UnknownSymbol
from portfolios import backfill, services, valuation
from portfolios.importers import FORMATS
from portfolios.imports import MAX_IMPORT_BYTES, STATUSES, import_transactions
from portfolios.models import Holding, Portfolio, Transaction
from portfolios.performance import DEFINITIONS
from portfolios.performance_data import performance_for, response_key

PERCENT_OUT = {"max_digits": 12, "decimal_places": 2}


def _decimal(shape: dict, **kwargs) -> serializers.DecimalField:
    kwargs.setdefault("error_messages", DECIMAL_ERRORS)
    return DecimalField(**shape, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class OwnedPortfolioField(serializers.PrimaryKeyRelatedField):
    """A portfolio id that must be one of the requesting user's: any other id is
    "does not exist", exactly as for an id nobody has."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:  # schema generation
            return Portfolio.objects.none()
        return Portfolio.objects.owned_by(request.user)


class PortfolioWriteSerializer(serializers.ModelSerializer):
    used_credit = _decimal(ENTERED_MONEY, min_value=0, required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False, default="NOK")

    class Meta:
        model = Portfolio
        fields = (
            "id",
            "name",
            "description",
            "brokerage_firm",
            "currency",
            "used_credit",
            "dividends_reduce_cost_basis",
        )
        read_only_fields = ("id",)

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a three-letter ISO 4217 code, e.g. NOK.")
        return value

    def save(self, **kwargs):
        portfolio = self.instance or Portfolio(user=self.context["request"].user)
        for field, value in {**self.validated_data, **kwargs}.items():
            setattr(portfolio, field, value)
        self.instance = services.save_portfolio(portfolio)
        return self.instance


class HoldingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    company_name = serializers.CharField()
    quantity = _decimal({"max_digits": 17, "decimal_places": 8})
    average_cost = _decimal({"max_digits": 17, "decimal_places": 6})
    total_cost = _decimal(MONEY_OUT)
    current_price = _decimal({"max_digits": 17, "decimal_places": 6}, allow_null=True)
    price_currency = serializers.CharField()
    price_as_of = serializers.DateTimeField(allow_null=True)
    price_is_stale = serializers.BooleanField()
    current_value = _decimal(MONEY_OUT, allow_null=True)
    unrealized_gain_loss = _decimal(MONEY_OUT, allow_null=True)
    unrealized_gain_loss_percent = _decimal(PERCENT_OUT, allow_null=True)
    realized_gain = _decimal(MONEY_OUT)
    dividends = _decimal(MONEY_OUT)
    allocation_percent = _decimal(PERCENT_OUT, allow_null=True)
    error = serializers.CharField(
        allow_null=True,
        help_text="Why this holding's figures could not be computed (then null, and left "
        "out of the portfolio's totals); null when they could.",
    )


class PortfolioSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    brokerage_firm = serializers.CharField()
    currency = serializers.CharField()
    used_credit = _decimal(MONEY_OUT)
    dividends_reduce_cost_basis = serializers.BooleanField()
    total_value = _decimal(MONEY_OUT)
    total_cost = _decimal(MONEY_OUT)
    total_gain_loss = _decimal(MONEY_OUT)
    total_gain_loss_percent = _decimal(PERCENT_OUT, allow_null=True)
    realized_gain = _decimal(MONEY_OUT)
    dividends = _decimal(MONEY_OUT)
    net_value = _decimal(MONEY_OUT)
    prices_as_of = serializers.DateTimeField(allow_null=True)
    total_return = _decimal(MONEY_OUT, help_text=DEFINITIONS["total_return"])


class PortfolioDetailSerializer(PortfolioSummarySerializer):
    holdings = HoldingSerializer(many=True)


def _portfolio_for(request, pk) -> Portfolio:
    return get_object_or_404(Portfolio.objects.owned_by(request.user), pk=pk)


def _holding_for(request, pk) -> Holding:
    return get_object_or_404(Holding.objects.owned_by(request.user), pk=pk)


def _summary_response(portfolio: Portfolio, status_code=status.HTTP_200_OK):
    summary = valuation.summarize([portfolio])[0]
    return Response(PortfolioDetailSerializer(summary).data, status=status_code)


class PortfolioList(generics.GenericAPIView):
    serializer_class = PortfolioWriteSerializer
    pagination_class = None

    @extend_schema(responses=PortfolioSummarySerializer(many=True))
    def get(self, request):
        summaries = valuation.summarize(Portfolio.objects.owned_by(request.user))
        return Response(PortfolioSummarySerializer(summaries, many=True).data)

    @extend_schema(request=PortfolioWriteSerializer, responses={201: PortfolioDetailSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        portfolio = serializer.save()
        return _summary_response(portfolio, status.HTTP_201_CREATED)


class PortfolioDetail(generics.GenericAPIView):
    serializer_class = PortfolioWriteSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Portfolio.objects.none()
        return Portfolio.objects.owned_by(self.request.user)

    @extend_schema(responses=PortfolioDetailSerializer)
    def get(self, request, pk):
        return _summary_response(self.get_object())

    @extend_schema(request=PortfolioWriteSerializer, responses=PortfolioDetailSerializer)
    def put(self, request, pk):
        return self._update(request, partial=False)

    @extend_schema(request=PortfolioWriteSerializer, responses=PortfolioDetailSerializer)
    def patch(self, request, pk):
        return self._update(request, partial=True)

    def _update(self, request, partial):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return _summary_response(serializer.save())

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.delete_portfolio(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsedCreditSerializer(serializers.Serializer):
    used_credit = _decimal(ENTERED_MONEY, min_value=0)


@extend_schema(request=UsedCreditSerializer, responses=PortfolioDetailSerializer)
@api_view(["PUT"])
def used_credit(request, pk):
    portfolio = _portfolio_for(request, pk)
    serializer = UsedCreditSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    portfolio.used_credit = serializer.validated_data["used_credit"]
    services.save_portfolio(portfolio)
    return _summary_response(portfolio)


@extend_schema(responses=HoldingSerializer(many=True))
@api_view(["GET"])
def portfolio_holdings(request, pk):
    summary = valuation.summarize([_portfolio_for(request, pk)])[0]
    return Response(HoldingSerializer(summary.holdings, many=True).data)


@extend_schema(responses={204: None})
@api_view(["DELETE"])
def holding_delete(request, pk):
    services.delete_holding(_holding_for(request, pk))
    return Response(status=status.HTTP_204_NO_CONTENT)


class TransactionSerializer(serializers.ModelSerializer):
    portfolio = OwnedPortfolioField()
    symbol = serializers.CharField(max_length=32, source="holding.instrument.ticker")
    currency = serializers.CharField(
        max_length=3,
        required=False,
        source="holding.instrument.currency",
        help_text="The instrument's currency; needed only when the provider cannot tell.",
    )
    type = serializers.ChoiceField(choices=Transaction.Type.choices)
    quantity = _decimal(QUANTITY)
    price = _decimal(PRICE, min_value=0)
    fees = _decimal(MONEY, min_value=0, required=False)
    exchange_rate = RateField(
        **RATE,
        required=False,
        error_messages=DECIMAL_ERRORS,
        help_text="Portfolio-currency units per instrument-currency unit, rounded to 10 "
        "decimals. 1, and only 1, when the currencies match. Defaults to the rate of the "
        "transaction date (stored, or fetched from the provider); an edit that leaves it "
        "out keeps the stored rate.",
    )
    holding = serializers.PrimaryKeyRelatedField(read_only=True)
    total_amount = _decimal(MONEY, read_only=True)
    average_cost_at_transaction = _decimal(PRICE, read_only=True)

    class Meta:
        model = Transaction
        fields = (
            "id",
            "portfolio",
            "holding",
            "symbol",
            "currency",
            "type",
            "date",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
            "total_amount",
            "average_cost_at_transaction",
            "notes",
            "import_key",
            "created_at",
        )
        read_only_fields = ("import_key", "created_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and not isinstance(self.instance, list):
            # Moving a transaction between portfolios would change whose money it is.
            self.fields["portfolio"].read_only = True

    def validate_quantity(self, value):
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def validate(self, attrs):
        instrument_data = attrs.pop("holding", {}).get("instrument", {})
        symbol = instrument_data.get("ticker")
        currency = instrument_data.get("currency")
        if symbol is not None:
            try:
                attrs["instrument"] = resolve_instrument(symbol, currency=currency)
            except UnknownSymbol as exc:
                raise serializers.ValidationError({"symbol": [str(exc)]}) from exc
        elif self.instance is not None:
            attrs["instrument"] = self.instance.holding.instrument
        return attrs

    def create(self, validated_data):
        values = {k: v for k, v in validated_data.items() if k not in ("portfolio", "instrument")}
        return services.record_transaction(
            portfolio=validated_data["portfolio"],
            instrument=validated_data["instrument"],
            **values,
        )

    def update(self, instance, validated_data):
        changes = {k: v for k, v in validated_data.items() if k in services.EDITABLE_FIELDS}
        if not self.partial:
            # A PUT states the whole transaction: no rate means the rate of its date.
            changes.setdefault("exchange_rate", None)
        return services.update_transaction(
            instance, instrument=validated_data.get("instrument"), **changes
        )


def _owned_transactions(request):
    if not request.user.is_authenticated:  # only while the OpenAPI schema is generated
        return Transaction.objects.none()
    return Transaction.objects.owned_by(request.user).for_listing()


class TransactionCreate(generics.CreateAPIView):
    serializer_class = TransactionSerializer


class TransactionDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = TransactionSerializer

    def get_queryset(self):
        return _owned_transactions(self.request)

    def perform_destroy(self, instance):
        services.delete_transaction(instance)


class PortfolioTransactions(generics.ListAPIView):
    serializer_class = TransactionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return _portfolio_for(self.request, self.kwargs["pk"]).transactions.for_listing()


class HoldingTransactions(generics.ListAPIView):
    serializer_class = TransactionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return _holding_for(self.request, self.kwargs["pk"]).transactions.for_listing()


# Unbounded digits: a return over a short period can be a very large ratio.
RATIO = {"max_digits": None, "decimal_places": 6}


def _money(name: str, **kwargs) -> serializers.DecimalField:
    return _decimal(MONEY_OUT, help_text=DEFINITIONS[name], **kwargs)


def _ratio(name: str) -> serializers.DecimalField:
    return _decimal(RATIO, allow_null=True, help_text=DEFINITIONS[name])


class PerformancePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = _money("value")
    net_deposits = _money("net_deposits")
    flow = _money("flow")


class PerformanceSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    error = serializers.CharField(
        allow_null=True,
        help_text="Why the figures could not be computed from the stored data (then every "
        "figure is empty); null when they could.",
    )
    opening_value = _money("opening_value")
    closing_value = _money("closing_value")
    deposits = _money("deposits")
    withdrawals = _money("withdrawals")
    gain = _money("gain")
    twr = _ratio("twr")
    twr_annualized = _ratio("twr_annualized")
    twr_constant_fx = _decimal(
        RATIO, allow_null=True, help_text="The time-weighted return at the opening rates."
    )
    currency_effect = _ratio("currency_effect")
    currency_effect_amount = _money("currency_effect_amount", allow_null=True)
    mwr = _ratio("mwr")
    xirr = _ratio("xirr")
    simple_return = _ratio("simple_return")
    dividends = _money("dividends")
    dividends_by_month = serializers.DictField(
        child=_decimal(MONEY_OUT), help_text="Dividends in the period by month (YYYY-MM)."
    )
    dividends_by_year = serializers.DictField(
        child=_decimal(MONEY_OUT), help_text="Dividends in the period by year."
    )
    unvalued_currencies = serializers.ListField(
        child=serializers.CharField(), help_text=DEFINITIONS["unvalued_currencies"]
    )
    series = PerformancePointSerializer(many=True, help_text=DEFINITIONS["series"])

    history_complete = serializers.SerializerMethodField(
        help_text="True when every close and exchange rate the period is valued with is "
        "stored. False while some are still being fetched from the market-data provider: "
        "until then the holdings named in `history_missing` are valued at their last trade "
        "price, so the figures are provisional; ask again in a few seconds."
    )
    history_missing = serializers.SerializerMethodField(
        help_text="Tickers (EQNR.OL) and exchange-rate symbols (USDNOK=X) whose history for "
        "the period is still being fetched; empty when `history_complete` is true."
    )

    def get_history_complete(self, obj) -> bool:
        return self.context.get("history", backfill.COMPLETE).complete

    def get_history_missing(self, obj) -> list[str]:
        return list(self.context.get("history", backfill.COMPLETE).missing)


class HouseholdPointSerializer(PerformancePointSerializer):
    pensions = _money("pensions")


class HouseholdPerformanceSerializer(PerformanceSerializer):
    """The same for the whole household in the base currency; pensions beside it."""

    pensions_opening_value = _money("pensions")
    pensions_closing_value = _money("pensions")
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Portfolios and pensions left out, and why (no exchange rate into the "
        "base currency, or figures that could not be computed).",
    )
    series = HouseholdPointSerializer(
        many=True, source="series_with_pensions", help_text=DEFINITIONS["series"]
    )


class PerformancePeriodSerializer(PeriodSerializer):
    # Transactions and pension values may date from 1900-01-01: a period may too.
    max_days = 366 * 130


class _PerformanceFigures(PerformanceSerializer):
    series = None  # written by performance_data (the same, without DRF per point)


class _HouseholdFigures(HouseholdPerformanceSerializer):
    series = None


def performance_data(result, history, *, household: bool = False) -> dict:
    """What PerformanceSerializer (HouseholdPerformanceSerializer) answers for `result`,
    field for field, the series written directly: DRF spent ~30 µs a point on it."""
    full, figures = (
        (HouseholdPerformanceSerializer, _HouseholdFigures)
        if household
        else (PerformanceSerializer, _PerformanceFigures)
    )
    answered = figures(result, context={"history": history}).data
    if household:
        series = [
            {
                "date": p.date.isoformat(),
                "value": money_text(p.value),
                "net_deposits": money_text(p.net_deposits),
                "flow": money_text(p.flow),
                "pensions": money_text(p.pensions),
            }
            for p in result.series_with_pensions
        ]
    else:
        series = [
            {
                "date": p.date.isoformat(),
                "value": money_text(p.value),
                "net_deposits": money_text(p.net_deposits),
                "flow": money_text(p.flow),
            }
            for p in result.series
        ]
    return {name: series if name == "series" else answered[name] for name in _order(full)}


_ORDERS: dict[type, list[str]] = {}


def _order(serializer: type[serializers.Serializer]) -> list[str]:
    if serializer not in _ORDERS:
        _ORDERS[serializer] = list(serializer().fields)
    return _ORDERS[serializer]


def performance_body(portfolio: Portfolio, start, end) -> bytes:
    """The portfolio's performance as the API answers it, from the shared cache when its
    inputs have not changed (the stamps of performance_key); not kept while some history
    is still being fetched (the figures are provisional then)."""
    history = backfill.ensure_window([portfolio], start, end)

    def build():
        result = performance_for(portfolio, start, end)
        return performance_data(result, history), history.complete and not result.error

    return cached_body(f"api:{response_key(portfolio, start, end)}", build)


@extend_schema(parameters=PERIOD_PARAMETERS, responses=PerformanceSerializer)
@api_view(["GET"])
def performance(request, pk):
    portfolio = _portfolio_for(request, pk)
    span = period(request, PerformancePeriodSerializer)
    return HttpResponse(
        performance_body(portfolio, span["start"], span["end"]),
        content_type="application/json",
    )


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    portfolio = OwnedPortfolioField()
    format = serializers.ChoiceField(choices=sorted(FORMATS), default="generic")
    dry_run = serializers.BooleanField(default=False)

    def validate_file(self, value):
        if value.size > MAX_IMPORT_BYTES:
            limit = MAX_IMPORT_BYTES // 1024
            raise serializers.ValidationError(
                f"The file is {value.size // 1024} KiB; the limit is {limit} KiB."
            )
        return value


class ImportRowErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    status = serializers.ChoiceField(choices=STATUSES)
    message = serializers.CharField()
    errors = ImportRowErrorSerializer(many=True)
    symbol = serializers.CharField(source="row.symbol", default=None, allow_null=True)
    type = serializers.CharField(source="row.type", default=None, allow_null=True)
    date = serializers.DateField(source="row.date", default=None, allow_null=True)
    quantity = _decimal(QUANTITY, source="row.quantity", default=None, allow_null=True)
    price = _decimal(PRICE, source="row.price", default=None, allow_null=True)
    transaction_id = serializers.IntegerField(allow_null=True)


class ImportResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    dry_run = serializers.BooleanField()
    committed = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
    rows = ImportRowSerializer(many=True)


@extend_schema(
    request={"multipart/form-data": ImportRequestSerializer},
    responses={200: ImportResultSerializer, 201: ImportResultSerializer},
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def import_csv(request):
    """Import a broker export: all rows or none. A dry run reports what would happen."""
    serializer = ImportRequestSerializer(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    result = import_transactions(
        portfolio=data["portfolio"],
        data=data["file"].read(),
        format=data["format"],
        dry_run=data["dry_run"],
    )
    body = ImportResultSerializer(result).data
    if not result.ok:
        first = next(e for e in result.errors)
        raise ImportFailed(
            detail=f"Nothing was imported: line {first.line}: {first.message}",
            extra={"counts": body["counts"], "rows": body["rows"]},
        )
    return Response(body, status=status.HTTP_201_CREATED if result.committed else 200)


class ImportFailed(exceptions.APIException):
    """A 400 whose details keep the per-row report as data (a ValidationError would turn
    every number in it into a message string)."""

    status_code = status.HTTP_400_BAD_REQUEST
    error_code = "import_failed"

    def __init__(self, detail, extra):
        super().__init__(detail)
        self.extra = extra
