"""The HTTP edge: the one place that turns requests into inputs and domain errors into responses.

Every error answers `{"error": {"code", "message", "field"?, "problems"?}}` with a 4xx status; bad input never
reaches a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import Response

from podium.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidPeriod,
    NotFound,
    PayloadTooLarge,
    PodiumError,
    Unauthenticated,
    UnknownBoard,
    UnsupportedMediaType,
)
from podium.domain.text import leaves, storable

# API Gateway passes at most 6 MB to Lambda; refuse anything bigger than this before decoding it.
MAX_BODY_BYTES = 5 * 1024 * 1024

STATUS: list[tuple[type[PodiumError], int]] = [
    (BadRequest, 400),
    (InvalidPeriod, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (UnknownBoard, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (InvalidInput, 422),
]

JSON = "application/json"


def status_of(error: PodiumError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_body(error: PodiumError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": str(error).splitlines()[0]}
    if isinstance(error, InvalidInput):
        body["message"] = (
            f"{error.what} has {len(error.problems)} problem(s): {error.problems[0]}" if error.problems else error.what
        )
        body["problems"] = [p.as_dict() for p in error.problems]
        first = error.problems[0] if error.problems else None
        if first is not None and (first.field or first.path):
            body["field"] = first.field or first.path
    elif isinstance(error, BadRequest) and error.field:
        body["field"] = error.field
    return {"error": body}


def error_response(error: PodiumError) -> Response[str]:
    headers = {"WWW-Authenticate": 'Bearer realm="podium"'} if isinstance(error, Unauthenticated) else None
    return json_response(status_of(error), error_body(error), headers)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers,
    )


def media_type(headers: dict[str, str]) -> str:
    """The request's media type, lower-cased, without parameters (`text/csv; charset=utf-8` -> `text/csv`)."""
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body as bytes (base64 decoded when API Gateway encoded it), refused when too large or empty."""
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("the request body is empty", code="empty_body")
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; split it up")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the request body is not valid base64") from None
    else:
        data = body.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; split it up")
    return data


def text_of(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text", code="not_utf8") from None


def parse_json(data: bytes) -> Any:
    """JSON with the usual numbers only: NaN and Infinity are refused, as JSON itself refuses them."""

    def refuse(constant: str) -> Any:
        raise BadRequest(f"{constant} is not a JSON number", code="malformed_json")

    try:
        value = json.loads(text_of(data), parse_constant=refuse)
    except json.JSONDecodeError as e:
        raise BadRequest(
            f"the body is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", code="malformed_json"
        ) from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply", code="malformed_json") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise BadRequest("a number in the body is too large", code="malformed_json") from None
    _check_values(value)
    return value


def _check_values(value: Any) -> None:
    # Integers beyond float range (e.g. 1e400 written out) parse in Python; refuse them here, once. JSON may
    # also escape a lone surrogate (\ud800), which no UTF-8 store or answer can hold.
    for v in leaves(value):
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 1000:
            raise BadRequest("a number in the body is too large", code="malformed_json")
        if isinstance(v, float) and not math.isfinite(v):
            raise BadRequest("a number in the body is not finite", code="malformed_json")
        if isinstance(v, str) and not storable(v):
            raise BadRequest("a string in the body holds a lone UTF-16 surrogate", code="malformed_json")


def parse_form(data: bytes) -> dict[str, str]:
    """An HTML form post. A repeated field keeps its last value, as browsers send one per input."""
    try:
        return dict(parse_qsl(text_of(data), keep_blank_values=True, strict_parsing=False, max_num_fields=500))
    except ValueError as e:
        raise BadRequest(f"the form body cannot be read: {e}", code="malformed_form") from None


def lines_of(data: bytes) -> Iterator[str]:
    """CSV text as lines, decoded lazily."""
    return iter(text_of(data).splitlines(keepends=True))


def query_flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@cache
def error_schema() -> dict[str, Any]:
    """The JSON schema of every error answer, for the OpenAPI document."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "problems": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {
                                "row": {"type": "integer"},
                                "field": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    }
