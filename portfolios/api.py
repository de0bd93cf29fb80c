"""JSON API for portfolios, holdings and transactions: thin views over services and the
valuation read path. Every lookup is scoped to the requesting user (404 otherwise)."""

from __future__ import annotations

import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status, views
from rest_framework.decorators import api_view, parser_classes
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from financedash.lib.api_fields import DECIMAL_ERRORS, MONEY_OUT, DecimalField, RateField
from financedash.lib.api_params import (
    PERIOD_PARAMETERS,
    PeriodSerializer,
    StrictQuerySerializer,
    period,
)
from financedash.lib.money import ENTERED_MONEY, MONEY, PRICE, QUANTITY, RATE
from financedash.lib.responses import cached_body, money_text
from marketdata.history import resolve_instrument
from marketdata.providers.base import SYMBOL_PATTERN, UnknownSymbol
from portfolios import backfill, dividends_data, jobs, services, valuation
from portfolios.benchmark import SYMBOL_HELP as BENCHMARK_HELP
from portfolios.benchmark import TWR_HELP as BENCHMARK_TWR
from portfolios.benchmark import VALUE_HELP as BENCHMARK_VALUE
from portfolios.forms import TransactionFilterForm
from portfolios.importers import AUTO, FORMAT_CHOICES
from portfolios.imports import MAX_IMPORT_BYTES, STATUSES, import_transactions
from portfolios.models import (
    CASH_TYPES,
    Holding,
    ImportBatch,
    ImportJob,
    Portfolio,
    Transaction,
)
from portfolios.performance import DEFINITIONS
from portfolios.performance_data import benchmark_for, performance_for, response_key
from portfolios.views import csv_download

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
    benchmark = serializers.RegexField(
        SYMBOL_PATTERN,
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=BENCHMARK_HELP + " Empty also clears it.",
    )

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
            "kind",
            "track_cash",
            "benchmark",
        )
        read_only_fields = ("id",)

    def validate_benchmark(self, value: str | None):
        try:
            return services.benchmark_instrument(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["benchmark"]) from None

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
    kind = serializers.ChoiceField(choices=Portfolio.Kind.choices)
    track_cash = serializers.BooleanField(
        help_text="True: the portfolio keeps a cash balance from its deposits, withdrawals, "
        "trades, dividends, interest and fees, and its values include the cash."
    )
    cash_balance = _decimal(
        MONEY_OUT,
        help_text="Cash balance = Σ deposits − Σ withdrawals − Σ buy costs + Σ sale proceeds "
        "+ Σ net dividends + Σ interest − Σ fees (each booked in whole cents); negative = "
        "credit in use. 0 when track_cash is false.",
    )
    used_credit = _decimal(MONEY_OUT)
    dividends_reduce_cost_basis = serializers.BooleanField()
    total_value = _decimal(
        MONEY_OUT, help_text="Market value of the holdings, plus the cash balance when tracked."
    )
    total_cost = _decimal(MONEY_OUT)
    total_gain_loss = _decimal(MONEY_OUT)
    total_gain_loss_percent = _decimal(PERCENT_OUT, allow_null=True)
    realized_gain = _decimal(MONEY_OUT)
    dividends = _decimal(MONEY_OUT)
    net_value = _decimal(MONEY_OUT, help_text="total_value − used_credit.")
    prices_as_of = serializers.DateTimeField(allow_null=True)
    total_return = _decimal(MONEY_OUT, help_text=DEFINITIONS["total_return"])
    benchmark = serializers.SerializerMethodField(help_text=BENCHMARK_HELP)

    def get_benchmark(self, obj) -> str | None:
        portfolio = obj.portfolio
        return portfolio.benchmark.ticker if portfolio.benchmark_id else None


class PortfolioDetailSerializer(PortfolioSummarySerializer):
    holdings = HoldingSerializer(many=True)


def _portfolio_for(request, pk) -> Portfolio:
    return get_object_or_404(Portfolio.objects.owned_by(request.user), pk=pk)


