"""The OpenAPI schema states the real constraints (issue 13: schemathesis found schema-valid
requests refused and schema-violating ones accepted), generically, so that new endpoints
get them without per-endpoint annotations:

- AutoSchema: a decimal needs a digit, and a sign only where negatives are allowed, and
  states its range (minimum, maximum); a date is in 1900-2099, February 29 in leap years; a
  field named `currency` (or `*_currency`) is a three-letter code.
- postprocess_constraints: path and query parameters get the same rules by name, and a
  path parameter's pattern declared once (e.g. `symbol`) holds for every same-named one.
- add_error_responses: every operation documents the one error format.

What a schema cannot state (start on or before end, a date not after today, an oversell)
stays a documented 400.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from rest_framework import serializers

# ISO 4217 codes; the API upper-cases what it is sent.
CURRENCY_PATTERN = "^[A-Za-z]{3}$"
# ISO dates from 1900-01-01 (financedash.lib.dates.EARLIEST) to 2099-12-31, each month's
# days, February 29 in the leap years only: every fourth year, 1900 not (a century), 2000 yes
# (divisible by 400).
_LEAP_YEAR = r"(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:0[048]|[2468][048]|[13579][26]))"
DATE_PATTERN = (
    r"^(?:(?:19|20)\d\d-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
    rf"|{_LEAP_YEAR}-02-29)$"
)
NO_NUL_PATTERN = "^[^\\u0000]*$"
NOT_BLANK_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
NO_NUL = NO_NUL_PATTERN
_CURRENCY_NAMES = re.compile(r"^(?:currency|base|target|\w+_currency)$")


def _decimal_pattern(field: serializers.DecimalField) -> str:
    """At least one digit (DRF refuses "" and "."), at most max_digits - decimal_places before
    the point and decimal_places after it, and a minus sign only if a negative is valid."""
    whole = field.max_whole_digits
    places = field.decimal_places
    sign = "-?" if field.min_value is None or Decimal(field.min_value) < 0 else ""
    integer = rf"\d{{1,{whole}}}" if whole else "0"
    fraction = rf"(?:\.\d{{0,{places}}})?" if places else ""
    return f"^{sign}{integer}{fraction}$"


def _number(value) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # Input only: what the API writes out may be wider (a computed total has more
        # digits than any one entered amount).
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if schema.get("type") != "string":
            return schema
        if isinstance(field, serializers.DecimalField) and schema.get("format") == "decimal":
            schema["pattern"] = _decimal_pattern(field)
            # The range, as the number the string must stand for: JSON Schema applies
            # minimum and maximum to numbers only, so validators pass over them on a string,
            # but the documentation and a client's generator read them.
            for bound, keyword in ((field.min_value, "minimum"), (field.max_value, "maximum")):
                if bound is not None:
                    schema[keyword] = _number(bound)
        elif isinstance(field, serializers.DateField) and not isinstance(
            field, serializers.DateTimeField
        ):
            schema["pattern"] = DATE_PATTERN
        elif type(field) is serializers.CharField and _CURRENCY_NAMES.match(field.field_name or ""):
            schema.pop("minLength", None)
            schema.pop("maxLength", None)
            schema["pattern"] = CURRENCY_PATTERN
        elif (
            isinstance(field, serializers.CharField)
            and "pattern" not in schema
            and "enum" not in schema
            # Their own pattern comes from the validator, after this.
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            # DRF's CharField refuses a NUL character (PostgreSQL cannot store one) and, unless
            # blank is allowed, one that is empty once trimmed.
            blank_ok = field.allow_blank or not field.trim_whitespace
            schema["pattern"] = NO_NUL_PATTERN if blank_ok else NOT_BLANK_PATTERN
        return schema


_BLANK = {"type": "string", "maxLength": 0}


def _merge_blank_alternative(properties: dict) -> None:
    """drf-spectacular writes a blank-allowed string as oneOf [the string, a string of at
    most 0 characters]; "" matches both, so by oneOf's exactly-one rule the schema refuses
    the very value it means to allow. The string alone says it (it has no minLength)."""
    for name, prop in properties.items():
        alternatives = prop.get("oneOf", [])
        if len(alternatives) == 2 and alternatives[1] == _BLANK:
            string = alternatives[0]
            if string.get("type") == "string" and not string.get("minLength"):
                rest = {k: v for k, v in prop.items() if k != "oneOf"}
                properties[name] = {**string, **rest}


def postprocess_constraints(result, generator, request, public):
    for component in result.get("components", {}).get("schemas", {}).values():
        _merge_blank_alternative(component.get("properties", {}))
    patterns: dict[str, str] = {}
    parameters = [
        parameter
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        for parameter in operation.get("parameters", [])
    ]
    for parameter in parameters:
        schema = parameter.get("schema", {})
        if parameter.get("in") == "path" and "pattern" in schema:
            patterns.setdefault(parameter["name"], schema["pattern"])
    for parameter in parameters:
        schema = parameter.get("schema", {})
        if schema.get("type") != "string" or "enum" in schema:
            continue
        if "pattern" not in schema:
            if parameter.get("in") == "path" and parameter["name"] in patterns:
                schema["pattern"] = patterns[parameter["name"]]
            elif _CURRENCY_NAMES.match(parameter["name"]):
                schema["pattern"] = CURRENCY_PATTERN
            elif schema.get("format") == "date":
                schema["pattern"] = DATE_PATTERN
            else:
                schema["pattern"] = NOT_BLANK_PATTERN if parameter.get("required") else NO_NUL
        if parameter.get("in") == "query" and not parameter.get("required"):
            # An empty optional query parameter means its default, as if left out (and an
            # empty string has no `format`: date, decimal).
            schema.pop("format", None)
            body = schema["pattern"].removeprefix("^").removesuffix("$")
            schema["pattern"] = f"^(?:{body})?$"
    return result


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "For validation errors: each field with its messages.",
                },
            },
        }
    },
}

_ERRORS = {
    "400": "Invalid input: `details` lists each field and its problems.",
    "401": "Not authenticated: log in for a bearer token.",
    "404": "Not found, or not yours.",
}
_DEFAULT = "Any other error (403, 405, 409 conflict, 429 throttled, 503 market data unavailable)."


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in _ERRORS.items():
                responses.setdefault(code, {"description": description, "content": ref})
            responses.setdefault("default", {"description": _DEFAULT, "content": ref})
    return result
