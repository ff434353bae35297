"""Routes of the admin function: programs, rosters, participants, public tokens, API keys, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.api.app import now, principal, responses, store
from podium.api.http import json_response, lines_of, media_type, parse_json, query_flag, raw_body, text_of
from podium.domain.errors import BadRequest, InvalidInput, InvalidProgram, Problem, UnsupportedMediaType
from podium.domain.program import decode_program_document
from podium.domain.records import read_roster_csv, read_roster_rows
from podium.domain.roster import PARTICIPANT_ID, Participant
from podium.services import programs
from podium.services.ports import ApiKey, ProgramRecord, Scope

router = Router()

PROGRAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "version", "definition", "created_at", "updated_at", "public_tokens"],
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "definition": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "public_tokens": {"type": "array", "items": {"type": "string", "enum": ["submit", "read"]}},
    },
}
PARTICIPANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "email", "team", "division", "active"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "email": {"type": "string"},
        "team": {"type": ["string", "null"]},
        "division": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
        "opt_out": {"type": "string", "enum": ["", "anonymise", "hide"]},
    },
}
ROSTER_CHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dry_run", "added", "moved", "updated", "removed", "reactivated", "unchanged"],
    "properties": {
        "dry_run": {"type": "boolean"},
        "added": {"type": "array", "items": {"type": "string"}},
        "moved": {"type": "array", "items": {"type": "object"}},
        "updated": {"type": "array", "items": {"type": "string"}},
        "removed": {"type": "array", "items": {"type": "string"}},
        "reactivated": {"type": "array", "items": {"type": "string"}},
        "unchanged": {"type": "integer"},
    },
}
KEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "scopes", "created_at", "revoked_at"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "key": {"type": "string", "description": "the key itself: shown once, only when it is created"},
    },
}
TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["program", "scope", "token"],
    "properties": {"program": {"type": "string"}, "scope": {"type": "string"}, "token": {"type": "string"}},
}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object"}


def program_view(record: ProgramRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "version": record.version,
        "definition": record.document,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "public_tokens": sorted(record.token_hashes),
    }


def participant_view(p: Participant) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "team": p.team,
        "division": p.division,
        "active": p.active,
        "opt_out": p.opt_out.value,
    }


def key_view(key: ApiKey, token: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": key.id,
        "name": key.name,
        "scopes": sorted(s.value for s in key.scopes),
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }
    if token is not None:
        view["key"] = token
    return view


# --- programs -----------------------------------------------------------------------------------------------


@router.put(
    "/v1/programs/<program>",
    summary="Create or replace a program (JSON or YAML)",
    responses=responses(200, PROGRAM_SCHEMA, 403, 409, 413, 415, 422, description="The stored program and version"),
    tags=["programs"],
)
def put_program(program: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)  # before reading the body: who may not write learns nothing from it
    event = router.current_event
    kind = media_type(dict(event.headers or {}))
    data = raw_body(event.raw_event)
    if kind in ("application/json", ""):
        document = _program_document(data, "JSON")
    elif kind in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"):
        document = _program_document(data, "YAML")
    else:
        raise UnsupportedMediaType(f"send the program as application/json or application/yaml, not {kind}")
    record = programs.put_program(store(), who, program, document, now())
    return json_response(200, program_view(record))


@router.get(
    "/v1/programs",
    summary="List the organisation's programs",
    responses=responses(
        200, {"type": "object", "properties": {"programs": {"type": "array", "items": PROGRAM_SCHEMA}}}, 403
    ),
    tags=["programs"],
)
def list_programs() -> Response[str]:
    who = principal(router)
    return json_response(200, {"programs": [program_view(r) for r in programs.list_programs(store(), who)]})


@router.get(
    "/v1/programs/<program>",
    summary="Read a program",
    responses=responses(200, PROGRAM_SCHEMA, 403),
    tags=["programs"],
)
def get_program(program: str) -> Response[str]:
    who = principal(router)
    return json_response(200, program_view(programs.get_program(store(), who, program)))


@router.post(
    "/v1/programs/<program>/tokens/<scope>",
    summary="Rotate the program's public submit or read token (for forms, the widget and the TV page)",
    responses=responses(200, TOKEN_SCHEMA, 403, 409, 422),
    tags=["programs"],
)
def rotate_token(program: str, scope: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)
    if scope not in (Scope.SUBMIT.value, Scope.READ.value):
        raise InvalidInput([Problem("scope", "public tokens are for submit or read", field="scope")], "token")
    token = programs.rotate_token(store(), who, program, Scope(scope), now())
    return json_response(200, {"program": program, "scope": scope, "token": token})


# --- roster -------------------------------------------------------------------------------------------------


@router.put(
    "/v1/programs/<program>/roster",
    summary="Replace the roster (CSV or JSON); `?dry_run=true` shows what would change",
    description="CSV: `id,name,email,team,division[,active][,opt_out]`. JSON: a list of objects with those fields. "
    "People missing from the upload are deactivated, never deleted.",
    responses=responses(200, ROSTER_CHANGE_SCHEMA, 403, 413, 415, 422),
    tags=["roster"],
)
def put_roster(program: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)
    event = router.current_event
    kind = media_type(dict(event.headers or {}))
    data = raw_body(event.raw_event)
    if kind == "text/csv":
        upload = read_roster_csv(lines_of(data))
    elif kind in ("application/json", ""):
        body = parse_json(data)
        if not isinstance(body, list):
            raise BadRequest("the roster must be a JSON list of participants")
        upload = read_roster_rows(body, first_row=1, noun="field")
    else:
        raise UnsupportedMediaType(f"send the roster as text/csv or application/json, not {kind}")
    dry_run = query_flag((event.query_string_parameters or {}).get("dry_run"))
    change = programs.put_roster(store(), who, program, upload, now(), dry_run=dry_run)
    return json_response(200, change.as_dict())


@router.get(
    "/v1/programs/<program>/roster",
    summary="List the roster",
    responses=responses(
        200, {"type": "object", "properties": {"participants": {"type": "array", "items": PARTICIPANT_SCHEMA}}}, 403
    ),
    tags=["roster"],
)
def get_roster(program: str) -> Response[str]:
    people = programs.roster(store(), principal(router), program)
    return json_response(200, {"participants": [participant_view(p) for p in people]})


@router.put(
    "/v1/programs/<program>/participants/<participant>",
    summary="Create (201) or replace (200) a participant",
    responses={
        **responses(200, PARTICIPANT_SCHEMA, 403, 415, 422, description="Replaced"),
        201: {"description": "Created", "content": {"application/json": {"schema": PARTICIPANT_SCHEMA}}},
    },
    tags=["roster"],
)
def put_participant(program: str, participant: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)
    body = _json_object()
    if not PARTICIPANT_ID.fullmatch(participant):
        raise InvalidInput([Problem("id", "use 1-128 of A-Z a-z 0-9 . _ @ + -", field="id")], "participant")
    roster = read_roster_rows([{**body, "id": participant}], first_row=1, noun="field")
    record = roster.participants[participant]
    created = programs.put_participant(store(), who, program, record, now())
    return json_response(201 if created else 200, participant_view(record))


@router.patch(
    "/v1/programs/<program>/participants/<participant>",
    summary="Change some of a participant's fields (name, email, team, division, active, opt_out)",
    responses=responses(200, PARTICIPANT_SCHEMA, 403, 415, 422),
    tags=["roster"],
)
def patch_participant(program: str, participant: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)
    record = programs.patch_participant(store(), who, program, participant, _json_object(), now())
    return json_response(200, participant_view(record))


@router.delete(
    "/v1/programs/<program>/participants/<participant>",
    summary="Deactivate a participant (their history stays)",
    responses=responses(200, EMPTY_SCHEMA, 403),
    tags=["roster"],
)
def delete_participant(program: str, participant: str) -> Response[str]:
    who = principal(router)
    programs.deactivate_participant(store(), who, program, participant, now())
    return json_response(200, {"id": participant, "active": False})


# --- keys ---------------------------------------------------------------------------------------------------


@router.post(
    "/v1/keys",
    summary="Create an API key; the key is shown once",
    description="Body: `{name, scopes: [admin | submit | read]}`.",
    responses=responses(201, KEY_SCHEMA, 403, 415, 422),
    tags=["keys"],
)
def create_key() -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN)
    body = _json_object()
    scopes = body.get("scopes", [])
    name = body.get("name", "")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InvalidInput([Problem("scopes", "must be a list of admin, submit, read", field="scopes")], "key")
    if not isinstance(name, str) or len(name) > 100:
        raise InvalidInput([Problem("name", "must be text of at most 100 characters", field="name")], "key")
    issued = programs.create_key(store(), who, name, scopes, now())
    return json_response(201, key_view(issued.key, issued.token))


@router.get(
    "/v1/keys",
    summary="List the organisation's API keys (never the keys themselves)",
    responses=responses(200, {"type": "object", "properties": {"keys": {"type": "array", "items": KEY_SCHEMA}}}, 403),
    tags=["keys"],
)
def list_keys() -> Response[str]:
    who = principal(router)
    return json_response(200, {"keys": [key_view(k) for k in programs.list_keys(store(), who)]})


@router.delete(
    "/v1/keys/<key_id>",
    summary="Revoke an API key",
    responses=responses(200, EMPTY_SCHEMA, 403),
    tags=["keys"],
)
def revoke_key(key_id: str) -> Response[str]:
    who = principal(router)
    programs.revoke_key(store(), who, key_id, now())
    return json_response(200, {"id": key_id, "revoked": True})


# --- helpers ------------------------------------------------------------------------------------------------


def _json_object() -> dict[str, Any]:
    event = router.current_event
    if media_type(dict(event.headers or {})) not in ("application/json", ""):
        raise UnsupportedMediaType("send application/json")
    body = parse_json(raw_body(event.raw_event))
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _program_document(data: bytes, language: str) -> Any:
    """A program file read as `podium score` reads one (a repeated key refused, YAML keys taken as written)."""
    try:
        return decode_program_document(text_of(data), yaml_allowed=language == "YAML")
    except InvalidProgram as e:  # only the reading fails here; the rules are checked afterwards
        where = f"{e.problems[0].path}: " if e.problems[0].path else ""
        detail = e.problems[0].message.removeprefix(f"not valid {language}: ")
        message = f"the body is not valid {language}: {where}{detail}"
        raise BadRequest(message, code=f"malformed_{language.lower()}") from None
