"""OpenAPI post-processing: every operation documents the one error format."""

from __future__ import annotations

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
