"""Pages of the boards function: the home page, board pages at every level, a participant's scorecard, the TV
page, the embeddable widget and the score form. They read the same items as the JSON boards, through the same
service calls, and see what their audience may (services.boards.page_viewer, domain.boards.seen_by)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from podium.adapters.factory import bulletins, standings
from podium.api.app import now, store
from podium.api.http import error_body, json_response, status_of
from podium.api.pages import (
    EVERYONE_PAGE,
    JSON_TYPE,
    Links,
    board_ref,
    clock,
    cors_headers,
    json_body,
    not_modified,
    page_response,
    pages_version,
    period_label,
    period_span,
    points_words,
    rollup_words,
    widget_frame_ancestors,
)
from podium.domain.boards import BoardKind, Level, Standing
from podium.domain.errors import NotFound, PodiumError, Unauthenticated
from podium.domain.program import PROGRAM_ID, Program, Ranking, Visibility
from podium.domain.roster import OptOut
from podium.domain.text import number
from podium.services.auth import ORG_ID, Principal, authenticate
from podium.services.boards import (
    BoardView,
    Scorecard,
    board_period,
    page_viewer,
    pulse_etag,
    read_board_view,
    read_scorecard,
    recent_periods,
)
from podium.services.ports import Pulse, Scope
from podium.services.programs import find_program

router = Router()

PERIOD_CHOICES = 8
LEVEL_NAMES = {
    BoardKind.PROGRAM: "Program",
    BoardKind.DIVISION: "Division",
    BoardKind.TEAM: "Team",
    BoardKind.PARTICIPANTS: "Everyone",
}


def render(template: str, **context: Any) -> str:
    from podium.adapters.pages import render as render_template  # Jinja2 on the first page, not at import

    return render_template(template, **context)


def source(name: str) -> str:
    from podium.adapters.pages import source as template_source

    return template_source(name)


# --- request helpers --------------------------------------------------------------------------------------------


def _query(name: str) -> str | None:
    value = (router.current_event.query_string_parameters or {}).get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _header(name: str) -> str | None:
    headers = router.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _viewer(org: str, program: str) -> Principal:
    return page_viewer(store(), org, program, _header("authorization"), _query("t"))


def _origin() -> str:
    """Where this page was asked for (scheme and host), for snippets that other sites paste."""
    host = _header("host") or "localhost"
    proto = _header("x-forwarded-proto") or ("http" if host.startswith(("127.0.0.1", "localhost")) else "https")
    return f"{proto}://{host}"


def _links(org: str, program: str, who: Principal) -> Links:
    # Only a program token travels in links; an API key stays in its header.
    return Links(org, program, _query("t") if who.program is not None else None, _query("period"))


def _page(build: Callable[[], Response[str]], org: str | None = None, program: str | None = None) -> Response[str]:
    """A page, or the error as a page a person can read (with the API's error code).

    With `org` and `program`, a poll whose copy is current is answered 304 from the program's pulse alone (one
    small read, services.boards.pulse_etag), and a page drawn in full carries that same ETag."""
    tag = _pulse_tag(org, program) if org and program else None
    if tag is not None and not_modified(_header("if-none-match"), tag):
        return Response(status_code=304, body="", headers={"ETag": tag, "Cache-Control": "no-cache"})
    try:
        response = build()
    except PodiumError as error:
        body = error_body(error)["error"]
        html = render("error.html", status=status_of(error), error=body)
        return page_response(html, status=status_of(error))
    if tag is not None and response.status_code == 200:
        response.headers["ETag"] = tag
    return response


def _pulse_tag(org: str, program: str) -> str | None:
    """The pulse's ETag for this request, or None; the pulse read is kept for the page (its period picker)."""
    if _header("authorization"):
        return None  # an API key is checked by reading it: no shortcut
    if not (ORG_ID.fullmatch(org) and PROGRAM_ID.fullmatch(program)):
        return None
    pulse = store().get_pulse(org, program)
    router.append_context(pulse=pulse)
    event = router.current_event
    query = sorted((event.query_string_parameters or {}).items())
    hour = now().strftime("%Y-%m-%dT%H")  # the current period and "last week" move with the clock
    request = (event.path, repr(query), _header("origin") or "", hour, pages_version())
    return pulse_etag(pulse, org, program, _query("t"), *request)


