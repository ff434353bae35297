"""GET /v1/openapi.json: the document Powertools generates from every function's routes, plus request bodies.

Bodies are read raw (JSON, YAML, CSV or a form, with our own row-by-row checks), so Powertools cannot see them
in the route signatures; they are described here, next to nothing else.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.api.app import TITLE, VERSION, build_app

router = Router()

_SUBMISSION = {
    "type": "object",
    "required": ["participant", "values"],
    "properties": {
        "id": {"type": "string", "maxLength": 128, "description": "idempotency key; a retry with it writes nothing"},
        "participant": {"type": "string"},
        "at": {"type": "string", "format": "date-time", "description": "default: now"},
        "values": {"type": "object", "additionalProperties": {"type": "number"}},
        "voids": {"type": "string", "description": "the id of an earlier submission this one cancels"},
    },
}
_PARTICIPANT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "team": {"type": ["string", "null"]},
        "division": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
    },
}
_CSV = {"schema": {"type": "string"}}

REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/programs/{program}/submissions", "post"): {
        "application/json": {
            "schema": {"oneOf": [_SUBMISSION, {"type": "array", "items": _SUBMISSION, "maxItems": 1000}]}
        },
        "text/csv": _CSV,
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}},
    },
    ("/v1/programs/{program}/submissions/{submission}/void", "post"): {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["participant"],
                "properties": {"participant": {"type": "string"}, "reason": {"type": "string", "maxLength": 500}},
            }
        }
    },
    ("/v1/programs/{program}", "put"): {
        "application/json": {"schema": {"type": "object", "description": "a program file (see README)"}},
        "application/yaml": {"schema": {"type": "object", "description": "the same program file, as YAML"}},
    },
    ("/v1/programs/{program}/roster", "put"): {
        "text/csv": _CSV,
        "application/json": {"schema": {"type": "array", "items": {**_PARTICIPANT, "required": ["id", "name"]}}},
    },
    ("/v1/programs/{program}/participants/{participant}", "put"): {
        "application/json": {"schema": {**_PARTICIPANT, "required": ["name"]}}
    },
    ("/v1/programs/{program}/participants/{participant}", "patch"): {"application/json": {"schema": _PARTICIPANT}},
    ("/v1/programs/{program}/bulletins", "post"): {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "status": {"type": "string", "enum": ["draft", "final"], "default": "draft"},
                    "period": {
                        "type": "string",
                        "description": "a period of the program's kind (default: the one to report)",
                    },
                },
            }
        }
    },
    ("/v1/keys", "post"): {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["scopes"],
                "properties": {
                    "name": {"type": "string", "maxLength": 100},
                    "scopes": {"type": "array", "items": {"type": "string", "enum": ["admin", "submit", "read"]}},
                },
            }
        }
    },
}

OPTIONAL_BODIES = {("/v1/programs/{program}/bulletins", "post")}  # no body: a draft of the period to report

_PERIOD = {
    "name": "period",
    "in": "query",
    "required": False,
    "description": "a period of the program's kind, e.g. 2026-W48 (default: the current one)",
    "schema": {"type": "string"},
}
_BOARDS = [
    "/v1/programs/{program}/boards/program",
    "/v1/programs/{program}/boards/participants",
    "/v1/programs/{program}/boards/division/{division}",
    "/v1/programs/{program}/boards/team/{team}",
    "/v1/programs/{program}/participants/{participant}/scorecard",
]
PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    **{(path, "get"): [_PERIOD] for path in _BOARDS},
    ("/v1/programs/{program}/roster", "put"): [
        {
            "name": "dry_run",
            "in": "query",
            "required": False,
            "description": "true: answer what would change, write nothing",
            "schema": {"type": "boolean"},
        }
    ],
    ("/v1/programs/{program}/submissions", "post"): [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "makes a retried request write nothing (ids of rows without one derive from it)",
            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        }
    ],
    ("/v1/programs/{program}/bulletins/{bulletin}/card.png", "get"): [
        {
            "name": "board",
            "in": "query",
            "required": False,
            "description": "whose card: participants (the top 10, the default) or division/{division} (its teams)",
            "schema": {"type": "string", "pattern": "^(participants|division/.+)$", "default": "participants"},
        },
        {
            "name": "link",
            "in": "query",
            "required": False,
            "description": "a card's signed link, as a post names it (Slack and Teams fetch it): no key is needed",
            "schema": {"type": "string"},
        },
    ],
    ("/v1/programs/{program}/tokens/{scope}", "post"): [
        {"name": "scope", "in": "path", "required": True, "schema": {"type": "string", "enum": ["submit", "read"]}}
    ],
}


@cache
def document() -> str:
    from podium.api import admin_routes, board_routes, bulletin_routes, ingest_routes

    app = build_app(admin_routes.router, ingest_routes.router, board_routes.router, bulletin_routes.router, router)
    schema = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "an API key (pdk_…) or program token (pdt_…)"}
    }
    schema["security"] = [{"bearer": []}]
    for (path, method), content in REQUEST_BODIES.items():
        operation = schema["paths"][path][method]
        operation["requestBody"] = {"required": (path, method) not in OPTIONAL_BODIES, "content": content}
    for (path, method), parameters in PARAMETERS.items():
        operation = schema["paths"][path][method]
        named = {p["name"]: p for p in operation.get("parameters", [])}
        named.update({p["name"]: p for p in parameters})
        operation["parameters"] = list(named.values())
    # A form post answers with a page (or a redirect), not JSON.
    form = schema["paths"]["/v1/programs/{program}/submissions"]["post"]["responses"]
    for status in ("200", "422"):
        form[status]["content"]["text/html"] = {"schema": {"type": "string"}}
    form["303"] = {
        "description": "A form was accepted: on to the program's allowed `return_to`",
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
    return json.dumps(schema)


@router.get("/v1/openapi.json", summary="This OpenAPI document", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=document())
