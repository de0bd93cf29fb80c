"""API v1 root: auth endpoints, the current user, and every app's API routes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from financedash import overview
from financedash.accounts import create_account, registration_open
from financedash.lib import throttle
from financedash.lib.api_fields import DecimalField
from financedash.lib.api_params import PERIOD_PARAMETERS, period
from financedash.lib.profiles import profile_for
from financedash.lib.responses import cached_body
from financedash.models import Profile
from portfolios import backfill
from portfolios.api import (
    HouseholdPerformanceSerializer,
    PerformancePeriodSerializer,
    performance_data,
)
from portfolios.models import Portfolio

User = get_user_model()


class Throttled(exceptions.Throttled):
    error_code = "login_locked"


class LoginView(jwt_views.TokenObtainPairView):
    """Username + password to an access/refresh pair, locked out after repeated failures."""

    def post(self, request, *args, **kwargs):
        username = str(request.data.get("username", ""))
        address = throttle.client_address(request)
        wait = throttle.locked_for(username, address)
        if wait:
            raise Throttled(wait=wait, detail="Too many failed login attempts.")
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(username, address)
            raise
        throttle.reset(username, address)
        return response


class RegisterSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    class Meta:
        model = User
        fields = ("id", "username", "email", "password")
        read_only_fields = ("id",)

    def validate_password(self, value):
        # Field-level, so a bad password is reported together with any other bad field.
        user = User(
            username=self.initial_data.get("username", ""),
            email=self.initial_data.get("email", ""),
        )
        try:
            validate_password(value, user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value

    def create(self, validated_data):
        user = User(username=validated_data["username"], email=validated_data.get("email", ""))
        user.set_password(validated_data["password"])
        return create_account(user)


@extend_schema(request=RegisterSerializer, responses={201: RegisterSerializer})
@api_view(["POST"])
@permission_classes([AllowAny])
def register(request):
    if not registration_open():
        raise exceptions.PermissionDenied("Registration is closed.")
    serializer = RegisterSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = serializer.save()
    tokens = TokenObtainPairSerializer.get_token(user)
    return Response(
        {**serializer.data, "access": str(tokens.access_token), "refresh": str(tokens)},
        status=status.HTTP_201_CREATED,
    )


class MeSerializer(serializers.ModelSerializer):
    base_currency = serializers.CharField(source="profile.base_currency", read_only=True)
    retirement_goal_amount = DecimalField(
        source="profile.retirement_goal_amount",
        max_digits=15,
        decimal_places=2,
        read_only=True,
        allow_null=True,
    )
    retirement_goal_year = serializers.IntegerField(
        source="profile.retirement_goal_year", read_only=True, allow_null=True
    )

    class Meta:
        model = User
        fields = (
            "id",
            "username",
            "email",
            "base_currency",
            "retirement_goal_amount",
            "retirement_goal_year",
        )


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    return Response(MeSerializer(request.user).data)


class RetirementGoalSerializer(serializers.ModelSerializer):
    retirement_goal_amount = DecimalField(
        max_digits=15, decimal_places=2, min_value=0, allow_null=True
    )
    retirement_goal_year = serializers.IntegerField(min_value=1900, max_value=2200, allow_null=True)

    class Meta:
        model = Profile
        fields = ("retirement_goal_amount", "retirement_goal_year")


@extend_schema(request=RetirementGoalSerializer, responses=MeSerializer)
@api_view(["PUT"])
def retirement_goal(request):
    serializer = RetirementGoalSerializer(request.user.profile, data=request.data)
    serializer.is_valid(raise_exception=True)
    serializer.save()
    return Response(MeSerializer(request.user).data)


@extend_schema(
    responses=inline_serializer(
        "Currencies", {"currencies": serializers.ListField(child=serializers.CharField())}
    )
)
@api_view(["GET"])
def currencies(request):
    from marketdata.fx import supported_currencies

    return Response({"currencies": supported_currencies()})


@extend_schema(parameters=PERIOD_PARAMETERS, responses=HouseholdPerformanceSerializer)
@api_view(["GET"])
def household_performance(request):
    """The whole household in the base currency: each portfolio converted at each day's
    rate, pensions as a separate line (`series[].pensions`) and in the totals, not in the
    returns."""
    dates = period(request, PerformancePeriodSerializer)
    return HttpResponse(
        household_body(request.user, dates["start"], dates["end"]),
        content_type="application/json",
    )


def household_body(user, start, end) -> bytes:
    """The household's performance as the API answers it, from the shared cache when none
    of its inputs changed (the stamps in overview's key: transactions, prices and rates,
    pension values, live quotes); not kept while history is still being fetched."""
    currency = profile_for(user).base_currency
    history = backfill.ensure_window(
        Portfolio.objects.owned_by(user), start, end, base_currency=currency
    )

    def build():
        result = overview.household_performance(user, currency=currency, start=start, end=end)
        data = performance_data(result, history, household=True)
        return data, history.complete and not result.error

    key = overview.household_response_key(user, currency=currency, start=start, end=end)
    return cached_body(f"api:{key}", build)


urlpatterns = [
    path("auth/register", register, name="api-register"),
    path("auth/login", LoginView.as_view(), name="api-login"),
    path("auth/refresh", jwt_views.TokenRefreshView.as_view(), name="api-refresh"),
    path("auth/logout", jwt_views.TokenBlacklistView.as_view(), name="api-logout"),
    path("auth/me", me, name="api-me"),
    path("users/me", me, name="api-users-me"),
    path("users/me/retirement-goal", retirement_goal, name="api-retirement-goal"),
    path("currencies", currencies, name="api-currencies"),
    path("performance", household_performance, name="api-household-performance"),
    path("", include("portfolios.api_urls")),
    path("", include("marketdata.api_urls")),
    path("", include("pensions.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