def _periods_with_standings() -> frozenset[str] | None:
    """The periods the program has standings in, from the pulse this request read (None when it read none)."""
    pulse = router.context.get("pulse")
    return pulse.periods if isinstance(pulse, Pulse) and pulse.periods else None


# --- home -------------------------------------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
def home() -> Response[str]:
    def build() -> Response[str]:
        public = [r for r in store().all_programs() if r.program.visibility is Visibility.PUBLIC]
        by_org: dict[str, list[Any]] = {}
        for record in sorted(public, key=lambda r: (r.org, r.program.name.lower())):
            by_org.setdefault(record.org, []).append(_program_card(record.program, Links(record.org, record.id)))
        from podium.config import settings

        html = render("home.html", orgs=by_org, outbox=settings().local_outbox)
        return page_response(html, if_none_match=_header("if-none-match"))

    return _page(build)


@router.get("/v1", include_in_schema=False)
def api_root() -> Response[str]:
    return json_response(
        200,
        {
            "name": "Podium API",
            "version": "1",
            "openapi": "/v1/openapi.json",
            "pages": "/",
            "links": {
                "programs": "/v1/programs",
                "program_board": "/v1/programs/{program}/boards/program",
                "division_board": "/v1/programs/{program}/boards/division/{division}",
                "team_board": "/v1/programs/{program}/boards/team/{team}",
                "everyone": "/v1/programs/{program}/boards/participants",
                "scorecard": "/v1/programs/{program}/participants/{participant}/scorecard",
                "submissions": "/v1/programs/{program}/submissions",
                "board_page": "/p/{org}/{program}",
            },
        },
    )


@router.get("/p/<org>", include_in_schema=False)
def org_home(org: str) -> Response[str]:
    def build() -> Response[str]:
        from podium.services.auth import ORG_ID

        records = store().list_programs(org) if ORG_ID.fullmatch(org) else []
        public = [r for r in records if r.program.visibility is Visibility.PUBLIC]
        if not public:
            raise NotFound(f"organisation {org!r} has no public programs")
        cards = [_program_card(r.program, Links(org, r.id)) for r in sorted(public, key=lambda r: r.program.name)]
        return page_response(render("home.html", orgs={org: cards}), if_none_match=_header("if-none-match"))

    return _page(build)


def _program_card(program: Program, links: Links) -> dict[str, Any]:
    return {"name": program.name, "url": links.board(BoardKind.PROGRAM), "tv": links.tv(), "widget": links.widget()}


# --- boards -----------------------------------------------------------------------------------------------------


@router.get("/p/<org>/<program>", include_in_schema=False)
def program_page(org: str, program: str) -> Response[str]:
    return _page(lambda: _board_page(org, program, BoardKind.PROGRAM, None), org, program)


@router.get("/p/<org>/<program>/everyone", include_in_schema=False)
def everyone_page(org: str, program: str) -> Response[str]:
    return _page(lambda: _board_page(org, program, BoardKind.PARTICIPANTS, None), org, program)


@router.get("/p/<org>/<program>/division/<division>", include_in_schema=False)
def division_page(org: str, program: str, division: str) -> Response[str]:
    return _page(lambda: _board_page(org, program, BoardKind.DIVISION, division), org, program)


@router.get("/p/<org>/<program>/team/<team>", include_in_schema=False)
def team_page(org: str, program: str, team: str) -> Response[str]:
    return _page(lambda: _board_page(org, program, BoardKind.TEAM, team), org, program)