def _holding_for(request, pk) -> Holding:
    return get_object_or_404(Holding.objects.owned_by(request.user), pk=pk)


def portfolio_body(portfolio: Portfolio) -> dict:
    """The body of GET /api/v1/portfolios/{id}: the WebSocket's snapshot and updates
    (portfolios.live) send the same object."""
    return PortfolioDetailSerializer(valuation.summarize([portfolio])[0]).data


def _summary_response(portfolio: Portfolio, status_code=status.HTTP_200_OK):
    return Response(portfolio_body(portfolio), status=status_code)


class PortfolioList(generics.GenericAPIView):
    serializer_class = PortfolioWriteSerializer
    pagination_class = None

    @extend_schema(responses=PortfolioSummarySerializer(many=True))
    def get(self, request):
        # The benchmark's ticker is in every summary: joined, not one query per portfolio.
        portfolios = Portfolio.objects.owned_by(request.user).select_related("benchmark")
        summaries = valuation.summarize(portfolios)
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


_NOT_FOR_CASH = ("symbol", "currency", "quantity", "price", "fees", "exchange_rate")


class TransactionSerializer(serializers.ModelSerializer):
    """One body for every type: trades {symbol, quantity, price, fees, exchange_rate?, ...};
    cash (DEPOSIT, WITHDRAWAL, INTEREST, FEE) {type, date, amount, notes?} only."""

    portfolio = OwnedPortfolioField()
    symbol = serializers.CharField(
        max_length=32,
        source="holding.instrument.ticker",
        required=False,
        allow_null=True,
        help_text="Required for BUY, SELL, DIVIDEND and SPLIT; null for the cash types.",
    )
    amount = _decimal(
        MONEY,
        required=False,
        allow_null=True,
        help_text="Cash types only: the amount (> 0, whole cents, portfolio currency); the "
        "type gives the direction. Null for trades.",
    )
    currency = serializers.CharField(
        max_length=3,
        required=False,
        source="holding.instrument.currency",
        help_text="The instrument's currency; needed only when the provider cannot tell.",
    )
    type = serializers.ChoiceField(
        choices=Transaction.Type.choices,
        help_text="SPLIT: `quantity` is the factor, new shares per old share (2 for a "
        "2-for-1 split, 0.1 for a 1-for-10 reverse split); price and fees 0 (or left out), "
        "exchange rate 1. DEPOSIT, WITHDRAWAL, INTEREST, FEE: cash, with `amount` and no "
        "symbol, quantity or price.",
    )
    quantity = _decimal(
        QUANTITY,
        required=False,
        # Never negative (the schema says so); 0 is refused too (validate_quantity).
        min_value=0,
        help_text="Shares; for a DIVIDEND the shares paid on; for a SPLIT new shares per old "
        "share. Not for cash types.",
    )
    # Required for every type but SPLIT and the cash types (validate).
    price = _decimal(PRICE, min_value=0, required=False)
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
            "amount",
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

    def to_internal_value(self, data):
        if (
            self.instance is not None
            and not isinstance(self.instance, list)
            and "portfolio" in data
            and str(data["portfolio"]) != str(self.instance.portfolio_id)
        ):
            # Read-only fields are silently dropped by DRF; a move must not look done.
            raise serializers.ValidationError(
                {
                    "portfolio": [
                        "A transaction cannot move to another portfolio: delete it "
                        "and record it there."
                    ]
                }
            )
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # A trade body's missing fields are named beside the other fields' errors (the
            # fields are optional only because a cash body leaves them out).
            if isinstance(exc.detail, dict) and data.get("type") not in CASH_TYPES:
                needed = (
                    ("symbol", "quantity")
                    if data.get("type") == "SPLIT"
                    else ("symbol", "quantity", "price")
                )
                for name in needed:
                    if data.get(name) in (None, "") and not self.partial:
                        exc.detail.setdefault(name, ["This field is required."])
            raise

    def validate_quantity(self, value):
        if value <= 0 and self.initial_data.get("type") not in CASH_TYPES:
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["amount"] = data["total_amount"] if instance.type in CASH_TYPES else None
        return data

    def validate(self, attrs):
        kind = attrs.get("type", self.instance.type if self.instance is not None else None)
        if kind in CASH_TYPES:
            return self._validate_cash(attrs, kind)
        if "amount" in attrs and attrs["amount"] is not None:
            raise serializers.ValidationError(
                {"amount": ["Only a cash transaction has an amount: give quantity and price."]}
            )
        attrs.pop("amount", None)
        if self.instance is None or not self.partial:
            missing = {
                name: ["This field is required."]
                for name, present in (
                    ("symbol", attrs.get("holding", {}).get("instrument", {}).get("ticker")),
                    ("quantity", attrs.get("quantity")),
                    ("price", attrs.get("price", 0 if kind == Transaction.Type.SPLIT else None)),
                )
                if present is None
            }
            if missing:
                raise serializers.ValidationError(missing)
            if kind == Transaction.Type.SPLIT:
                attrs.setdefault("price", Decimal(0))
        if "quantity" in attrs and attrs["quantity"] <= 0:
            raise serializers.ValidationError({"quantity": ["Must be greater than 0."]})
        instrument_data = attrs.pop("holding", {}).get("instrument", {})
        symbol = instrument_data.get("ticker")
        currency = instrument_data.get("currency")
        if symbol is not None:
            try:
                attrs["instrument"] = resolve_instrument(symbol, currency=currency)
            except UnknownSymbol as exc:
                raise serializers.ValidationError({"symbol": [str(exc)]}) from exc
        elif self.instance is not None and self.instance.holding_id is not None:
            attrs["instrument"] = self.instance.holding.instrument
        return attrs

    def _validate_cash(self, attrs, kind):
        """A cash body: no instrument fields (null or zero are accepted, so that a GET body
        can be PUT back), an amount on create and on PUT."""
        instrument = attrs.pop("holding", {}).get("instrument", {})
        given = {
            "symbol": instrument.get("ticker"),
            "currency": instrument.get("currency"),
            "quantity": attrs.pop("quantity", None),
            "price": attrs.pop("price", None),
            "fees": attrs.pop("fees", None),
            "exchange_rate": attrs.pop("exchange_rate", None),
        }
        label = kind.lower()
        wrong = {
            name: [f"A {label} is cash: it has no {name.replace('_', ' ')}. Leave it out."]
            for name, value in given.items()
            if value not in (None, "")
            and not (name in ("quantity", "price", "fees") and value == 0)
            and not (name == "exchange_rate" and value == 1)
        }
        if wrong:
            raise serializers.ValidationError(wrong)
        if self.instance is not None and self.instance.type not in CASH_TYPES:
            raise serializers.ValidationError(
                {
                    "type": [
                        "A trade cannot become a cash transaction (it has an instrument): "
                        "delete it and record the cash transaction on its own."
                    ]
                }
            )
        if attrs.get("amount") is None and (self.instance is None or not self.partial):
            raise serializers.ValidationError({"amount": ["This field is required."]})
        if attrs.get("amount", 0) is None:
            attrs.pop("amount")
        return attrs

    def create(self, validated_data):
        if validated_data["type"] in CASH_TYPES:
            return services.record_transaction(
                portfolio=validated_data["portfolio"],
                type=validated_data["type"],
                date=validated_data["date"],
                amount=validated_data["amount"],
                notes=validated_data.get("notes", ""),
            )
        values = {k: v for k, v in validated_data.items() if k not in ("portfolio", "instrument")}
        return services.record_transaction(
            portfolio=validated_data["portfolio"],
            instrument=validated_data["instrument"],
            **values,
        )

    def update(self, instance, validated_data):
        if instance.type in CASH_TYPES:
            changes = {
                k: v for k, v in validated_data.items() if k in services.CASH_EDITABLE_FIELDS
            }
            return services.update_transaction(instance, **changes)
        if validated_data.get("type") in CASH_TYPES:
            raise serializers.ValidationError({"type": ["A cash type needs a cash body."]})
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


class BenchmarkPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = _decimal(MONEY_OUT, help_text=BENCHMARK_VALUE)


class BenchmarkSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text=BENCHMARK_HELP)
    name = serializers.CharField()
    twr = _decimal(RATIO, allow_null=True, help_text=BENCHMARK_TWR)
    twr_annualized = _decimal(
        RATIO,
        allow_null=True,
        help_text="The benchmark's time-weighted return per year; null for periods under 365 days.",
    )
    note = serializers.CharField(
        allow_null=True,
        help_text="Why the line is left out (no closes stored for the period, no exchange "
        "rate, history still being fetched); null when it is there. The performance itself "
        "is unaffected.",
    )
    series = BenchmarkPointSerializer(
        many=True,
        help_text="One point per series day (the opening point first), the dates of "
        "`series`; empty when `note` says why.",
    )


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
    benchmark = BenchmarkSerializer(
        allow_null=True,
        help_text="The chosen benchmark beside the performance (the portfolio's `benchmark`; "
        "for the household, the settings' one); null when none is chosen.",
    )

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
    benchmark = None  # not part of the Performance: performance_data adds it


class _HouseholdFigures(HouseholdPerformanceSerializer):
    series = None
    benchmark = None


def benchmark_data(benchmark, result) -> dict | None:
    """The `benchmark` object of a performance answer (BenchmarkSerializer), from a
    performance_data.BenchmarkLine, its series dated like the performance's."""
    if benchmark is None:
        return None
    twr = None if benchmark.twr is None else _RATIO_FIELD.to_representation(benchmark.twr)
    yearly = benchmark.twr_annualized
    return {
        "symbol": benchmark.symbol,
        "name": benchmark.name,
        "twr": twr,
        "twr_annualized": None if yearly is None else _RATIO_FIELD.to_representation(yearly),
        "note": benchmark.note,
        "series": [
            {"date": p.date.isoformat(), "value": money_text(value)}
            for p, value in zip(result.series, benchmark.values, strict=False)
        ],
    }


