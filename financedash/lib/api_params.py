"""Query parameters shared by API endpoints."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

DEFAULT_PERIOD_DAYS = 365

PERIOD_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="Default: a year before end."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Default: today."),
]


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters where a blank choice (`?format=`) is an error, not the default: DRF
    reads a blank optional parameter as left out, so a value outside the schema's enum
    would pass silently. Other blank parameters (`?end=`) still mean "left out", as
    OpenAPI clients send them."""

    def to_internal_value(self, data):
        blank = {
            name: ["May not be blank: give one of the choices or leave the parameter out."]
            for name, field in self.fields.items()
            if isinstance(field, serializers.ChoiceField) and name in data and data[name] == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class PeriodSerializer(serializers.Serializer):
    """?start=&end=, both optional: the year up to today by default."""

    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    max_days: int | None = None

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate()
        start = attrs.get("start") or end - timedelta(days=DEFAULT_PERIOD_DAYS)
        if start > end:
            raise serializers.ValidationError({"start": ["Must be on or before end."]})
        if self.max_days is not None and (end - start).days > self.max_days:
            raise serializers.ValidationError(
                {"start": [f"The period can be at most {self.max_days} days."]}
            )
        return {"start": start, "end": end}


def period(request, serializer_class: type[PeriodSerializer] = PeriodSerializer) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