def _board_page(org: str, program_id: str, kind: BoardKind, ref: str | None) -> Response[str]:
    who = _viewer(org, program_id)
    links = _links(org, program_id, who)
    view = read_board_view(store(), standings(), bulletins(), who, program_id, kind, ref, links.period, now())
    board, program = view.board, view.program
    rows = _rows(view, links)
    find = _query("find") if kind is BoardKind.PARTICIPANTS else None
    found = False
    pager = None
    if kind is BoardKind.PARTICIPANTS:
        rows, pager, found = _paginate(rows, links, find)
    current = board_period(program, None, now())
    context = {
        **_common(view, links),
        "title": board.name if kind is not BoardKind.PARTICIPANTS else f"Everyone in {program.name}",
        "level_name": LEVEL_NAMES[kind],
        "crumbs": _crumbs(view, links),
        "here": links.board(kind, ref, period=None).split("?")[0],
        "keep": [],
        "periods": _period_choices(program, current, board.period),
        "rows": rows,
        "columns": _columns(view),
        "show_headcount": kind in (BoardKind.PROGRAM, BoardKind.DIVISION),
        "show_adds": view.contributions is not None,
        "row_noun": _row_noun(kind),
        "find": (find or "") if kind is BoardKind.PARTICIPANTS else None,
        "found": found,
        "pager": pager,
        "children": _children(view, links),
        "children_title": "Divisions" if kind is BoardKind.PROGRAM else "Teams",
        "json_url": links.json(board.ref),
        "board_words": _board_words(view),
        "embed": embed_snippets(links, _origin()) if kind is BoardKind.PROGRAM else None,
        "scripts": [source("refresh.js")],
    }
    return page_response(
        render("board.html", **context), scripts=(source("refresh.js"),), if_none_match=_header("if-none-match")
    )


def _period_choices(program: Program, current: Any, shown: Any) -> list[dict[str, Any]]:
    """This period and the previous ones that have standings (all recent ones when the pulse is not at hand)."""
    having = _periods_with_standings()
    choices = [
        p for p in recent_periods(program, current, PERIOD_CHOICES) if having is None or p.key in having or p == current
    ]
    if shown not in choices:
        choices.append(shown)
    return [
        {"key": p.key, "label": period_label(p, current, program.week_start), "selected": p == shown} for p in choices
    ]


def _common(view: BoardView, links: Links) -> dict[str, Any]:
    board, program = view.board, view.program
    current = board_period(program, None, now())
    return {
        "program": program,
        "links": links,
        "home_url": "/",
        "period_name": period_label(board.period, current, program.week_start),
        "period_span": period_span(board.period),
        "updated": clock(max((s.reached_at for s in board.standings if s.reached_at), default=None), program),
        "ranking_words": _ranking_words(program),
        "ties_words": board.ties.description,
        "hidden_metrics": board.hidden_metrics,
        "moved_since": clock(board.moved_since, program),
    }


def _ranking_words(program: Program) -> str:
    if program.ranking is Ranking.POSITION:
        return "the lowest sum of metric ranks wins (a metric's points are the rank on it)"
    return "the highest total of points wins"


def _row_noun(kind: BoardKind) -> str:
    return {
        BoardKind.PROGRAM: "division",
        BoardKind.DIVISION: "team",
        BoardKind.TEAM: "member",
        BoardKind.PARTICIPANTS: "participant",
    }[kind]


def _board_words(view: BoardView) -> str:
    board = view.board
    if board.kind is BoardKind.TEAM:
        if view.contributions is None:
            return "Each member's value and the points their rank on each metric gives."
        return (
            "Points are a member's own; each cell shows their value and the points it adds to the team's score "
            "(all of a summed metric's points, a share of an averaged one's)."
        )
    if board.kind in (BoardKind.DIVISION, BoardKind.PROGRAM):
        return "Each metric rolls up by its own rule (shown under its name): summed, or averaged over the team."
    return "Each cell shows a participant's value and the points it earns."


def _columns(view: BoardView) -> list[dict[str, str]]:
    board = view.board
    shown = {k for s in board.standings[:1] for k in s.metrics}
    group_level = board.kind in (BoardKind.PROGRAM, BoardKind.DIVISION)
    return [
        {"key": m.key, "label": m.label, "unit": m.unit, "rule": rollup_words(m) if group_level else points_words(m)}
        for m in view.program.metrics
        if m.key in shown or (not board.standings and not (m.hidden and board.hidden_metrics))
    ]


