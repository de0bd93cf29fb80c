"""JSON API of the Norwegian tax report and the yearly rates (ARCHITECTURE 5d and 7): thin
views over portfolios.tax_data (reads) and portfolios.services.save_tax_rate (the one
write). The report covers the requesting user's portfolios only."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from financedash.lib.api_fields import DECIMAL_ERRORS, MONEY_OUT, DecimalField
from financedash.lib.responses import cached_body
from portfolios import services, tax_data
from portfolios.models import TaxRate

QUANTITY_OUT = {"max_digits": 17, "decimal_places": 8}
RATE_OUT = {"max_digits": 9, "decimal_places": 5}
FACTOR_OUT = {"max_digits": 7, "decimal_places": 3}


def _money(**kwargs):
    kwargs.setdefault("error_messages", DECIMAL_ERRORS)
    return DecimalField(**MONEY_OUT, **kwargs)


class TaxHoldingSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = DecimalField(**QUANTITY_OUT)
    value = _money(allow_null=True, help_text="At the last close on or before 31 December.")
    cost = _money(help_text="FIFO cost of the shares held (incl. fees), NOK.")
    shielding = _money(help_text="This year's skjermingsfradrag on the shares held.")
    shielding_unused = _money(help_text="Unused shielding carried into next year.")


class TaxSaleSerializer(serializers.Serializer):
    date = serializers.DateField()
    symbol = serializers.CharField()
    portfolio = serializers.IntegerField(source="portfolio_id")
    quantity = DecimalField(**QUANTITY_OUT)
    proceeds = _money()
    cost = _money(help_text="FIFO: the oldest shares across all ordinary portfolios.")
    gain = _money()
    shielding_used = _money()
    taxable_gain = _money(help_text="gain − shielding_used; negative: a deductible loss.")
    average_cost = _money(help_text="The cost the selling portfolio's average cost removes.")
    average_cost_gain = _money()


class TaxDividendSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    amount = _money(help_text="Gross, before withholding tax.")
    withholding_tax = _money(help_text="Foreign withholding tax: a credit (RF-1159).")
    shielding_used = _money()
    taxable = _money()


class TaxAskSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField(source="portfolio_id")
    name = serializers.CharField()
    deposits = _money(help_text="Innskudd at 31 December: withdrawable tax free.")
    lowest_deposits = _money()
    value = _money(allow_null=True)
    shielding = _money()
    unused_shielding = _money()
    withdrawals = _money()
    taxable_withdrawals = _money()
    tax_deferred_estimate = _money(
        allow_null=True, help_text="max(0, value − deposits − unused shielding) × the rate."
    )


class TaxTotalsSerializer(serializers.Serializer):
    taxable_gain = _money()
    deductible_loss = _money()
    taxable_dividends = _money()
    taxable_ask_withdrawals = _money()
    withholding_tax = _money()
    withholding_credit = _money(
        allow_null=True,
        help_text="The part of the withholding tax Norway credits: at most the Norwegian "
        "tax on each share's taxable dividends (the return caps it per country, RF-1159); "
        "null without the multiplier.",
    )
    tax_estimate = _money(
        allow_null=True,
        help_text="(taxable gains − losses + taxable dividends + taxable ASK withdrawals) "
        "× 22 % × the year's tax multiplier; null without the multiplier; negative: a net "
        "loss that reduces other tax.",
    )
    fifo_gain = _money()
    average_cost_gain = _money()


class TaxReportSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    currency = serializers.CharField()
    holdings = TaxHoldingSerializer(many=True)
    sales = TaxSaleSerializer(many=True)
    dividends = TaxDividendSerializer(many=True)
    ask = TaxAskSerializer(many=True)
    totals = TaxTotalsSerializer()
    shielding_rate = DecimalField(**RATE_OUT, allow_null=True)
    tax_multiplier = DecimalField(**FACTOR_OUT, allow_null=True)
    missing_rates = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Years up to this one without a shielding rate: counted as 0 shielding.",
    )
    warnings = serializers.ListField(child=serializers.CharField())
    notes = serializers.DictField(child=serializers.CharField())


YEAR_PARAMETER = OpenApiParameter(
    "year",
    {
        "type": "integer",
        "minimum": services.FIRST_TAX_YEAR,
        "maximum": services.LAST_TAX_YEAR,
    },
    OpenApiParameter.PATH,
    description="The income year.",
)


def check_year(year: int) -> int:
    if not services.FIRST_TAX_YEAR <= year <= services.LAST_TAX_YEAR:
        raise exceptions.ValidationError(
            {"year": [f"Enter a year from {services.FIRST_TAX_YEAR} to {services.LAST_TAX_YEAR}."]}
        )
    return year


@extend_schema(
    parameters=[YEAR_PARAMETER],
    responses=TaxReportSerializer,
    summary="The Norwegian year-end tax report",
)
@api_view(["GET"])
def tax_report(request, year):
    check_year(year)

    def build():
        built = tax_data.year_report(request.user, year)
        return TaxReportSerializer(tax_data.report_data(built)).data, True

    # The rendered body is kept: serialising a report of thousands of sales took longer
    # than reading the report itself from the cache.
    key = tax_data.cache_key(request.user, "api", year)
    return HttpResponse(cached_body(key, build), content_type="application/json")


class TaxRateSerializer(serializers.Serializer):
    year = serializers.IntegerField(read_only=True)
    shielding_rate = DecimalField(
        max_digits=7,
        decimal_places=5,
        allow_null=True,
        min_value=Decimal(0),
        max_value=Decimal(1),
        error_messages=DECIMAL_ERRORS,
        help_text="Skjermingsrente as a fraction (0.032 for 3.2 %); null: missing.",
    )
    tax_multiplier = DecimalField(
        max_digits=5,
        decimal_places=3,
        allow_null=True,
        # Above 0: the smallest step of its 3 decimals.
        min_value=Decimal("0.001"),
        max_value=Decimal(10),
        error_messages=DECIMAL_ERRORS,
        help_text="Oppjusteringsfaktor (1.72); null: missing.",
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=2000)


@extend_schema(
    methods=["GET"],
    parameters=[YEAR_PARAMETER],
    responses=TaxRateSerializer,
    summary="One year's shielding rate and factor",
)
@extend_schema(
    methods=["PUT"],
    parameters=[YEAR_PARAMETER],
    request=TaxRateSerializer,
    responses=TaxRateSerializer,
    summary="Set one year's rates (staff only: they are shared by every user)",
)
@api_view(["GET", "PUT"])
def tax_rate(request, year):
    check_year(year)
    if request.method == "GET":
        # A year nobody entered is answered as missing (nulls), not as an error.
        rate = TaxRate.objects.filter(year=year).first() or TaxRate(year=year)
        return Response(TaxRateSerializer(rate).data)
    if not request.user.is_staff:
        raise exceptions.PermissionDenied(
            "Tax rates are shared by every user: only staff can change them."
        )
    serializer = TaxRateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    saved = services.save_tax_rate(
        year,
        shielding_rate=data["shielding_rate"],
        tax_multiplier=data["tax_multiplier"],
        source=data.get("source"),
    )
    return Response(TaxRateSerializer(saved).data)
