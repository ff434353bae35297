"""What the pages show around a board: links that keep the viewer's token and period, words for periods and
rules, numbers as people read them, and the HTTP around an HTML page (security headers, ETag, 304)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler import Response

from podium.domain.boards import BoardKind
from podium.domain.periods import Period, period_of_day
from podium.domain.program import MeanOver, Metric, PeriodKind, Program, TeamRollup, Weekday
from podium.domain.text import number

HTML = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
EVERYONE_PAGE = 50  # rows per page of the everyone board


@dataclass(frozen=True)
class Links:
    """URLs of one program's pages for one viewer: an unlisted program's read token and a chosen period travel
    with every link, so moving around never loses them."""

    org: str
    program: str
    token: str | None = None
    period: str | None = None

    @property
    def root(self) -> str:
        return f"/p/{quote(self.org, safe='')}/{quote(self.program, safe='')}"

    def _query(self, *, period: bool = True, **extra: Any) -> str:
        params: dict[str, str | int] = {}
        if self.token:
            params["t"] = self.token
        if period and self.period:
            params["period"] = self.period
        params.update({k: v for k, v in extra.items() if v is not None and v != ""})
        return f"?{urlencode(params)}" if params else ""

    def board(self, kind: BoardKind | str, ref: str | None = None, **extra: Any) -> str:
        kind = BoardKind(kind)
        if kind is BoardKind.PROGRAM:
            path = self.root
        elif kind is BoardKind.PARTICIPANTS:
            path = f"{self.root}/everyone"
        else:
            path = f"{self.root}/{kind.value}/{quote(ref or '', safe='')}"
        return path + self._query(**extra)

    def at_period(self, period: str | None) -> Links:
        return Links(self.org, self.program, self.token, period)

    def participant(self, participant: str) -> str:
        return f"{self.root}/participant/{quote(participant, safe='')}" + self._query()

    def tv(self, boards: str | None = None) -> str:
        return f"{self.root}/tv" + self._query(period=False, boards=boards)

    def widget(self, board: str | None = None, **extra: str | None) -> str:
        return f"{self.root}/widget" + self._query(period=False, board=board, **extra)

    def widget_script(self) -> str:
        return f"{self.root}/widget.js"

    def json(self, board: str) -> str:
        return f"{self.root}/board.json" + self._query(board=board)

    def form(self, submit_token: str | None = None) -> str:
        query = f"?{urlencode({'t': submit_token})}" if submit_token else ""
        return f"{self.root}/form{query}"


def board_ref(text: str | None) -> tuple[BoardKind, str | None]:
    """A board named in a URL: `program`, `everyone` (or `participants`), `division:ID`, `team:ID`."""
    from podium.domain.errors import UnknownBoard

    text = (text or "program").strip()
    kind, _, ref = text.partition(":")
    kind = "participants" if kind == "everyone" else kind
    try:
        board_kind = BoardKind(kind)
    except ValueError:
        raise UnknownBoard(f"no board {text!r}: use program, everyone, division:ID or team:ID") from None
    needs_ref = board_kind in (BoardKind.DIVISION, BoardKind.TEAM)
    if needs_ref != bool(ref):
        raise UnknownBoard(f"no board {text!r}: use program, everyone, division:ID or team:ID")
    return board_kind, ref or None


# --- words ----------------------------------------------------------------------------------------------------


def period_label(period: Period, current: Period, week_start: Weekday = Weekday.MONDAY) -> str:
    """A period as people say it: "this week", "last week", "w/c 16 Nov", "October 2026", "Q3 2026"."""
    if period.kind is PeriodKind.ALL or period.first_day is None:
        return "all time"
    first = period.first_day
    this = period == current
    previous = current.first_day is not None and period == period_of_day(
        current.first_day - timedelta(days=1), period.kind, week_start
    )
    names = {
        PeriodKind.DAY: ("today", "yesterday"),
        PeriodKind.WEEK: ("this week", "last week"),
        PeriodKind.MONTH: ("this month", "last month"),
        PeriodKind.QUARTER: ("this quarter", "last quarter"),
        PeriodKind.YEAR: ("this year", "last year"),
    }
    if this:
        return names[period.kind][0]
    if previous and period.kind is not PeriodKind.WEEK:
        return names[period.kind][1]
    if period.kind is PeriodKind.DAY:
        return _day(first, weekday=True)
    if period.kind is PeriodKind.WEEK:
        return "last week" if previous else f"w/c {_day(first)}"
    if period.kind is PeriodKind.MONTH:
        return first.strftime("%B %Y")
    if period.kind is PeriodKind.QUARTER:
        return f"Q{(first.month - 1) // 3 + 1} {first.year}"
    return str(first.year)


def period_span(period: Period) -> str:
    """The dates a period covers: "Mon 16 Nov – Sun 22 Nov 2026"."""
    if period.first_day is None or period.end_day is None:
        return "every score ever sent"
    last = period.end_day - timedelta(days=1)
    if last == period.first_day:
        return f"{_day(last, weekday=True)} {last.year}"
    return f"{_day(period.first_day, weekday=True)} – {_day(last, weekday=True)} {last.year}"


def _day(day: date, *, weekday: bool = False) -> str:
    text = f"{day.day} {day.strftime('%b')}"
    return f"{day.strftime('%a')} {text}" if weekday else text


def rollup_words(metric: Metric) -> str:
    """How a metric rolls up into a team's score, in words for a column header."""
    if metric.team_rollup is TeamRollup.SUM:
        return "sum"
    return "average per member" if metric.mean_over is MeanOver.HEADCOUNT else "average per contributor"