def _rows(view: BoardView, links: Links) -> list[dict[str, Any]]:
    board = view.board
    columns = [c["key"] for c in _columns(view)]
    shares = view.contributions
    out = []
    for s in board.standings:
        share_of = shares.get(s.id) if shares is not None and not s.anonymous else None
        out.append(
            {
                "rank": s.rank,
                "id": None if s.anonymous else s.id,
                "name": "Anonymous" if s.anonymous else s.name,
                "url": None if s.anonymous else _row_url(s, links),
                "headcount": s.headcount,
                "points": number(s.points),
                "movement": s.movement,
                "new": board.moved_since is not None and s.movement is None,
                "adds": None if share_of is None else number(math.fsum(share_of.values()), 2),
                "cells": [
                    {
                        "value": number(s.metrics[k].value),
                        "points": number(s.metrics[k].points),
                        "share": None if share_of is None else number(share_of.get(k, 0.0), 2),
                    }
                    for k in columns
                ],
                "mine": False,
            }
        )
    return out


def _row_url(s: Standing, links: Links) -> str:
    if s.level is Level.DIVISION:
        return links.board(BoardKind.DIVISION, s.id)
    if s.level is Level.TEAM:
        return links.board(BoardKind.TEAM, s.id)
    return links.participant(s.id)


def _paginate(
    rows: list[dict[str, Any]], links: Links, find: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, bool]:
    pages = max(1, math.ceil(len(rows) / EVERYONE_PAGE))
    try:
        number_ = min(max(1, int(_query("page") or 1)), pages)
    except ValueError:
        number_ = 1
    found = False
    if find:
        needle = find.casefold()
        match = next(
            (i for i, r in enumerate(rows) if needle in r["name"].casefold() or needle == (r["id"] or "").casefold()),
            None,
        )
        if match is not None:
            found = True
            rows[match]["mine"] = True
            number_ = match // EVERYONE_PAGE + 1
    start = (number_ - 1) * EVERYONE_PAGE
    pager = None
    if pages > 1:
        pager = {
            "number": number_,
            "pages": pages,
            "size": EVERYONE_PAGE,
            "previous": links.board(BoardKind.PARTICIPANTS, page=number_ - 1) if number_ > 1 else None,
            "next": links.board(BoardKind.PARTICIPANTS, page=number_ + 1) if number_ < pages else None,
        }
    return rows[start : start + EVERYONE_PAGE], pager, found


def _crumbs(view: BoardView, links: Links) -> list[dict[str, str]]:
    board, roster = view.board, view.roster
    crumbs = []
    if board.kind is not BoardKind.PROGRAM:
        crumbs.append({"name": view.program.name, "url": links.board(BoardKind.PROGRAM)})
    if board.kind is BoardKind.TEAM and board.id is not None:
        team = roster.teams.get(board.id)
        if team is not None and team.parent and team.parent in roster.divisions:
            crumbs.append(
                {"name": roster.divisions[team.parent].name, "url": links.board(BoardKind.DIVISION, team.parent)}
            )
    return crumbs


def _children(view: BoardView, links: Links) -> list[dict[str, str]]:
    board, roster = view.board, view.roster
    if board.kind is BoardKind.PROGRAM:
        return [
            {"name": d.name, "url": links.board(BoardKind.DIVISION, d.id)}
            for d in sorted(roster.divisions.values(), key=lambda d: d.name)
        ]
    return []


# --- scorecard --------------------------------------------------------------------------------------------------


@router.get("/p/<org>/<program>/participant/<participant>", include_in_schema=False)
def scorecard_page(org: str, program: str, participant: str) -> Response[str]:
    def build() -> Response[str]:
        who = _viewer(org, program)
        links = _links(org, program, who)
        card = read_scorecard(store(), standings(), bulletins(), who, program, participant, links.period, now())
        html = render("scorecard.html", **_scorecard_context(card, links))
        return page_response(html, if_none_match=_header("if-none-match"))

    return _page(build, org, program)


