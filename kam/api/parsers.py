"""The API's JSON parser: strict UTF-8, finite numbers, bounded nesting, no NUL characters.

DRF's own parser turns a document nested past Python's recursion limit into a 500
(RecursionError is not a ValueError), takes ``1e999`` as infinity, and lets ``\\u0000``
through to PostgreSQL, which refuses NUL in text and jsonb: each is a 400 here, in the one
error shape. The body's size is bounded before it is read (kam/security.py).
"""

from __future__ import annotations

import json
import math
import re
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# A \u0000 escape that is not itself escaped (preceded by an even number of backslashes).
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_("Numbers must be finite; %(number)s is too large.") % {"number": text[:40]})
    return value


def _refuse_constant(text: str) -> None:
    raise ValueError(_("%(constant)s is not valid JSON.") % {"constant": text})


def nesting_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than ``limit`` (a scalar document has depth 0)."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class KamJSONParser(JSONParser):
    """DRF's JSONParser with the limits above; the API's only JSON parser."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(_("The body is not valid %(encoding)s text.") % {"encoding": encoding.upper()}) from exc
        except LookupError as exc:
            raise ParseError(_("Unknown character set %(encoding)s.") % {"encoding": encoding}) from exc
        if NUL_ESCAPE.search(text):
            raise ParseError(_("Text may not contain the NUL character (\\u0000)."))
        try:
            data = json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
        except RecursionError as exc:
            raise ParseError(self.too_deep_message()) from exc
        except ValueError as exc:
            raise ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from exc
        if nesting_depth_exceeds(data, settings.API_JSON_MAX_DEPTH):
            raise ParseError(self.too_deep_message())
        return data

    @staticmethod
    def too_deep_message() -> str:
        return _("The JSON is nested too deeply: at most %(limit)s levels of objects and arrays.") % {
            "limit": settings.API_JSON_MAX_DEPTH
        }
