"""Routes of the publish function: bulletins on demand, their previews, and unsubscribing from digests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.api.app import now, principal, responses, store
from podium.api.http import json_response, parse_json, raw_body
from podium.api.pages import page_response
from podium.domain.announcements import PARTICIPANTS_BOARD, Announcement, Card, CardLink, Image, board_division
from podium.domain.bulletins import BulletinStatus, Snapshot, period_name
from podium.domain.errors import BadRequest, NotFound, Unauthenticated
from podium.domain.periods import parse_period
from podium.domain.tokens import BadToken
from podium.services.auth import Principal
from podium.services.ports import BulletinRecord, Scope
from podium.services.programs import find_program
from podium.services.publish import Publisher

router = Router()
RESERVE_MS = 8_000  # stop sending this long before the function's timeout, to record where it stopped

BULLETIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "program", "status", "state", "period", "created_at", "news", "summary"],
    "properties": {
        "id": {"type": "string"},
        "program": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "final"]},
        "state": {"type": "string", "enum": ["draft", "sending", "sent", "quiet"]},
        "period": {"type": "string"},
        "period_name": {"type": "string"},
        "created_at": {"type": "string"},
        "finished_at": {"type": ["string", "null"]},
        "trigger": {"type": "string"},
        "previous": {"type": ["string", "null"]},
        "news": {"type": "boolean"},
        "summary": {"type": "object", "description": "digests sent, skipped and failed; each channel's outcome"},
        "links": {"type": "object"},
    },
}


def publisher() -> Publisher:
    """This request's publisher: it stops sending in time to answer within the function's timeout."""
    from podium.adapters.factory import publisher as build

    context = getattr(router, "lambda_context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return build()
    return replace(build(), time_left=lambda: (remaining() - RESERVE_MS) / 1000)


def _as_dict(bulletin: BulletinRecord) -> dict[str, Any]:
    base = f"/v1/programs/{bulletin.program}/bulletins/{bulletin.id}"
    return {
        "id": bulletin.id,
        "program": bulletin.program,
        "status": bulletin.status,
        "state": bulletin.state.value,
        "period": bulletin.period,
        "created_at": bulletin.created_at.isoformat(),
        "finished_at": bulletin.finished_at.isoformat() if bulletin.finished_at else None,
        "trigger": bulletin.trigger,
        "previous": bulletin.previous,
        "news": bulletin.news,
        "summary": bulletin.summary,
        "links": {"self": base, "post": f"{base}/post", "card": f"{base}/card.png", "digests": f"{base}/digests/"},
    }


def _bulletin(who: Principal, program: str, bulletin: str) -> BulletinRecord:
    who.require(Scope.READ, program)
    found = publisher().bulletins.get_bulletin(who.org, program, bulletin)
    if found is None:
        raise NotFound(f"no bulletin {bulletin!r} in program {program!r}")
    return found


@router.post(
    "/v1/programs/<program>/bulletins",
    summary="Make a bulletin now: a draft to preview, or a final one that sends its digests and posts",
    responses=responses(201, BULLETIN_SCHEMA, 400, 403, 404),
    tags=["bulletins"],
)
def make_bulletin(program: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.ADMIN, program)
    event = router.current_event.raw_event
    body = parse_json(raw_body(event)) if event.get("body") else {}  # no body: a draft
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object: {"status": "draft"} or {"status": "final"}')
    unknown = sorted(set(body) - {"status", "period"})
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}: a bulletin takes status and period", field=unknown[0])
    raw_status = body.get("status", "draft")
    if raw_status not in ("draft", "final"):
        raise BadRequest('status must be "draft" or "final"', field="status", code="invalid_status")
    period = body.get("period")
    if period is not None and not isinstance(period, str):
        raise BadRequest("period must be a period key such as 2026-W48", field="period")
    made = publisher().make(who.org, program, BulletinStatus(raw_status), "api", now(), period_key=period)
    status = 202 if made.state.value == "sending" else 201
    return json_response(status, _as_dict(made), {"Location": _as_dict(made)["links"]["self"]})


@router.get(
    "/v1/programs/<program>/bulletins",
    summary="The program's bulletins, newest first",
    responses=responses(200, {"type": "object"}, 403, 404),
    tags=["bulletins"],
)
def list_bulletins(program: str) -> Response[str]:
    who = principal(router)
    who.require(Scope.READ, program)
    find_program(store(), who.org, program)
    found = publisher().bulletins.list_bulletins(who.org, program, limit=50)
    return json_response(200, {"program": program, "bulletins": [_as_dict(b) for b in found]})


@router.get(
    "/v1/programs/<program>/bulletins/<bulletin>",
    summary="One bulletin: what it sent, and to whom it could not",
    responses=responses(200, BULLETIN_SCHEMA, 403, 404),
    tags=["bulletins"],
)
def get_bulletin(program: str, bulletin: str) -> Response[str]:
    who = principal(router)
    return json_response(200, _as_dict(_bulletin(who, program, bulletin)))


@router.get(
    "/v1/programs/<program>/bulletins/<bulletin>/post",
    summary="What the bulletin posts (or would post) to chat and social channels",
    responses=responses(200, {"type": "object"}, 403, 404),
    tags=["bulletins"],
)
def get_post(program: str, bulletin: str) -> Response[str]:
    from podium.adapters.cards import alt_text

    who = principal(router)
    found = _bulletin(who, program, bulletin)
    # What the cards say, not their pictures: none is drawn here (the card route draws each).
    made = _announcement(found, render_card=lambda card: Image(b"", alt_text(card)))
    return json_response(
        200,
        {
            "headline": made.headline,
            "lines": list(made.lines),
            "text": made.text,
            "url": made.url,
            "image_alt": made.image.alt if made.image else "",
            "images": [{"board": i.board, "title": i.title, "alt": i.alt, "url": i.url} for i in made.images],
            "data": made.data,
        },
    )


@router.get(
    "/v1/programs/<program>/bulletins/<bulletin>/card.png",
    summary="One of the bulletin's image cards (1200×675 PNG): the top 10, or a division's board of its teams",
    responses=responses(
        200, {"type": "string", "format": "binary"}, 403, description="A PNG", media_types=("image/png",)
    ),
    tags=["bulletins"],
)
def get_card(program: str, bulletin: str) -> Response[bytes]:
    query = router.current_event.query_string_parameters or {}
    board = query.get("board") or PARTICIPANTS_BOARD
    try:
        board_division(board)
    except ValueError as error:
        raise BadRequest(str(error), field="board") from None
    link = query.get("link")
    found = _bulletin(principal(router), program, bulletin) if link is None else _linked(link, program, bulletin, board)
    made = _announcement(found, boards=[board])
    if made.image is None:
        raise NotFound(f"bulletin {bulletin!r} has no card of the board {board!r}")
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(status_code=200, content_type="image/png", body=made.image.png, headers=headers)


def _linked(token: str, program: str, bulletin: str, board: str) -> BulletinRecord:
    """The bulletin a card's signed link opens. The link is its own credential: Slack and Teams fetch the picture
    a post names with no key. It opens the one card it was made for."""
    p = publisher()
    try:
        card = CardLink.read(p.signing_key(), token, now())
    except BadToken as error:
        raise Unauthenticated(f"that card link does not open it: {error}") from None
    if (card.program, card.bulletin, card.board) != (program, bulletin, board):
        raise Unauthenticated("that card link was made for another card")
    found = p.bulletins.get_bulletin(card.org, program, bulletin)
    if found is None:
        raise NotFound(f"no bulletin {bulletin!r} in program {program!r}")
    return found


@router.get(
    "/v1/programs/<program>/bulletins/<bulletin>/digests/<participant>",
    summary="A participant's digest of the bulletin, as the email shows it (?format=text for the text part)",
    responses=responses(
        200,
        {"type": "string"},
        403,
        description="The HTML part, or the text part",
        media_types=("text/html", "text/plain"),
    ),
    tags=["bulletins"],
)
def get_digest(program: str, bulletin: str, participant: str) -> Response[str]:
    who = principal(router)
    # Admin only: a digest holds the participant's own unsubscribe link, freshly signed.
    who.require(Scope.ADMIN, program)
    found = _bulletin(who, program, bulletin)
    email = _digest(found, participant)
    if (router.current_event.query_string_parameters or {}).get("format") == "text":
        return Response(200, "text/plain; charset=utf-8", email.text, {"X-Content-Type-Options": "nosniff"})
    # The email's own HTML: inline styles and no scripts; links open outside the preview.
    return page_response(email.html, extra_headers={"X-Digest-Subject": _header_safe(email.subject)})


def _announcement(
    bulletin: BulletinRecord, boards: list[str] | None = None, render_card: Callable[[Card], Image] | None = None
) -> Announcement:
    p = publisher() if render_card is None else replace(publisher(), render_card=render_card)
    program = find_program(store(), bulletin.org, bulletin.program).program
    snapshot = Snapshot.from_dict(p.bulletins.snapshot(bulletin.org, bulletin.program, bulletin.id))
    before = p.bulletins.get_bulletin(bulletin.org, bulletin.program, bulletin.previous) if bulletin.previous else None
    previous = Snapshot.from_dict(p.bulletins.snapshot(bulletin.org, bulletin.program, before.id)) if before else None
    return p.announcement(bulletin, program, snapshot, previous, boards=boards)


def _digest(bulletin: BulletinRecord, participant: str) -> Any:
    p = publisher()
    program = find_program(store(), bulletin.org, bulletin.program).program
    snapshot = Snapshot.from_dict(p.bulletins.snapshot(bulletin.org, bulletin.program, bulletin.id))
    line = snapshot.line(participant)
    found = store().get_participants(bulletin.org, bulletin.program, [participant])
    if line is None or not found:
        raise NotFound(f"no participant {participant!r} in bulletin {bulletin.id!r}")
    period = period_name(parse_period(snapshot.period, program.week_start))
    return p.digest_email(bulletin, program, snapshot, line, found[0], period)


def _link_page(body: str, status: int = 200) -> Response[str]:
    """An unsubscribe page: its URL is a credential, so no copy is kept and no referrer carries it."""
    return page_response(body, status=status, extra_headers={"Cache-Control": "no-store"})


def _header_safe(text: str) -> str:
    return text.encode("ascii", "replace").decode()


# --- unsubscribing (no key: the signed link is the credential) ---------------------------------------------------


@router.get("/u/<token>", summary="Confirm stopping a program's digests", include_in_schema=False)
def unsubscribe_page(token: str) -> Response[str]:
    from podium.adapters.pages import render

    p = publisher()
    try:
        org, program_id, _ = p.read_unsubscribe(token, now())
    except BadToken as error:
        return _link_page(render("unsubscribe.html", state="bad", message=str(error)), status=400)
    record = store().get_program(org, program_id)
    name = record.program.name if record else program_id
    # A GET changes nothing: mail scanners open links. The button posts to this same, signed URL.
    return _link_page(render("unsubscribe.html", state="confirm", program=name, action=f"/u/{token}"))


@router.post(
    "/u/<token>", summary="Stop a program's digests (RFC 8058 one-click, or the page's button)", include_in_schema=False
)
def unsubscribe(token: str) -> Response[str]:
    from podium.adapters.pages import render

    p = publisher()
    # The signed URL is the credential: an empty POST unsubscribes too (RFC 8058's body marks a one-click one).
    event = router.current_event.raw_event
    form = parse_qs(raw_body(event).decode("utf-8", "replace")) if event.get("body") else {}
    one_click = form.get("List-Unsubscribe") == ["One-Click"]
    try:
        record, _ = p.unsubscribe(token, now())
    except BadToken as error:
        if one_click:
            return json_response(400, {"error": {"code": "bad_token", "message": str(error)}})
        return _link_page(render("unsubscribe.html", state="bad", message=str(error)), status=400)
    if one_click:
        return Response(200, "text/plain; charset=utf-8", "unsubscribed\n")
    return _link_page(render("unsubscribe.html", state="done", program=record.program.name))