def _scorecard_context(card: Scorecard, links: Links) -> dict[str, Any]:
    view = card.view
    program, roster = view.program, view.roster
    me = roster.participants[card.standing.id]
    metrics = []
    for m in program.metrics:
        score = card.standing.metrics.get(m.key)
        if score is None:
            continue
        target = m.points.target_for(me.id)
        goal, goal_words = (target, f"target {number(target)}") if target else (None, "")
        if goal is None and m.points.cap is not None and m.points.per_unit:
            goal, goal_words = (
                m.points.cap / m.points.per_unit,
                f"{number(m.points.cap / m.points.per_unit)}, where points stop",
            )
        fill = None
        if goal and score.value is not None and m.order.value == "desc":
            fill = max(0.0, min(1.0, score.value / goal))
        metrics.append(
            {
                "label": m.label,
                "unit": m.unit,
                "value": number(score.value),
                "points": number(score.points),
                "goal": goal_words,
                "percent": None if fill is None else round(fill * 100),
            }
        )
    neighbours = [
        {
            "rank": s.rank,
            "name": "Anonymous" if s.anonymous else s.name,
            "url": None if s.anonymous or s.id == me.id else links.participant(s.id),
            "points": number(s.points),
            "me": s.id == me.id and not s.anonymous,
        }
        for s in card.neighbours
    ]
    team = None
    if card.team is not None and me.team_id:
        division = roster.divisions.get(me.division_id or "")
        team = {
            "name": card.team.name,
            "url": links.board(BoardKind.TEAM, me.team_id),
            "rank_in_team": card.team_rank,
            "size": card.team_size,
            "rank": card.team.rank,
            "of": card.division_teams,
            "division": division.name if division else None,
            "division_url": links.board(BoardKind.DIVISION, division.id) if division else None,
        }
    current = board_period(program, None, now())
    return {
        **_common(view, links),
        "me": me,
        "standing": card.standing,
        "points": number(card.standing.points),
        "of": len(view.board.standings),
        "metrics": metrics,
        "neighbours": neighbours,
        "team": team,
        "chart": _chart(card, current, program),
        "badges": [{"kind": b.kind.value, "text": b.text} for b in card.badges],
        "badges_at": clock(card.badges_at, program),
    }


def _chart(card: Scorecard, current: Any, program: Program) -> dict[str, Any]:
    """Bars of the last periods' points, as plain numbers for an inline SVG."""
    points = [p for _, p in card.history]
    top = max((p for p in points if p is not None), default=0.0) or 1.0
    width, height, gap = 480, 160, 10
    tallest = height - 40  # under the bars, their period; above the tallest, room for its 12 px value
    slot = width / max(1, len(points))
    bars = []
    for i, (period, value) in enumerate(card.history):
        h = 0.0 if value is None else max(2.0, (value / top) * tallest) if value > 0 else 2.0
        bars.append(
            {
                "x": round(i * slot + gap / 2, 1),
                "y": round(height - 20 - h, 1),
                "w": round(slot - gap, 1),
                "h": round(h, 1),
                "label": period_label(period, current, program.week_start),
                "value": "no score" if value is None else number(value),
                "current": period == card.view.board.period,
            }
        )
    return {"width": width, "height": height, "bars": bars}


# --- JSON for pages, the TV and the widget -----------------------------------------------------------------------


@router.get("/p/<org>/<program>/board.json", include_in_schema=False)
def board_json(org: str, program: str) -> Response[str]:
    # A cross-origin reader's 304 would need the CORS headers that only the program knows: it reads in full.
    tag = None if _header("origin") else _pulse_tag(org, program)
    if tag is not None and not_modified(_header("if-none-match"), tag):
        return Response(status_code=304, body="", headers={"ETag": tag, "Cache-Control": "no-cache"})
    try:
        who = _viewer(org, program)
        kind, ref = board_ref(_query("board"))
        view = read_board_view(store(), standings(), bulletins(), who, program, kind, ref, _query("period"), now())
    except PodiumError as error:
        return json_response(status_of(error), error_body(error))
    period_name = _common(view, Links(org, program))["period_name"]
    data = {**view.board.as_dict(), "labels": _labels(view), "period_name": period_name}
    return page_response(
        json_body(data),
        content_type=JSON_TYPE,
        if_none_match=_header("if-none-match"),
        extra_headers=cors_headers(view.program, _header("origin")),
        etag=tag,
    )


