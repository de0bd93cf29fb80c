"""API v1 root: auth endpoints, the current user, and every app's API routes."""

from __future__ import annotations

import dataclasses
import json

from csp.decorators import csp_update
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from financedash import backup, overview
from financedash.accounts import create_account, locked_out, registration_open
from financedash.lib.api_fields import DecimalField
from financedash.lib.api_params import PERIOD_PARAMETERS, period
from financedash.lib.api_parsers import ObjectJSONParser
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
from portfolios.performance_data import benchmark_for

User = get_user_model()


class LoginView(jwt_views.TokenObtainPairView):
    """Username + password to an access/refresh pair. The lockout after repeated failures
    is django-axes's, shared with the login page and the admin: simplejwt authenticates
    through `authenticate(request=...)`, which axes checks and counts."""

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # Django's authenticate() turns axes's refusal into "no such user"; axes marks
            # the request it was given, here DRF's wrapper.
            if getattr(request, "axes_locked_out", False):
                return locked_out(request._request)
            raise


class RefreshSerializer(TokenRefreshSerializer):
    """Rotation that uses a refresh token once: the token is claimed by inserting its
    blacklist row, which only one of any number of parallel requests can do (simplejwt
    checks the blacklist first and inserts after, so 8 of 10 parallel refreshes passed).
    A token issued before the user's last password change is refused here too, not only
    the access tokens it would mint."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise InvalidToken("No active account found for the given token.")
        claim = refresh.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM)
        if jwt_settings.CHECK_REVOKE_TOKEN and claim != get_md5_hash_password(user.password):
            raise InvalidToken("The password has changed since this token was issued.")
        _, claimed = refresh.blacklist()
        if not claimed:
            raise InvalidToken("Token is blacklisted")
        access = str(refresh.access_token)
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        return {"access": access, "refresh": str(refresh)}


class RefreshView(jwt_views.TokenRefreshView):
    serializer_class = RefreshSerializer


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
    profile = profile_for(user)
    currency = profile.base_currency
    history = backfill.ensure_window(
        Portfolio.objects.owned_by(user), start, end, base_currency=currency
    )

    def build():
        result = overview.household_performance(user, currency=currency, start=start, end=end)
        benchmark = benchmark_for(profile.benchmark, result)
        data = performance_data(result, history, household=True, benchmark=benchmark)
        kept = history.complete and not result.error
        return data, kept and (benchmark is None or benchmark.note is None)

    key = overview.household_response_key(user, currency=currency, start=start, end=end)
    return cached_body(f"api:{key}:b{profile.benchmark_id or '-'}", build)


def _uploaded_json(request):
    """The backup document: the JSON file of a multipart upload, or the JSON body.

    The body is read here, not through request.data: a household's backup is larger than
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), the right limit for every other body, so this
    endpoint reads up to its own (backup.MAX_BYTES) from the stream."""
    if request.content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise backup.BackupInvalid({"file": ["Upload the backup as `file`."]})
        if upload.size > backup.MAX_BYTES:
            raise backup.BackupInvalid({"file": ["The file is larger than 50 MB."]})
        raw = upload.read()
    else:
        stream = request.stream
        raw = stream.read(backup.MAX_BYTES + 1) if stream is not None else b""
        if len(raw) > backup.MAX_BYTES:
            raise backup.BackupInvalid({"": ["The backup is larger than 50 MB."]})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise backup.BackupInvalid({"": [f"Not JSON: {exc}"]}) from None


@extend_schema(
    methods=["GET"],
    responses={200: OpenApiTypes.OBJECT},
    description="The user's whole data as JSON (format financedash-backup, version 1).",
)
@extend_schema(
    methods=["POST"],
    request={"application/json": OpenApiTypes.OBJECT, "multipart/form-data": OpenApiTypes.OBJECT},
    responses={201: OpenApiTypes.OBJECT},
    description="Restore a backup into an account without portfolios (409 otherwise): all of "
    "it or nothing; a 400 names the path of every bad value.",
)
@api_view(["GET", "POST"])
# The JSON body is read from the stream by _uploaded_json; a file comes as multipart.
@parser_classes([MultiPartParser, ObjectJSONParser])
def backup_view(request):
    if request.method == "GET":
        response = Response(backup.dump(request.user))
        day = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="financedash-backup-{day}.json"'
        return response
    restored = backup.restore(request.user, _uploaded_json(request))
    return Response(dataclasses.asdict(restored), status=status.HTTP_201_CREATED)


# Swagger UI sets style attributes from its script: the docs page alone allows inline
# styles (never inline scripts).
@method_decorator(csp_update({"style-src": ["'unsafe-inline'"]}), name="get")
class ApiDocsView(SpectacularSwaggerSplitView):
    """The Swagger page: a person who is not logged in is sent to the login form (and back),
    rather than shown a 401 (the schema itself answers 401 in the API's format). The split
    view serves its start-up script as a file of its own (`?script`): the Content-Security-
    Policy allows no inline script."""

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


urlpatterns = [
    path("auth/register", register, name="api-register"),
    path("auth/login", LoginView.as_view(), name="api-login"),
    path("auth/refresh", RefreshView.as_view(), name="api-refresh"),
    path("auth/logout", jwt_views.TokenBlacklistView.as_view(), name="api-logout"),
    path("auth/me", me, name="api-me"),
    path("users/me", me, name="api-users-me"),
    path("users/me/retirement-goal", retirement_goal, name="api-retirement-goal"),
    path("currencies", currencies, name="api-currencies"),
    path("performance", household_performance, name="api-household-performance"),
    path("backup", backup_view, name="api-backup"),
    path("", include("portfolios.api_urls")),
    path("", include("marketdata.api_urls")),
    path("", include("pensions.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]
