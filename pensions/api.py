"""JSON API for pension accounts and their values (ARCHITECTURE section 7): thin views over
pensions.services. Every lookup is scoped to the requesting user (404 otherwise)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import OuterRef, Subquery
from rest_framework import generics, serializers

from financedash.lib.api_fields import DECIMAL_ERRORS
from financedash.lib.errors import Conflict
from financedash.lib.money import ENTERED_MONEY
from pensions import services
from pensions.models import PensionAccount, PensionValueEntry


def _conflict_on_duplicate(exc: ValidationError) -> None:
    """A value for a date that has one is a 409 (section 7); other rule breaks stay 400."""
    errors = getattr(exc, "error_dict", {})
    if any(error.code == "duplicate" for error in errors.get("date", [])):
        raise Conflict({"date": exc.message_dict["date"]}) from exc


class PensionAccountSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(max_length=3, min_length=3, required=False, default="NOK")
    current_value = serializers.DecimalField(**ENTERED_MONEY, read_only=True, allow_null=True)
    current_value_date = serializers.DateField(read_only=True, allow_null=True)

    class Meta:
        model = PensionAccount
        fields = (
            "id",
            "name",
            "currency",
            "ynab_account_id",
            "current_value",
            "current_value_date",
        )

    def validate_currency(self, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use a three-letter ISO 4217 code, e.g. NOK.")
        return value

    def validate_name(self, value: str) -> str:
        clash = PensionAccount.objects.owned_by(self.context["request"].user).filter(name=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise Conflict({"name": [f"You already have a pension account named {value!r}."]})
        return value

    def save(self, **kwargs):
        try:
            return super().save(user=self.context["request"].user, **kwargs)
        except IntegrityError as exc:  # a concurrent request took the name
            raise Conflict({"name": ["A pension account with this name already exists."]}) from exc


def _accounts(request):
    if not request.user.is_authenticated:  # only while the OpenAPI schema is generated
        return PensionAccount.objects.none()
    latest = PensionValueEntry.objects.filter(account=OuterRef("pk")).order_by("-date")
    return PensionAccount.objects.owned_by(request.user).annotate(
        current_value=Subquery(latest.values("value")[:1]),
        current_value_date=Subquery(latest.values("date")[:1]),
    )


class AccountList(generics.ListCreateAPIView):
    serializer_class = PensionAccountSerializer
    pagination_class = None

    def get_queryset(self):
        return _accounts(self.request)


class AccountDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = PensionAccountSerializer

    def get_queryset(self):
        return _accounts(self.request)


class PensionValueSerializer(serializers.ModelSerializer):
    value = serializers.DecimalField(**ENTERED_MONEY, error_messages=DECIMAL_ERRORS)

    class Meta:
        model = PensionValueEntry
        fields = ("id", "date", "value")
        # The service checks (account, date) and answers 409 for a taken date.
        validators = []

    def create(self, validated_data):
        try:
            return services.record_value(self.context["account"], **validated_data)
        except ValidationError as exc:
            _conflict_on_duplicate(exc)
            raise

    def update(self, instance, validated_data):
        values = {"date": instance.date, "value": instance.value, **validated_data}
        try:
            return services.update_value(instance, **values)
        except ValidationError as exc:
            _conflict_on_duplicate(exc)
            raise


class ValueList(generics.ListCreateAPIView):
    """An account's values, newest first; a POST on a date that has a value answers 409."""

    serializer_class = PensionValueSerializer
    pagination_class = None

    def _account(self) -> PensionAccount:
        return generics.get_object_or_404(_accounts(self.request), pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PensionValueEntry.objects.none()
        return self._account().values.order_by("-date")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["account"] = self._account()
        return context


class ValueDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = PensionValueSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PensionValueEntry.objects.none()
        # The account first: a pk lookup, unlike a foreign-key one, copes with an id too
        # large for the database's integers (404, not a 500).
        account = generics.get_object_or_404(_accounts(self.request), pk=self.kwargs["account_pk"])
        return account.values.all()
