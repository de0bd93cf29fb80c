"""Request parsers for the JSON API."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class ObjectJSONParser(JSONParser):
    """Every endpoint takes a JSON object: anything else (`[null, null]`, a bare string) is
    a 400 here rather than an AttributeError in whichever view reads `request.data.get`."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data
