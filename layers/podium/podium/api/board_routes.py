"""Routes of the boards function: ranked standings at every level, read-only."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.adapters.factory import bulletins, standings
from podium.api.app import now, principal, responses, store
from podium.api.http import json_response
from podium.domain.boards import BoardKind
from podium.services.boards import read_board, read_scorecard

router = Router()

_SCORE = {
    "type": "object",
    "required": ["value", "points"],
    "properties": {"value": {"type": ["number", "null"]}, "points": {"type": "number"}},
}
STANDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["rank", "id", "name", "points", "metrics", "movement"],
    "properties": {
        "rank": {"type": "integer"},
        "id": {"type": ["string", "null"], "description": "null for a participant shown as Anonymous"},
        "name": {"type": "string"},
        "points": {"type": "number"},
        "metrics": {"type": "object", "additionalProperties": _SCORE},
        "movement": {"type": ["integer", "null"]},
        "headcount": {"type": "integer"},
    },
}
_SINCE = {
    "type": ["string", "null"],
    "format": "date-time",
    "description": "when the latest final bulletin was made: each standing's movement is since then (null: none)",
}
_BADGE = {
    "type": "object",
    "required": ["kind", "text"],
    "properties": {"kind": {"type": "string"}, "text": {"type": "string"}},
}
BOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["program", "board", "name", "period", "ranking", "ties", "ties_rule", "standings"],
    "properties": {
        "program": {"type": "string"},
        "board": {"type": "string"},
        "name": {"type": "string"},
        "period": {"type": "string"},
        "period_start": {"type": ["string", "null"]},
        "period_end": {"type": ["string", "null"]},
        "timezone": {"type": "string"},
        "ranking": {"type": "string", "enum": ["points", "position"]},
        "ties": {"type": "string", "enum": ["competition", "dense", "first_to_reach"]},
        "ties_rule": {"type": "string"},
        "standings": {"type": "array", "items": STANDING_SCHEMA},
        "hidden_metrics": {"type": "integer", "description": "metrics kept off this board for its audience"},
        "movement_since": _SINCE,
    },
}
SCORECARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["program", "period", "participant", "team", "division", "standing"],
    "properties": {
        "program": {"type": "string"},
        "period": {"type": "string"},
        "participant": {"type": "string"},
        "team": {"type": ["object", "null"]},
        "division": {"type": ["object", "null"]},
        "standing": STANDING_SCHEMA,
        "of": {"type": "integer"},
        "neighbours": {"type": "array", "items": STANDING_SCHEMA},
        "history": {"type": "array", "items": {"type": "object"}},
        "hidden_metrics": {"type": "integer"},
        "movement_since": _SINCE,
        "badges": {"type": "array", "items": _BADGE, "description": "earned at the latest final bulletin"},
        "badges_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_DOC: dict[str, Any] = {"responses": responses(200, BOARD_SCHEMA, 403), "tags": ["boards"]}


def _board(program: str, kind: BoardKind, ref: str | None) -> Response[str]:
    who = principal(router)
    period = (router.current_event.query_string_parameters or {}).get("period")
    board = read_board(store(), standings(), bulletins(), who, program, kind, ref, period, now())
    return json_response(200, board.as_dict())


@router.get("/v1/programs/<program>/boards/program", summary="The program board: its divisions", **_DOC)
def program_board(program: str) -> Response[str]:
    return _board(program, BoardKind.PROGRAM, None)


@router.get("/v1/programs/<program>/boards/participants", summary="Everyone in the program", **_DOC)
def participants_board(program: str) -> Response[str]:
    return _board(program, BoardKind.PARTICIPANTS, None)


@router.get("/v1/programs/<program>/boards/division/<division>", summary="A division board: its teams", **_DOC)
def division_board(program: str, division: str) -> Response[str]:
    return _board(program, BoardKind.DIVISION, division)


@router.get("/v1/programs/<program>/boards/team/<team>", summary="A team board: what each member contributed", **_DOC)
def team_board(program: str, team: str) -> Response[str]:
    return _board(program, BoardKind.TEAM, team)


@router.get(
    "/v1/programs/<program>/participants/<participant>/scorecard",
    summary="One participant's standing, with their team's and division's",
    responses=responses(200, SCORECARD_SCHEMA, 403),
    tags=["boards"],
)
def scorecard(program: str, participant: str) -> Response[str]:
    who = principal(router)
    period = (router.current_event.query_string_parameters or {}).get("period")
    card = read_scorecard(store(), standings(), bulletins(), who, program, participant, period, now())
    return json_response(200, card.as_dict())
