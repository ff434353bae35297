"""Routes of the ingest function: submissions (JSON, HTML form, CSV) and corrections."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

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
    idempotency_key = _header("idempotency-key")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
        raise BadRequest("the Idempotency-Key header must be 1 to 100 characters", field="Idempotency-Key")
    if kind == "application/x-www-form-urlencoded":
        return _form(program, raw_body(event.raw_event), idempotency_key)
    if kind == "text/csv":
        who = principal(router)
        result = ingest.submit_csv(
            store(), who, program, lines_of(raw_body(event.raw_event)), now=now(), idempotency_key=idempotency_key
        )
        return _result_response(result)
    if kind == "application/json" or kind.endswith("+json"):
        who = principal(router)
        rows = _json_rows(parse_json(raw_body(event.raw_event)))
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
    body = parse_json(raw_body(event.raw_event))
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with participant and reason")
    participant, reason = body.get("participant"), body.get("reason", "")
    problems = []
    if not isinstance(participant, str) or not participant.strip():
        problems.append(Problem("participant", "is required: the person whose submission this is", field="participant"))
    if not isinstance(reason, str) or len(reason) > 500:
        problems.append(Problem("reason", "must be text of at most 500 characters", field="reason"))
    if problems:
        raise InvalidInput(problems, "correction")
    result = ingest.void(store(), who, program, submission, str(participant).strip(), str(reason), now())
    return json_response(200, result.as_dict())


def _header(name: str) -> str | None:
    headers = router.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _json_rows(body: Any) -> list[dict[str, object]]:
    """JSON submissions as rows for the shared reader; a row of the wrong shape carries its problem along,
    so it is rejected on its own while the good rows are kept."""
    items = body if isinstance(body, list) else [body]
    if len(items) > ingest.MAX_JSON_SUBMISSIONS:
        raise PayloadTooLarge(f"at most {ingest.MAX_JSON_SUBMISSIONS} submissions per request; send CSV for more")
    if not items:
        raise BadRequest("the list of submissions is empty")
    rows: list[dict[str, object]] = []
    for item in items:
        if not isinstance(item, dict):
            rows.append({ROW_PROBLEM: "must be an object with participant and values"})
            continue
        values = item.get("values", {})
        unknown = [k for k in item if k not in SUBMISSION_FIELDS]
        if unknown:
            rows.append({ROW_PROBLEM: f"{unknown[0]!r} is not a submission field (id, participant, at, values, voids)"})
        elif not isinstance(values, dict):
            rows.append({ROW_PROBLEM: "values must be an object of metric: number"})
        elif clash := [k for k in values if k in SUBMISSION_FIELDS]:
            rows.append({ROW_PROBLEM: f"values.{clash[0]} is not a metric"})
        else:
            rows.append({**values, **{k: item.get(k) for k in ("id", "participant", "at", "voids")}})
    return rows


def _result_response(result: ingest.IngestResult) -> Response[str]:
    nothing_taken = not result.accepted and not result.duplicates and result.rejected
    return json_response(422 if nothing_taken else 200, result.as_dict())


def _form(program: str, data: bytes, idempotency_key: str | None) -> Response[str]:
    from podium.adapters.pages import render

    form = parse_form(data)
    who = principal(router, token=form.pop("token", None))
    return_to = form.pop("return_to", "").strip()
    row = {k: v for k, v in form.items()}
    result = ingest.submit(store(), who, program, [row], source="form", now=now(), idempotency_key=idempotency_key)
    ok = bool(result.accepted or result.duplicates)
    if return_to and ok:
        record = store().get_program(who.org, program)
        allowed = record.program.return_to if record else ()
        if any(return_to.startswith(prefix) for prefix in allowed):
            separator = "&" if "?" in return_to else "?"
            location = f"{return_to}{separator}{urlencode({'podium': 'accepted'})}"
            return Response(status_code=303, content_type="text/html", body="", headers={"Location": location})
    html = render("form_result.html", ok=ok, result=result.as_dict(), program=program)
    return Response(status_code=200 if ok else 422, content_type="text/html; charset=utf-8", body=html)
