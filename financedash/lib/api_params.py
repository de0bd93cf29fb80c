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