_RATIO_FIELD = _decimal(RATIO)


def performance_data(result, history, *, household: bool = False, benchmark=None) -> dict:
    """What PerformanceSerializer (HouseholdPerformanceSerializer) answers for `result`,
    field for field, the series written directly: DRF spent ~30 µs a point on it.
    `benchmark` is the performance_data.BenchmarkLine beside it, or None."""
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
    extra = {"series": series, "benchmark": benchmark_data(benchmark, result)}
    return {name: extra[name] if name in extra else answered[name] for name in _order(full)}


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
        benchmark = benchmark_for(portfolio.benchmark, result)
        data = performance_data(result, history, benchmark=benchmark)
        kept = history.complete and not result.error
        return data, kept and (benchmark is None or benchmark.note is None)

    # The benchmark chosen is in the key: choosing one bumps the portfolio's stamp too, but
    # the instrument's closes are market data (their stamp is in the key already).
    key = f"api:{response_key(portfolio, start, end)}:b{portfolio.benchmark_id or '-'}"
    return cached_body(key, build)


@extend_schema(parameters=PERIOD_PARAMETERS, responses=PerformanceSerializer)
@api_view(["GET"])
def performance(request, pk):
    portfolio = _portfolio_for(request, pk)
    span = period(request, PerformancePeriodSerializer)
    return HttpResponse(
        performance_body(portfolio, span["start"], span["end"]),
        content_type="application/json",
    )


# A yield on a cost basis of a few øre can be any size: unbounded, never an error.
UNBOUNDED_PERCENT = {"max_digits": None, "decimal_places": 2}


class DividendMonthSerializer(serializers.Serializer):
    received_month = serializers.DateField(
        help_text="The first day of a month the trailing 12 months touch."
    )
    received = _decimal(MONEY_OUT, help_text="Dividends received that month, net of tax.")
    forecast_month = serializers.DateField(help_text="The same month a year on.")
    forecast = _decimal(
        MONEY_OUT,
        help_text="Each payment of received_month again: per share (adjusted for later "
        "splits) × today's quantity × today's exchange rate × (1 − withheld / gross).",
    )


class HoldingDividendsSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The holding.")
    symbol = serializers.CharField()
    received = _decimal(
        MONEY_OUT,
        help_text="Dividends of the trailing 12 months (a year ago < date ≤ today), net of tax.",
    )
    forecast = _decimal(
        MONEY_OUT,
        allow_null=True,
        help_text="The next 12 months; null when no rate into the portfolio's currency is "
        "stored (see missing).",
    )
    yield_on_cost = _decimal(
        UNBOUNDED_PERCENT,
        allow_null=True,
        help_text="Yield on cost: received (trailing 12 months, net of tax) / the holding's "
        "total cost × 100; null for a holding sold out.",
    )


class DividendForecastSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The portfolio's: every amount is in it.")
    received = _decimal(MONEY_OUT, help_text="The trailing 12 months, by day, to today.")
    forecast = _decimal(
        MONEY_OUT, help_text="The next 12 months: each payment received again a year on."
    )
    months = DividendMonthSerializer(many=True)
    holdings = HoldingDividendsSerializer(
        many=True, help_text="The holdings that paid in the last 12 months."
    )
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Holdings left out of the forecast, and why."
    )


@extend_schema(responses=DividendForecastSerializer)
@api_view(["GET"])
def dividend_forecast(request, pk):
    """Dividends by month: the trailing 12 months by day (a year ago < date <= today; a row
    per month touched, 13 unless today ends a month) and the forecast for the same months
    a year on, with each paying holding's yield on cost (portfolios.dividends)."""
    portfolio = _portfolio_for(request, pk)
    result = dividends_data.portfolio_dividends(portfolio)
    body = {
        "currency": portfolio.currency,
        "received": result.received,
        "forecast": result.forecast,
        "months": result.months,
        "holdings": result.holdings,
        "missing": result.missing,
    }
    return Response(DividendForecastSerializer(body).data)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    portfolio = OwnedPortfolioField()
    format = serializers.ChoiceField(choices=FORMAT_CHOICES, default=AUTO)
    dry_run = serializers.BooleanField(default=False)
    symbol_overrides = serializers.CharField(
        required=False,
        default="",
        help_text='JSON {"ISIN or name": "SYMBOL"}: the symbol to use for an instrument of '
        "the file, remembered for your next import.",
    )

    def validate_symbol_overrides(self, value: str) -> dict[str, str]:
        if not value.strip():
            return {}
        try:
            overrides = json.loads(value)
        except ValueError:
            raise serializers.ValidationError(
                'Not JSON: give an object such as {"NO0010096985": "EQNR.OL"}.'
            ) from None
        if not isinstance(overrides, dict) or not all(
            isinstance(key, str) and isinstance(symbol, str) for key, symbol in overrides.items()
        ):
            raise serializers.ValidationError(
                "Give an object of ISIN or name to symbol, both strings."
            )
        return overrides

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


# What a row of an import that saved nothing (a dry run, or a file with errors) reports
# instead of "created": nothing was.
WILL_CREATE = "will_create"


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[*STATUSES, WILL_CREATE],
        help_text="`will_create` in an import that saved nothing (a dry run), `created` once "
        "saved.",
    )
    message = serializers.CharField()
    errors = ImportRowErrorSerializer(many=True)
    symbol = serializers.CharField(source="row.symbol", default=None, allow_null=True)
    type = serializers.CharField(source="row.type", default=None, allow_null=True)
    date = serializers.DateField(source="row.date", default=None, allow_null=True)
    quantity = _decimal(QUANTITY, source="row.quantity", default=None, allow_null=True)
    price = _decimal(PRICE, source="row.price", default=None, allow_null=True)
    fees = _decimal(MONEY_OUT, allow_null=True, help_text="In the portfolio's currency.")
    amount = _decimal(
        MONEY_OUT,
        allow_null=True,
        help_text="The transaction's total in the portfolio's currency (cost, proceeds or net "
        "dividend), as recorded or as it would be; for a cash row (DEPOSIT, WITHDRAWAL, "
        "INTEREST, FEE) its amount.",
    )
    transaction_id = serializers.IntegerField(allow_null=True)


class ImportInstrumentSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The ISIN, else the name: the symbol_overrides key.")
    name = serializers.CharField()
    isin = serializers.CharField(allow_null=True)
    symbol = serializers.CharField(help_text="The symbol used for it.")
    source = serializers.ChoiceField(
        choices=["file", "remembered", "chosen"], help_text="Where the symbol came from."
    )
    ticker = serializers.CharField(allow_null=True, help_text="The instrument it resolved to.")
    problem = serializers.CharField()
    quantity_before = _decimal(QUANTITY, source="before", allow_null=True)
    quantity_after = _decimal(QUANTITY, source="after", allow_null=True)


class ImportResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    detected = serializers.BooleanField(help_text="The format was told from the content.")
    detection = serializers.CharField(help_text="What gave the format away.")
    dry_run = serializers.BooleanField()
    committed = serializers.BooleanField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    cash_before = _decimal(
        MONEY_OUT, allow_null=True, help_text="The cash balance before (null: no cash tracked)."
    )
    cash_after = _decimal(MONEY_OUT, allow_null=True, help_text="The cash balance after.")
    closing_balance = _decimal(
        MONEY_OUT,
        allow_null=True,
        help_text="The balance the file ends with (Nordnet's newest Saldo), when it gives one: "
        "cash_after should equal it.",
    )
    starts_cash = serializers.BooleanField(
        help_text="The import switches the portfolio's cash tracking on (a Nordnet account "
        "export into an empty portfolio); undoing it switches it off again."
    )
    instruments = ImportInstrumentSerializer(many=True)
    rows = ImportRowSerializer(many=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not instance.committed:
            data["counts"] = {
                WILL_CREATE if name == "created" else name: n for name, n in data["counts"].items()
            }
            for row in data["rows"]:
                if row["status"] == "created":
                    row["status"] = WILL_CREATE
        return data


class ImportJobErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportJobInstrumentSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    isin = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    source = serializers.ChoiceField(choices=["file", "remembered", "chosen"])
    ticker = serializers.CharField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    rows = serializers.IntegerField()
    before = serializers.DecimalField(max_digits=28, decimal_places=8, allow_null=True)
    after = serializers.DecimalField(max_digits=28, decimal_places=8, allow_null=True)


class ImportJobResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    detection = serializers.CharField(allow_blank=True)
    dry_run = serializers.BooleanField()
    committed = serializers.BooleanField()
    ok = serializers.BooleanField(help_text="No row has an error.")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="As the synchronous import's: `will_create` when nothing was saved.",
    )
    rows = serializers.IntegerField(help_text="Rows reported (every line of the file).")
    errors = ImportJobErrorSerializer(many=True, help_text="The first 50 row errors.")
    error_count = serializers.IntegerField()
    instruments = ImportJobInstrumentSerializer(many=True)
    batch = serializers.IntegerField(
        allow_null=True, help_text="The import batch (GET/DELETE /api/v1/imports/{id})."
    )


class ImportJobSerializer(serializers.ModelSerializer):
    result = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (
            "id",
            "portfolio",
            "file_name",
            "format",
            "dry_run",
            "status",
            "phase",
            "rows_done",
            "rows_total",
            "progress",
            "error",
            "batch",
            "result",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "phase": {"help_text": "parse, check or save while running."},
            "rows_done": {"help_text": "Rows done of rows_total in the current phase."},
            "error": {"help_text": "Why a failed job failed (nothing was saved)."},
        }

    @extend_schema_field(serializers.IntegerField(min_value=0, max_value=100))
    def get_progress(self, job) -> int:
        return job.percent

    @extend_schema_field(ImportJobResultSerializer(allow_null=True))
    def get_result(self, job):
        return job.result if job.status == ImportJob.Status.DONE else None


class ImportJobAcceptedSerializer(serializers.Serializer):
    job = ImportJobSerializer()


