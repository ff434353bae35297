"""A period's standings use the roster as it stood at the period's end: moves, joins and records saved before the
roster kept history, through the real stream on DynamoDB Local."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_aggregation import assert_period_boards_match_the_log

from conftest import Client
from podium_cli.main import main

PROGRAM = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "period": "week",
    "backdate_days": 30,
    "metrics": [
        {"key": "calls"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean", "mean_over": "headcount"},
    ],
}
ROSTER = "id,name,email,team,division\nann,Ann,,Red,North\nbob,Bob,,Red,North\ncy,Cy,,Blue,North\ndi,Di,,Green,South\n"
THIS_MONDAY = (datetime.now(UTC) - timedelta(days=datetime.now(UTC).weekday())).replace(
    hour=0, minute=0, second=0, microsecond=0
)
LAST_WEEK = THIS_MONDAY - timedelta(days=5, hours=-12)  # last Wednesday, noon
LONG_AGO = THIS_MONDAY - timedelta(weeks=3)


def last_week() -> str:
    year, week, _ = LAST_WEEK.isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture
def saved_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime | None], None]:
    """Make the admin API save the roster at a given time (None: now)."""
    from podium.api import admin_routes

    real = admin_routes.now

    def at(when: datetime | None) -> None:
        monkeypatch.setattr(admin_routes, "now", real if when is None else (lambda: when))

    return at


def call(admin: Client, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    reply = admin.call(method, f"/v1/programs/sprint{path}", body, **kw)
    assert reply.status in (200, 201, 204), f"{method} {path}: {reply.status} {reply.text}"
    return reply


def score(admin: Client, rows: list[tuple[str, str, datetime, dict[str, float]]]) -> None:
    body = [{"id": i, "participant": p, "at": at.isoformat(), "values": v} for i, p, at, v in rows]
    assert call(admin, "POST", "/submissions", body).json["accepted"] == len(rows)


def started(admin: Client, stream: Any, saved_at: Callable[[datetime | None], None]) -> None:
    saved_at(LONG_AGO)
    call(admin, "PUT", "", PROGRAM)
    call(admin, "PUT", "/roster", ROSTER, content_type="text/csv")
    saved_at(None)
    score(admin, [("a1", "ann", LAST_WEEK, {"calls": 5, "nps": 40}), ("b1", "bob", LAST_WEEK, {"calls": 7, "nps": 60})])
    stream.drain()


def verified(capsys: pytest.CaptureFixture[str], period: str) -> None:
    capsys.readouterr()
    assert main(["verify", "--org", "acme", "--program", "sprint", "--period", period]) == 0, capsys.readouterr().out


def team_board(admin: Client, team: str, period: str) -> list[tuple[str, float]]:
    board = admin.call("GET", f"/v1/programs/sprint/boards/team/{team}", query=f"period={period}").json
    return [(s["id"], s["points"]) for s in board["standings"]]


def test_a_move_this_week_leaves_last_weeks_boards_as_they_were(
    admin: Client, stream: Any, store: Any, saved_at: Any, capsys: Any
) -> None:
    started(admin, stream, saved_at)
    call(admin, "PATCH", "/participants/ann", {"team": "Blue"})
    stream.drain()
    score(admin, [("a2", "ann", LAST_WEEK + timedelta(hours=1), {"calls": 1})])  # a late score for last week
    stream.drain()
    assert sorted(p for p, _ in team_board(admin, "red", last_week())) == ["ann", "bob"]
    assert_period_boards_match_the_log(admin, store, "sprint", last_week())
    verified(capsys, last_week())


def test_a_move_saved_just_before_a_period_ends_counts_there_though_the_stream_runs_after(
    admin: Client, stream: Any, store: Any, saved_at: Any, capsys: Any
) -> None:
    started(admin, stream, saved_at)
    saved_at(THIS_MONDAY - timedelta(seconds=1))
    call(admin, "PATCH", "/participants/ann", {"team": "Blue"})
    saved_at(None)
    stream.drain()  # the aggregator runs this week
    assert sorted(p for p, _ in team_board(admin, "blue", last_week())) == ["ann", "cy"]
    assert_period_boards_match_the_log(admin, store, "sprint", last_week())
    verified(capsys, last_week())


def test_people_saved_before_the_roster_kept_history_keep_their_old_team_in_the_past(
    admin: Client, stream: Any, store: Any, saved_at: Any
) -> None:
    from podium.domain.roster import Participant

    call(admin, "PUT", "", PROGRAM)
    people = [Participant(p, p.title(), team=t, division="North") for p, t in (("ann", "Red"), ("cy", "Blue"))]
    store.save_participants("acme", "sprint", people, LONG_AGO)  # records with no history at all
    score(admin, [("a1", "ann", LAST_WEEK, {"calls": 5})])
    stream.drain()
    call(admin, "PATCH", "/participants/ann", {"team": "Blue"})
    score(admin, [("a2", "ann", LAST_WEEK + timedelta(hours=1), {"calls": 1})])
    stream.drain()
    assert team_board(admin, "red", last_week()) == [("ann", 6.0)]


def test_a_team_that_changed_division_keeps_its_old_division_in_the_past_with_later_joiners(
    admin: Client, stream: Any, store: Any, saved_at: Any, capsys: Any
) -> None:
    started(admin, stream, saved_at)
    saved_at(THIS_MONDAY + timedelta(hours=1))
    call(admin, "PUT", "/roster", ROSTER.replace("Red,North", "Red,South"), content_type="text/csv")
    saved_at(THIS_MONDAY + timedelta(hours=2))
    call(admin, "PUT", "/participants/eve", {"name": "Eve", "team": "Red", "division": "South"})
    # A team nobody was in last week, moved between its members' joins.
    call(admin, "PUT", "/participants/x1", {"name": "X1", "team": "X", "division": "North"})
    saved_at(THIS_MONDAY + timedelta(hours=3))
    call(admin, "PATCH", "/participants/x1", {"division": "South"})
    call(admin, "PUT", "/participants/x2", {"name": "X2", "team": "X", "division": "South"})
    saved_at(None)
    stream.drain()
    score(admin, [("a2", "ann", LAST_WEEK + timedelta(hours=1), {"calls": 1})])
    stream.drain()
    assert not stream.parked
    north = admin.call("GET", "/v1/programs/sprint/boards/division/north", query=f"period={last_week()}")
    assert north.status == 200, north.text
    assert "red" in [s["id"] for s in north.json["standings"]]
    assert_period_boards_match_the_log(admin, store, "sprint", last_week())


def test_rebuild_repairs_a_past_period_whose_headcount_changed_with_nothing_else(
    admin: Client, stream: Any, store: Any, saved_at: Any, capsys: Any
) -> None:
    started(admin, stream, saved_at)
    # Eve joins Red today; scores may be sent for days before someone joined, so last week counts her too. No
    # standing of last week changes, so nothing recomputes Red's: verify finds the drift, rebuild repairs it.
    call(admin, "PUT", "/participants/eve", {"name": "Eve", "team": "Red", "division": "North"})
    stream.drain()
    capsys.readouterr()
    assert main(["verify", "--org", "acme", "--program", "sprint", "--period", last_week()]) == 1
    assert main(["rebuild", "--org", "acme", "--program", "sprint", "--period", last_week()]) == 0
    stream.drain()
    verified(capsys, last_week())
    assert_period_boards_match_the_log(admin, store, "sprint", last_week())
