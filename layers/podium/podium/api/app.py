"""Builds the Powertools HTTP API resolver for a function from its routers, with one error mapping for all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from podium.api.http import error_body, error_response, error_schema, json_response
from podium.domain.errors import PodiumError
from podium.observability import logger
from podium.services.auth import Principal, authenticate
from podium.services.ports import Store

TITLE = "Podium API"
VERSION = "1"


def store() -> Store:
    """The table adapter, built on first use from the environment (not at import)."""
    from podium.adapters.factory import store as build

    return build()


def now() -> datetime:
    return datetime.now(UTC)


def principal(router: Router | APIGatewayHttpResolver, token: str | None = None) -> Principal:
    """Who is calling, from `Authorization: Bearer …` (or a token form field, for HTML forms)."""
    headers = router.current_event.headers or {}
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    return authenticate(store(), authorization or token)


def build_app(*routers: Router) -> APIGatewayHttpResolver:
    # Bodies are read and checked by our own code (row by row); Powertools' validation would only add pydantic
    # to every cold start. The OpenAPI document is still generated from the routes.
    app = APIGatewayHttpResolver(enable_validation=False)
    for r in routers:
        app.include_router(r)

    @app.exception_handler(PodiumError)
    def domain_error(error: PodiumError) -> Response[str]:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def request_error(error: RequestValidationError) -> Response[str]:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request", "reason": e.get("msg", "invalid")}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": "request", "reason": "invalid"}
        body = {
            "error": {
                "code": "invalid_request",
                "message": f"{first['field']}: {first['reason']}",
                "field": first["field"],
                "problems": problems,
            }
        }
        return json_response(422, body)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        from podium.domain.errors import NotFound

        event = app.current_event
        return json_response(404, error_body(NotFound(f"no route {event.http_method} {event.path}")))

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return json_response(500, {"error": {"code": "internal", "message": "something went wrong on our side"}})

    return app


def responses(
    ok: int,
    ok_schema: dict[str, Any],
    *errors: int,
    description: str = "OK",
    media_types: tuple[str, ...] = ("application/json",),
) -> dict[int, Any]:
    """The OpenAPI `responses` of a route: its success schema (in each of its media types) and the error shape
    for each error status."""
    content = {media: {"schema": ok_schema} for media in media_types}
    doc: dict[int, Any] = {ok: {"description": description, "content": content}}
    for status in sorted({400, 401, 404, *errors}):
        doc[status] = {
            "description": _REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": error_schema()}},
        }
    return doc


_REASONS = {
    400: "The request cannot be read",
    401: "No valid key or token",
    403: "The key lacks the scope",
    404: "No such program, participant or key (or it belongs to another organisation)",
    409: "A conflicting change",
    413: "The body is too large",
    415: "Unsupported content type",
    422: "The input has problems; each is listed with its row and field",
}


Handler = Callable[..., Any]