@extend_schema(
    request={"multipart/form-data": ImportRequestSerializer},
    responses={
        200: ImportResultSerializer,
        201: ImportResultSerializer,
        202: ImportJobAcceptedSerializer,
    },
    description="A file of more than 2,000 lines (IMPORT_JOB_ROWS) is imported in the "
    "background: 202 with the job, whose status GET /api/v1/imports/jobs/{id} gives.",
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def import_csv(request):
    """Import a broker export: all rows or none. A dry run reports what would happen."""
    serializer = ImportRequestSerializer(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    content = data["file"].read()
    if jobs.needs_job(content):
        job = jobs.submit(
            portfolio=data["portfolio"],
            data=content,
            format=data["format"],
            dry_run=data["dry_run"],
            file_name=data["file"].name,
            symbol_overrides=data["symbol_overrides"],
        )
        job.refresh_from_db()  # an eager run (Celery without Redis) may have finished it
        return Response(
            {"job": ImportJobSerializer(job).data},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api-import-job", args=[job.pk])},
        )
    result = import_transactions(
        portfolio=data["portfolio"],
        data=content,
        format=data["format"],
        dry_run=data["dry_run"],
        file_name=data["file"].name,
        symbol_overrides=data["symbol_overrides"],
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


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = ("id", "portfolio", "file_name", "format", "created_at", "counts", "undone_at")
        read_only_fields = fields


class ImportBatchList(generics.ListAPIView):
    """The user's imports, newest first: each with its counts, and when it was undone."""

    serializer_class = ImportBatchSerializer
    pagination_class = None  # a plain list (section 7): a user has few imports

    def get_queryset(self):
        return ImportBatch.objects.filter(user=self.request.user).order_by("-created_at", "-id")


class ImportUndoConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, detail, code):
        super().__init__(detail)
        self.error_code = code


@extend_schema(responses={200: ImportJobSerializer})
@api_view(["GET"])
def import_job(request, pk):
    """A background import's status and progress, then its result (poll it)."""
    jobs.reap_stale()
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk, user=request.user)
    return Response(ImportJobSerializer(job).data)


@extend_schema(responses={204: None})
@api_view(["DELETE"])
def import_undo(request, pk):
    """Undo an import: all its transactions, or none (409 when a later transaction needs
    them, naming it, or when it was undone already)."""
    batch = get_object_or_404(ImportBatch, pk=pk, user=request.user)
    try:
        services.undo_import(batch)
    except services.UndoRefused as exc:
        raise ImportUndoConflict(" ".join(exc.messages), exc.code) from None
    return Response(status=status.HTTP_204_NO_CONTENT)


class ExportParamsSerializer(StrictQuerySerializer):
    portfolio = serializers.IntegerField(
        required=False, help_text="One portfolio's transactions; all of them without."
    )
    format = serializers.ChoiceField(choices=["csv"], default="csv")
    type = serializers.ChoiceField(choices=Transaction.Type.choices, required=False)
    symbol = serializers.CharField(required=False, help_text="Part of the symbol is enough.")
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class _FileFormatNegotiation(DefaultContentNegotiation):
    """?format= names the export's file format here, not one of DRF's renderers: the
    answer is the file itself, or an error in the usual JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TransactionExport(views.APIView):
    """The user's transactions (one portfolio's with ?portfolio=) as generic CSV that the
    generic import reads back: every type, oldest first. The optional filters are the
    transaction list's; the file of a filtered list re-imports only what it holds."""

    content_negotiation_class = _FileFormatNegotiation

    @extend_schema(
        parameters=[ExportParamsSerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        params = ExportParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        portfolio = None
        transactions = Transaction.objects.owned_by(request.user)
        if "portfolio" in data:
            portfolio = _portfolio_for(request, data["portfolio"])
            transactions = portfolio.transactions.all()
        filters = TransactionFilterForm(
            {
                name: request.query_params[name]
                for name in ("type", "symbol", "start", "end")
                if name in request.query_params
            }
        )
        return csv_download(filters.apply(transactions), portfolio)
