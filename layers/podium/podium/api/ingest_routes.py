"""Routes of the ingest function: submissions (JSON, HTML form, CSV) and corrections."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.api.app import now, principal, responses, store
from podium.api.http import (
    json_response,
    lines_of,
    media_type,
    parse_form,
    parse_json,
    raw_body,
)
from podium.domain.errors import BadRequest, InvalidInput, PayloadTooLarge, Problem, UnsupportedMediaType
from podium.domain.records import ROW_PROBLEM
from podium.services import ingest

router = Router()

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["accepted", "duplicates", "rejected", "accepted_ids", "duplicate_ids", "errors"],
    "properties": {
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "rejected": {"type": "integer"},
        "accepted_ids": {"type": "array", "items": {"type": "string"}},
        "duplicate_ids": {"type": "array", "items": {"type": "string"}},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["reason"],
                "properties": {"row": {"type": "integer"}, "field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}
VOID_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["voided", "correction", "already_voided"],
    "properties": {
        "voided": {"type": "string"},
        "correction": {"type": "string"},
        "already_voided": {"type": "boolean"},
    },
}
SUBMISSION_FIELDS = {"id", "participant", "at", "values", "voids"}


@router.post(
    "/v1/programs/<program>/submissions",
    summary="Post submissions: JSON (one or a list), an HTML form, or CSV",
    description=(
        "JSON: an object or a list of up to 1,000 `{id?, participant, at?, values: {metric: number}, voids?}`. "
        "Form (`application/x-www-form-urlencoded`): `participant`, `at`, one field per metric, `token` "
        "(a public submit token) and `return_to`; answers with a page or a 303 redirect. "
        "CSV (`text/csv`): a header `id,participant,at,voids,<metrics>`; answers with per-row results. "
        "An `id` or the `Idempotency-Key` header makes a retry write nothing and report duplicates."
    ),
    responses=responses(200, RESULT_SCHEMA, 403, 413, 415, 422, description="What was accepted, duplicated, rejected"),
    tags=["submissions"],
)
def post_submissions(program: str) -> Response[str]:
    event = router.current_event
    kind = media_type(dict(event.headers or {}))
    # An empty or oversized body is refused before anything else, whatever it claims to be.
    data = raw_body(event.raw_event)
    idempotency_key = _header("idempotency-key")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
        raise BadRequest("the Idempotency-Key header must be 1 to 100 characters", field="Idempotency-Key")
    if kind == "application/x-www-form-urlencoded":
        return _form(program, data, idempotency_key)
    if kind == "text/csv":
        who = principal(router)
        result = ingest.submit_csv(store(), who, program, lines_of(data), now=now(), idempotency_key=idempotency_key)
        return _result_response(result)
    if kind == "application/json" or kind.endswith("+json"):
        who = principal(router)
        rows = _json_rows(_parse_json(data))
        result = ingest.submit(store(), who, program, rows, source="json", now=now(), idempotency_key=idempotency_key)
        return _result_response(result)
    raise UnsupportedMediaType(
        f"send application/json, text/csv or application/x-www-form-urlencoded, not {kind or 'no content type'}"
    )


@router.post(
    "/v1/programs/<program>/submissions/<submission>/void",
    summary="Void a submission (a correction; the original stays in the log)",
    description="Body: `{participant, reason?}`. Voiding twice is harmless: the answer says it was already voided.",
    responses=responses(200, VOID_SCHEMA, 403, 415, 422, description="The correction"),
    tags=["submissions"],
)
def void_submission(program: str, submission: str) -> Response[str]:
    event = router.current_event
    who = principal(router)
    if media_type(dict(event.headers or {})) not in ("application/json", ""):
        raise UnsupportedMediaType("send the correction as application/json")
    body = _parse_json(raw_body(event.raw_event))
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with participant and reason")
    participant, reason = body.get("participant"), body.get("reason", "")
    problems = []
    if not isinstance(participant, str) or not participant.strip():
        problems.append(
            Problem("participant", "is required: the participant whose submission this is", field="participant")
        )
    if not isinstance(reason, str) or len(reason) > 500:
        problems.append(Problem("reason", "must be text of at most 500 characters", field="reason"))
    if problems:
        raise InvalidInput(problems, "correction")
    result = ingest.void(store(), who, program, submission, str(participant).strip(), str(reason), now())
    return json_response(200, result.as_dict())


def _header(name: str) -> str | None:
    headers = router.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _parse_json(data: bytes) -> Any:
    try:
        return parse_json(data)
    except ValueError:
        # json.loads refuses an integer of more than 4,300 digits with a plain ValueError, not a JSONDecodeError.
        raise BadRequest("a number in the body is too large", code="malformed_json") from None


def _json_rows(body: Any) -> list[dict[str, object]]:
    """JSON submissions as rows for the shared reader; a row of the wrong shape carries its problem along,
    so it is rejected on its own while the good rows are kept."""
    items = body if isinstance(body, list) else [body]
    if len(items) > ingest.MAX_JSON_SUBMISSIONS:
        raise PayloadTooLarge(f"at most {ingest.MAX_JSON_SUBMISSIONS} submissions per request; send CSV for more")
    if not items:
        raise BadRequest("the list of submissions is empty")
    return [_json_row(item) for item in items]


def _json_row(item: Any) -> dict[str, object]:
    """One JSON submission as a row, or its first problem. JSON has types, so they are kept: a number sent as
    text, or a participant sent as a number, is a mistake in the sender's program, not something to guess at."""
    if not isinstance(item, dict):
        return _bad_row(f"must be an object with participant and values, not {_json_type(item)}")
    unknown = [k for k in item if k not in SUBMISSION_FIELDS]
    if unknown:
        return _bad_row("is not a submission field (id, participant, at, values, voids)", unknown[0])
    values = item.get("values", {})
    if not isinstance(values, dict):
        return _bad_row(f"must be an object of metric: number, not {_json_type(values)}", "values")
    # A metric key is a plain name; the reader's own markers (`!problem`, `!row`) cannot come from outside.
    if clash := [k for k in values if k in SUBMISSION_FIELDS or k.startswith("!")]:
        return _bad_row(f"{clash[0]!r} is not a metric", "values")
    for key in ("id", "participant", "at", "voids"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            return _bad_row(f"must be text, not {_json_type(value)}", key)
    for key, value in values.items():
        # null means "no value", as an empty cell does in CSV.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return _bad_row(f"must be a number, not {_json_type(value)}", key)
    return {**values, **{k: item.get(k) for k in ("id", "participant", "at", "voids")}}


def _bad_row(reason: str, field: str | None = None) -> dict[str, object]:
    row: dict[str, object] = {ROW_PROBLEM: reason}
    if field is not None:
        row[ingest.ROW_FIELD] = field
    return row


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _result_response(result: ingest.IngestResult) -> Response[str]:
    """200 when anything was taken (or was already there). When every row was refused, 422 in the error format,
    with the per-row results beside it."""
    body = result.as_dict()
    if result.accepted or result.duplicates or not result.rejected:
        return json_response(200, body)
    first = body["errors"][0]
    where = f"row {first['row']}" if "row" in first else "the request"
    if first.get("field"):
        where += f", {first['field']}"
    error: dict[str, Any] = {
        "code": "invalid",
        "message": f"no submission was accepted ({body['rejected']} row(s) rejected): {where}: {first['reason']}",
        "problems": body["errors"],
    }
    if first.get("field"):
        error["field"] = first["field"]
    return json_response(422, {"error": error, **body})


def _form(program: str, data: bytes, idempotency_key: str | None) -> Response[str]:
    from podium.adapters.pages import render

    form = parse_form(data)
    token = form.pop("token", None)
    who = principal(router, token=token)
    return_to = form.pop("return_to", "").strip()
    marker = next((k for k in form if k.startswith("!")), None)
    row = _bad_row("is not a field of the score form", marker) if marker else dict(form)
    result = ingest.submit(store(), who, program, [row], source="form", now=now(), idempotency_key=idempotency_key)
    ok = bool(result.accepted or result.duplicates)
    if return_to and ok:
        record = store().get_program(who.org, program)
        location = _redirect(return_to, record.program.return_to if record else ())
        if location is not None:
            return Response(status_code=303, content_type="text/html", body="", headers={"Location": location})
    board_url = f"/p/{quote(who.org, safe='')}/{quote(program, safe='')}"
    again = f"{board_url}/form?{urlencode({'t': token})}" if token and who.program is not None else None
    html = render(
        "form_result.html", ok=ok, result=result.as_dict(), program=program, board_url=board_url, again_url=again
    )
    return Response(status_code=200 if ok else 422, content_type="text/html; charset=utf-8", body=html)


def _redirect(return_to: str, allowed: tuple[str, ...]) -> str | None:
    """Where to send the browser after a good form post: `return_to` if the program allows it, else nowhere.
    Only a plain http(s) URL under an allowed prefix qualifies, so no header can be smuggled in with it."""
    if not return_to.isascii() or any(c.isspace() or not c.isprintable() for c in return_to):
        return None
    if not any(return_to.startswith(prefix) for prefix in allowed):
        return None
    parts = urlsplit(return_to)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    marker = urlencode({"podium": "accepted"})
    return urlunsplit(parts._replace(query=f"{parts.query}&{marker}" if parts.query else marker))
