"""JSON API for pension accounts, their values, the retirement projection and YNAB: thin
views over pensions.services (every write), pensions.planning and pensions.ynab. Every
lookup is scoped to the requesting user (404 otherwise)."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from financedash.lib.api_fields import DECIMAL_ERRORS, MONEY_OUT, DecimalField
from financedash.lib.money import ENTERED_MONEY
from financedash.lib.profiles import profile_for
from pensions import planning, projection, services, ynab
from pensions.models import PensionAccount, PensionValueEntry

# Projected figures compound: unbounded digits, as for the portfolios' return ratios.
PROJECTED = {"max_digits": None, "decimal_places": 2}
YNAB_MONEY = {"max_digits": 18, "decimal_places": 3}  # milliunits: three places


def _money(**kwargs) -> DecimalField:
    return DecimalField(**MONEY_OUT, **kwargs)


def _projected(**kwargs) -> DecimalField:
    return DecimalField(**PROJECTED, **kwargs)


def _account_for(request, pk) -> PensionAccount:
    return get_object_or_404(PensionAccount.objects.owned_by(request.user), pk=pk)


# -- accounts ------------------------------------------------------------------------------


class PensionAccountSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217 code; default the base currency."
    )
    kind = serializers.ChoiceField(
        choices=PensionAccount.Kind.choices,
        required=False,
        help_text="ips, epk, employer or other (default).",
    )
    ynab_account_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The YNAB account whose balance a sync stores here (GET /api/v1/ynab/"
        "accounts lists them); null for none.",
    )
    current_value = _money(
        read_only=True,
        allow_null=True,
        help_text="The value of the latest entry, in the account's currency; null without one.",
    )
    current_value_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="The date of the latest entry."
    )

    class Meta:
        model = PensionAccount
        fields = (
            "id",
            "name",
            "currency",
            "kind",
            "ynab_account_id",
            "current_value",
            "current_value_date",
        )
        read_only_fields = ("id",)
        # The service checks the name per user and reports a clash as 409.
        validators = []

    def save(self, **kwargs):
        request = self.context["request"]
        account = self.instance or PensionAccount(
            user=request.user, currency=profile_for(request.user).base_currency
        )
        for name, value in self.validated_data.items():
            setattr(account, name, value)
        services.save_account(account)
        self.instance = _with_value(request, account.pk)
        return self.instance


def _with_value(request, pk) -> PensionAccount:
    return get_object_or_404(
        PensionAccount.objects.owned_by(request.user).with_current_value(), pk=pk
    )


class PensionAccountList(generics.GenericAPIView):
    serializer_class = PensionAccountSerializer
    pagination_class = None

    @extend_schema(responses=PensionAccountSerializer(many=True))
    def get(self, request):
        accounts = PensionAccount.objects.owned_by(request.user).with_current_value()
        return Response(self.get_serializer(accounts, many=True).data)

    @extend_schema(request=PensionAccountSerializer, responses={201: PensionAccountSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class PensionAccountDetail(generics.GenericAPIView):
    serializer_class = PensionAccountSerializer

    @extend_schema(responses=PensionAccountSerializer)
    def get(self, request, pk):
        return Response(self.get_serializer(_with_value(request, pk)).data)

    @extend_schema(request=PensionAccountSerializer, responses=PensionAccountSerializer)
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(request=PensionAccountSerializer, responses=PensionAccountSerializer)
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, partial):
        serializer = self.get_serializer(
            _account_for(request, pk), data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        services.delete_account(_account_for(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- values --------------------------------------------------------------------------------


class PensionValueSerializer(serializers.ModelSerializer):
    value = DecimalField(
        **ENTERED_MONEY,
        min_value=0,
        error_messages=DECIMAL_ERRORS,
        help_text="In the account's currency; 0 or more.",
    )
    date = serializers.DateField(help_text="One value per account and date.")
    contribution = DecimalField(
        **ENTERED_MONEY,
        min_value=0,
        required=False,
        allow_null=True,
        error_messages=DECIMAL_ERRORS,
        help_text=(
            "Optional: what was paid in since the previous value, in the account's currency; "
            "0 or more. An IPS account counts this year's contributions against the yearly "
            "cap. Null when not known; left out on an update, it stays as it was."
        ),
    )

    class Meta:
        model = PensionValueEntry
        fields = ("id", "date", "value", "contribution")
        read_only_fields = ("id",)
        validators = []  # the service checks (account, date) and answers 409


class PensionValueList(generics.ListCreateAPIView):
    serializer_class = PensionValueSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PensionValueEntry.objects.none()
        return _account_for(self.request, self.kwargs["pk"]).values.order_by("-date", "-pk")

    def create(self, request, *args, **kwargs):
        # Another user's account is a 404 whatever the body, as on every other door; checked
        # again when saving.
        _account_for(request, self.kwargs["pk"])
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        account = _account_for(self.request, self.kwargs["pk"])
        serializer.instance = services.record_value(account, **serializer.validated_data)


class PensionValueDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = PensionValueSerializer

    def get_object(self):
        account = _account_for(self.request, self.kwargs["pk"])
        return get_object_or_404(
            account.values.select_related("account"), pk=self.kwargs["value_id"]
        )

    def perform_update(self, serializer):
        entry = serializer.instance
        data = {"date": entry.date, "value": entry.value, **serializer.validated_data}
        serializer.instance = services.update_value(entry, **data)

    def perform_destroy(self, instance):
        services.delete_value(instance)


# -- the projection ------------------------------------------------------------------------


class ProjectionParams(serializers.Serializer):
    annual_return = serializers.DecimalField(
        max_digits=8,
        decimal_places=6,
        min_value=Decimal("-0.99"),
        max_value=1,
        default=planning.DEFAULT_RETURN,
        help_text="Expected yearly return as a fraction (0.05 = 5 %). Default 0.05.",
    )
    monthly_contribution = serializers.DecimalField(
        **ENTERED_MONEY,
        min_value=0,
        default=0,
        help_text="Paid at the end of every month, in the base currency. Default 0.",
    )
    retirement_year = serializers.IntegerField(
        required=False,
        min_value=1900,
        max_value=2200,
        help_text="The last year counted (through its December). Default: the profile's "
        "goal year, else 20 years from now. A year in the past is a 400.",
    )
    inflation = serializers.DecimalField(
        max_digits=8,
        decimal_places=6,
        min_value=Decimal("-0.5"),
        max_value=1,
        default=planning.DEFAULT_INFLATION,
        help_text="Yearly inflation for `value_real` (today's money). Default 0.02.",
    )
    volatility = serializers.DecimalField(
        max_digits=8,
        decimal_places=6,
        min_value=0,
        max_value=2,
        required=False,
        help_text="Yearly standard deviation of returns (0.15 = 15 %): adds Monte Carlo "
        "bands p10/p50/p90 (1,000 seeded paths). Omitted or 0: no bands.",
    )
    include_portfolios = serializers.BooleanField(
        default=False, help_text="Add the portfolios' net value to the start value."
    )
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**32 - 1,
        default=projection.DEFAULT_SEED,
        help_text="The Monte Carlo seed: the same seed gives the same bands.",
    )


class YearPointSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    value = _projected(help_text="The deterministic value at the end of the year.")
    value_real = _projected(
        help_text="`value` in today's money: value / (1+inflation)^(months/12)."
    )
    p10 = _projected(
        required=False, allow_null=True, help_text="10th percentile (with volatility)."
    )
    p50 = _projected(required=False, allow_null=True, help_text="Median (with volatility).")
    p90 = _projected(
        required=False, allow_null=True, help_text="90th percentile (with volatility)."
    )


class ProjectionSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The base currency every amount is in.")
    retirement_year = serializers.IntegerField()
    months = serializers.IntegerField(
        help_text="From the month after today through December of the retirement year."
    )
    start_value = _projected(
        help_text="The latest value of every pension account (plus the portfolios' net value "
        "with include_portfolios), converted at today's rate."
    )
    final_value = _projected(help_text="S(1+r)^n + C((1+r)^n - 1)/r with r the monthly rate.")
    final_value_real = _projected(help_text="final_value in today's money.")
    goal = _projected(allow_null=True, help_text="The profile's retirement goal; null without one.")
    surplus = _projected(allow_null=True, help_text="final_value - goal (negative: a shortfall).")
    required_monthly_contribution = _projected(
        allow_null=True,
        help_text="The monthly contribution that reaches the goal, rounded up to the cent, "
        "0 when it is reached already; null without a goal or with no month left.",
    )
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Accounts left out of start_value: no exchange rate into the base currency.",
    )
    years = YearPointSerializer(many=True)


def _projection_body(plan: planning.Plan) -> dict:
    result = plan.result
    return {
        "currency": plan.currency,
        "retirement_year": plan.retirement_year,
        "months": result.months,
        "start_value": result.start_value,
        "final_value": result.final_value,
        "final_value_real": result.final_value_real,
        "goal": result.goal,
        "surplus": result.surplus,
        "required_monthly_contribution": result.required_monthly_contribution,
        "missing": plan.start.missing,
        "years": [
            {
                "year": y.year,
                "value": y.value,
                "value_real": y.value_real,
                "p10": y.p10,
                "p50": y.p50,
                "p90": y.p90,
            }
            for y in result.years
        ],
    }


# The serializer itself as the parameters: its ranges (min_value, max_value, digits) are
# in the schema, as strings with the decimal pattern, exactly what the view parses.
@extend_schema(parameters=[ProjectionParams], responses=ProjectionSerializer)
@api_view(["GET"])
def projection_view(request):
    """The retirement projection (ARCHITECTURE section 5c), in the base currency."""
    params = ProjectionParams(data=request.query_params)
    params.is_valid(raise_exception=True)
    try:
        plan = planning.plan_for(request.user, planning.Inputs(**params.validated_data))
    except projection.ProjectionError as exc:
        raise serializers.ValidationError(exc.errors) from exc
    return Response(ProjectionSerializer(_projection_body(plan)).data)


# -- YNAB ----------------------------------------------------------------------------------


class YnabSettingsSerializer(serializers.Serializer):
    budget_id = serializers.RegexField(
        f"^{ynab.BUDGET_ID.pattern}$",
        allow_null=True,
        error_messages={"invalid": ynab.BUDGET_ID_HELP},
        help_text="The YNAB budget (plan) id, checked against YNAB before it is saved; "
        "null unlinks. The token is never sent or stored: it is YNAB_ACCESS_TOKEN.",
    )
    currency = serializers.CharField(read_only=True, allow_null=True)


@extend_schema(request=YnabSettingsSerializer, responses=YnabSettingsSerializer)
@api_view(["POST"])
def ynab_settings(request):
    serializer = YnabSettingsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    budget_id = serializer.validated_data["budget_id"]
    currency = services.set_ynab_budget(profile_for(request.user), budget_id)
    return Response({"budget_id": budget_id, "currency": currency})


class YnabAccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="YNAB's account type, e.g. otherAsset.")
    balance = DecimalField(**YNAB_MONEY, help_text="From milliunits, in the budget's currency.")
    closed = serializers.BooleanField()


@extend_schema(responses=YnabAccountSerializer(many=True))
@api_view(["GET"])
def ynab_accounts(request):
    """The linked budget's accounts, for choosing the one a pension account follows."""
    accounts = ynab.accounts(services.budget_of(request.user))
    return Response(YnabAccountSerializer(accounts, many=True).data)


class YnabBalanceSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    name = serializers.CharField()
    balance = DecimalField(**YNAB_MONEY, help_text="From milliunits, in `currency`.")
    currency = serializers.CharField(help_text="The budget's currency.")
    as_of = serializers.DateTimeField(help_text="When YNAB was asked.")


@extend_schema(responses=YnabBalanceSerializer)
@api_view(["GET"])
def ynab_balance(request, account_id):
    balance = ynab.balance(services.budget_of(request.user), account_id)
    return Response(YnabBalanceSerializer(balance).data)


class SyncedSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id", help_text="The pension account id.")
    date = serializers.DateField()
    value = _money()


class SyncErrorSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class SyncResultSerializer(serializers.Serializer):
    synced = SyncedSerializer(many=True)
    errors = SyncErrorSerializer(many=True, help_text="Linked accounts not stored, and why.")


@extend_schema(request=None, responses=SyncResultSerializer)
@api_view(["POST"])
def sync_ynab(request):
    """Store today's YNAB balance of every linked pension account (replacing today's)."""
    return Response(SyncResultSerializer(services.sync_ynab(request.user)).data)