def points_words(metric: Metric) -> str:
    """How a metric earns points: "1 pt per unit, up to 150", "100 pts at target 50,000"."""
    rule = metric.points
    if metric.method.value == "relative":
        return "points from rank (best = 100)"
    if rule.target is not None:
        text = f"{number(rule.target_points)} pts at target {number(rule.target)}"
    else:
        text = f"{number(rule.per_unit)} pt{'s' if rule.per_unit != 1 else ''} per {metric.unit or 'unit'}"
    if rule.cap is not None:
        text += f", up to {number(rule.cap)}"
    return text


def clock(instant: datetime | None, program: Program) -> str:
    if instant is None:
        return ""
    local = instant.astimezone(program.tz)
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %H:%M')}"


# --- HTTP -------------------------------------------------------------------------------------------------------


def script_hash(source: str) -> str:
    """The CSP source for one inline script: pages allow exactly their own scripts and nothing else."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


@cache
def _csp(scripts: tuple[str, ...], frame_ancestors: str) -> str:
    script_src = " ".join(script_hash(s) for s in scripts) or "'none'"
    return (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
        f"script-src {script_src}; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )


def etag_of(body: str) -> str:
    return 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip() for t in if_none_match.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


@cache
def pages_version() -> str:
    """A digest of the page templates and scripts: a new release never answers 304 for what an old one drew."""
    folder = Path(__file__).resolve().parent.parent / "adapters" / "templates"
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def page_response(
    body: str,
    *,
    status: int = 200,
    scripts: tuple[str, ...] = (),
    frame_ancestors: str = "'none'",
    if_none_match: str | None = None,
    content_type: str = HTML,
    extra_headers: dict[str, str] | None = None,
    etag: str | None = None,
) -> Response[str]:
    """An HTML page (or a board's JSON) with its security and caching headers; a 304 when the client's copy is
    current. `no-cache` lets a browser keep a copy but ask each time, so a poll that finds nothing new is a 304."""
    etag = etag or etag_of(body)
    headers = {
        "Cache-Control": "no-cache",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # a page's URL may carry its read token
        **(extra_headers or {}),
    }
    if content_type == HTML:
        headers["Content-Security-Policy"] = _csp(scripts, frame_ancestors)
    if status == 200 and not_modified(if_none_match, etag):
        return Response(status_code=304, content_type=content_type, body="", headers=headers)
    return Response(status_code=status, content_type=content_type, body=body, headers=headers)


def widget_frame_ancestors(program: Program) -> str:
    return " ".join(("'self'", *program.allowed_origins))


def cors_headers(program: Program, origin: str | None) -> dict[str, str]:
    """CORS for a board's JSON: the program's allowed origins only, named one at a time (never `*`)."""
    if origin and origin in program.allowed_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def json_body(data: Any) -> str:
    import json

    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