def _labels(view: BoardView) -> dict[str, dict[str, str]]:
    return {
        m.key: {"label": m.label, "unit": m.unit, "rule": rollup_words(m)}
        for m in view.program.metrics
        if not (m.hidden and view.board.hidden_metrics)
    }


# --- TV ----------------------------------------------------------------------------------------------------------

TV_METRICS = 3  # metric columns beside the points on a wall screen, unless the URL names them
TV_ROWS_PER_PAGE = 16  # the most rows a 1080p screen shows with 28 px text; longer boards page in the rotation


def tv_layout(count: int) -> tuple[int, float, float]:
    """Rows per page, row height and font size in 1/1080ths of the screen's height (tv.js has the same sums)."""
    per_page = max(1, min(count, TV_ROWS_PER_PAGE))
    row_height = min(100.0, 740 / per_page - 8)
    font = max(30.0, min(52.0, row_height * 0.5))
    return per_page, row_height, font


@router.get("/p/<org>/<program>/tv", include_in_schema=False)
def tv_page(org: str, program: str) -> Response[str]:
    def build() -> Response[str]:
        who = _viewer(org, program)
        links = _links(org, program, who)
        refs = [r.strip() for r in (_query("boards") or "").split(",") if r.strip()]
        first_ref = refs[0] if refs else "program"
        kind, ref = board_ref(first_ref)
        view = read_board_view(store(), standings(), bulletins(), who, program, kind, ref, None, now())
        if not refs:  # the program board, then each division's
            refs = ["program", *(f"division:{d}" for d in sorted(view.roster.divisions))]
        for r in refs:
            board_ref(r)  # every board named must exist as a kind; a missing id shows as an empty board
        shown = [k for k in (_query("metrics") or "").split(",") if k]
        visible = [c["key"] for c in _columns(view)]
        metrics = [k for k in shown if k in visible] if shown else visible[:TV_METRICS]
        labels = {m.key: m.label for m in view.program.metrics}
        board = view.board
        per_page, row_height, font = tv_layout(len(board.standings))
        rows = [
            {
                "key": f"anon-{i}" if s.anonymous else s.id,
                "rank": s.rank,
                "name": "Anonymous" if s.anonymous else s.name,
                "cells": [number(s.metrics[k].value) for k in metrics],
                "points": number(s.points),
            }
            for i, s in enumerate(board.standings[:per_page])
        ]
        seconds = _query("seconds") or "20"
        context = {
            **_common(view, links),
            "first": board,
            "rows": rows,
            "noun": {BoardKind.PROGRAM: "Division", BoardKind.DIVISION: "Team"}.get(kind, "Name"),
            "columns": [{"label": labels[k]} for k in metrics],
            "grid": "1.2fr 6fr" + " 2.2fr" * len(metrics) + " 2.4fr",
            "row_height": f"calc({row_height:.1f} * var(--u))",
            "row_font": f"calc({font:.1f} * var(--u))",
            "gap": "calc(8 * var(--u))",
            "boards": refs,
            "boards_json": json_body([{"ref": r, "url": links.json(r)} for r in refs]),
            "metrics_json": json_body(metrics),
            "seconds": seconds if seconds.isdigit() else "20",
            "theme": "light" if _query("theme") == "light" else "dark",
            "scripts": [source("tv.js")],
        }
        html = render("tv.html", **context)
        return page_response(html, scripts=(source("tv.js"),), if_none_match=_header("if-none-match"))

    return _page(build, org, program)


# --- widget ------------------------------------------------------------------------------------------------------

WIDGET_ROWS = 10


@router.get("/p/<org>/<program>/widget", include_in_schema=False)
def widget_page(org: str, program: str) -> Response[str]:
    def build() -> Response[str]:
        who = _viewer(org, program)
        links = _links(org, program, who)
        board_name = _query("board") or "program"
        kind, ref = board_ref(board_name)
        view = read_board_view(store(), standings(), bulletins(), who, program, kind, ref, None, now())
        rows_param = _query("rows") or ""
        limit = min(int(rows_param), 50) if rows_param.isdigit() and int(rows_param) > 0 else WIDGET_ROWS
        accent = _query("accent") or ""
        accent = f"#{accent}" if re.fullmatch(r"[0-9a-fA-F]{6}", accent) else "#0b5cad"
        board = view.board
        rows = [
            {
                "rank": s.rank,
                "name": "Anonymous" if s.anonymous else s.name,
                "points": number(s.points),
                "key": f"anon-{i}" if s.anonymous else s.id,
            }
            for i, s in enumerate(board.standings[:limit])
        ]
        context = {
            **_common(view, links),
            "board": board,
            "rows": rows,
            "more": max(0, len(board.standings) - limit),
            "accent": accent,
            "theme": "dark" if _query("theme") == "dark" else "light",
            "board_url": links.board(kind, ref),
            "json_url": links.json(board.ref),
            "limit": limit,
            "scripts": [source("widget.js")],
        }
        html = render("widget.html", **context)
        return page_response(
            html,
            scripts=(source("widget.js"),),
            frame_ancestors=widget_frame_ancestors(view.program),
            if_none_match=_header("if-none-match"),
        )

    return _page(build, org, program)


@router.get("/p/<org>/<program>/widget.js", include_in_schema=False)
def widget_script(org: str, program: str) -> Response[str]:
    """The one-line embed: `<script src=".../widget.js" data-board="division:ID" async></script>` puts the widget's
    iframe where the script tag is and keeps it as tall as its content."""
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=source("embed.js"),
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def embed_snippets(links: Links, origin: str, board: str = "program") -> dict[str, str]:
    """What the program page offers to copy: an iframe, and the script that inserts and sizes one."""
    token = f' data-t="{links.token}"' if links.token else ""
    return {
        "iframe": f'<iframe src="{origin}{links.widget(board)}" title="Leaderboard" width="360" height="480" '
        'style="border:0"></iframe>',
        "script": f'<script src="{origin}{links.widget_script()}" data-board="{board}"{token} async></script>',
    }


# --- score form --------------------------------------------------------------------------------------------------


@router.get("/p/<org>/<program>/form", include_in_schema=False)
def form_page(org: str, program: str) -> Response[str]:
    def build() -> Response[str]:
        token = _query("t")
        if not token:
            raise Unauthenticated("a score form is opened with its link, which carries the program's submit token")
        who = authenticate(store(), token)
        if who.org != org or who.program != program or Scope.SUBMIT not in who.scopes:
            raise NotFound(f"no score form for program {program!r} with that link")
        record = find_program(store(), org, program)
        people = sorted(
            (p for p in store().list_participants(org, program) if p.active),
            key=lambda p: (p.name.casefold(), p.id),
        )
        choices = [
            {"id": p.id, "label": p.id if p.opt_out is not OptOut.NONE else f"{p.name} ({p.id})"} for p in people
        ]
        fields = [
            {
                "key": m.key,
                "label": m.label,
                "unit": m.unit,
                "min": "" if m.minimum is None else _plain(m.minimum),
                "max": "" if m.maximum is None else _plain(m.maximum),
                "step": "any" if m.decimals else "1",
                "hint": _bounds_words(m.minimum, m.maximum, m.decimals),
            }
            for m in record.program.metrics
        ]
        links = Links(org, program)
        context: dict[str, Any] = {
            "program": record.program,
            "links": links,
            "home_url": "/",
            "participants": choices,
            "fields": fields,
            "token": token,
            "action": f"/v1/programs/{program}/submissions",
            "board_url": links.board(BoardKind.PROGRAM),
        }
        return page_response(render("form.html", **context))

    return _page(build)


def _plain(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def _bounds_words(low: float | None, high: float | None, decimals: bool) -> str:
    parts = []
    if low is not None and high is not None:
        parts.append(f"{number(low)} to {number(high)}")
    elif low is not None:
        parts.append(f"at least {number(low)}")
    elif high is not None:
        parts.append(f"at most {number(high)}")
    if not decimals:
        parts.append("whole numbers")
    return ", ".join(parts)
