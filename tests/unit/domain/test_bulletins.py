"""Bulletins in the pure domain: schedules in a program's time zone, which period a bulletin reports, badges and
movement between consecutive bulletins, the program file's `bulletins` section, and signed link tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from podium.domain.bulletins import (
    Badge,
    BadgeKind,
    BoardMarks,
    GroupLine,
    Line,
    Snapshot,
    changes,
    compared,
    due_slot,
    marks_apply,
    marks_of,
    period_name,
    reported_period,
)
from podium.domain.errors import InvalidProgram
from podium.domain.periods import parse_period
from podium.domain.program import BulletinSettings, ChannelKind, Weekday, parse_schedule, program_from_dict
from podium.domain.tokens import BadToken, sign, verify

CHICAGO = ZoneInfo("America/Chicago")


def program(**bulletins: Any) -> Any:
    doc: dict[str, Any] = {
        "id": "contest",
        "name": "Contest",
        "timezone": "America/Chicago",
        "period": "week",
        "metrics": [{"key": "deals"}],
    }
    if bulletins:
        doc["bulletins"] = bulletins
    return program_from_dict(doc)


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("MON 08:00", {0}, time(8, 0)),
        ("mon,thu 17:30", {0, 3}, time(17, 30)),
        ("weekdays 9:00", {0, 1, 2, 3, 4}, time(9, 0)),
        ("daily 18:00", set(range(7)), time(18, 0)),
        ("Monday 08:00", {0}, time(8, 0)),
    ],
)
def test_schedules_people_write(text: str, days: set[int], at: time) -> None:
    schedule = parse_schedule(text)
    assert schedule is not None and schedule.days == frozenset(days) and schedule.at == at


@pytest.mark.parametrize("text", ["MON", "08:00", "MO 08:00", "MON 24:00", "MON 8:60", "funday 08:00", 7])
def test_what_is_not_a_schedule(text: Any) -> None:
    assert parse_schedule(text) is None


def test_the_due_slot_is_local_time_across_a_clock_change() -> None:
    schedule = parse_schedule("MON 08:00")
    assert schedule is not None
    # 2 Nov 2026 is the first Monday after US daylight saving ends (1 Nov): 08:00 CST is 14:00 UTC.
    before = datetime(2026, 11, 2, 13, 59, tzinfo=UTC)
    assert due_slot(schedule, CHICAGO, before) == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)  # 08:00 CDT
    assert due_slot(schedule, CHICAGO, datetime(2026, 11, 2, 14, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 14, 0, tzinfo=UTC
    )


def test_a_monday_morning_bulletin_reports_last_week() -> None:
    p = program()
    monday_8 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 08:00 in Chicago
    assert reported_period(p, monday_8).key == "2026-W48"  # the week that ended last night
    assert reported_period(p, monday_8 + timedelta(hours=13)).key == "2026-W49"
    assert period_name(parse_period("2026-W48")) == "week of 23 Nov 2026"
    assert period_name(parse_period("2026-11")) == "November 2026"


def test_the_program_file_section() -> None:
    p = program(
        schedule="MON 08:00",
        quiet_post=True,
        ranks=[10, 1],
        points=[500],
        channels=[
            {"name": "sales", "kind": "slack", "secret": "/podium/prod/slack"},
            {"name": "li", "kind": "linkedin", "secret": "/podium/prod/li", "author": "urn:li:organization:42"},
            {"name": "hook", "kind": "webhook", "secret": "/podium/prod/hook", "url": "https://x.example/h"},
        ],
    )
    settings: BulletinSettings = p.bulletins
    assert settings.schedule is not None and settings.schedule.text == "MON 08:00"
    assert settings.ranks == (1, 10) and settings.points == (500.0,) and settings.quiet_post
    assert [c.kind for c in settings.channels] == [ChannelKind.SLACK, ChannelKind.LINKEDIN, ChannelKind.WEBHOOK]


@pytest.mark.parametrize(
    ("bulletins", "field"),
    [
        ({"schedule": "someday"}, "bulletins.schedule"),
        ({"channels": [{"name": "a", "kind": "webhook", "secret": "/s"}]}, "bulletins.channels[0].url"),
        ({"channels": [{"name": "a", "kind": "linkedin", "secret": "/s"}]}, "bulletins.channels[0].author"),
        ({"channels": [{"name": "a", "kind": "slack", "secret": "https://hooks.slack.com/x y"}]}, "secret"),
        ({"channels": [{"name": "a", "kind": "fax", "secret": "/s"}]}, "kind"),
        ({"channels": [{"name": "a", "kind": "slack", "secret": "/s"}] * 2}, "name"),
        ({"streak": 1}, "bulletins.streak"),
        ({"digest": True}, "bulletins"),
    ],
)
def test_a_wrong_section_says_where(bulletins: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidProgram) as caught:
        program(**bulletins)
    assert field in str(caught.value.problems if hasattr(caught.value, "problems") else caught.value)


def line(pid: str, rank: int, points: float, **kw: Any) -> Line:
    return Line(pid, pid.title(), kw.pop("team", "t1"), rank, points, {}, scored=points > 0, **kw)


def test_movement_streaks_and_badges_between_bulletins() -> None:
    settings = BulletinSettings(ranks=(1, 3), points=(100.0,), streak=2)
    first = compared(
        Snapshot("2026-W47", (line("a", 1, 90, team_rank=1), line("b", 2, 50), line("c", 3, 10))), None, settings
    )
    second = compared(
        Snapshot("2026-W48", (line("b", 1, 120, team_rank=1), line("a", 2, 95), line("c", 3, 10), line("d", 4, 5))),
        first,
        settings,
    )
    b, a, c, d = second.participants
    assert (b.movement, a.movement, c.movement, d.movement) == (1, -1, 0, None)
    kinds = {k.kind for k in b.badges}
    assert {BadgeKind.RANK, BadgeKind.POINTS, BadgeKind.PERSONAL_BEST, BadgeKind.TOP_IMPROVER} <= kinds
    assert BadgeKind.FIRST_IN_TEAM in kinds
    assert a.best_rank == 1 and a.best_points == 95 and not any(k.kind is BadgeKind.RANK for k in a.badges)
    told = changes(second, first)
    assert [p.id for p in told.climbers] == ["b"] and [p.id for p in told.fallers] == ["a"]
    assert [p.id for p in told.newcomers] == ["d"]
    third = compared(Snapshot("2026-W49", (line("c", 1, 200), line("b", 2, 130))), second, settings)
    assert third.participants[1].streak == 0 and third.participants[0].streak == 1
    # Round trip through storage keeps everything the next bulletin needs.
    assert Snapshot.from_dict(second.as_dict()) == second
    assert second.fingerprint != first.fingerprint
    assert Snapshot.from_dict(second.as_dict()).fingerprint == second.fingerprint


def test_signed_tokens() -> None:
    key, now = b"k" * 32, datetime(2026, 12, 3, tzinfo=UTC)
    token = sign(key, "unsubscribe", ["org", "prog", "p1"], now + timedelta(days=1))
    assert verify(key, "unsubscribe", token, now) == ["org", "prog", "p1"]
    with pytest.raises(BadToken, match="expired"):
        verify(key, "unsubscribe", token, now + timedelta(days=2))
    for forged in (token + "x", token.replace(".", ".A"), "a.b", "", "...", sign(b"j" * 32, "unsubscribe", ["o"], now)):
        with pytest.raises(BadToken):
            verify(key, "unsubscribe", forged, now)
    with pytest.raises(BadToken):
        verify(key, "login", token, now)


def test_marks_keep_each_boards_ranks_and_the_badges_with_the_team() -> None:
    at = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    first_in_team = (Badge(BadgeKind.FIRST_IN_TEAM, "First in the team"),)
    snapshot = Snapshot(
        "2026-W48",
        (
            Line("a", "A", "north", 1, 90, {}, team_rank=1, badges=first_in_team),
            Line("b", "B", "south", 2, 50, {}, team_rank=1),
            Line("c", "C", "north", 3, 10, {}, team_rank=2),
            Line("d", "D", None, 4, 5, {}, team_rank=2),  # in no team: ranked on the program board
        ),
        teams=(GroupLine("north", "North", "east", 1, 100, 2), GroupLine("south", "South", "east", 2, 50, 1)),
        divisions=(GroupLine("east", "East", None, 1, 75, 3),),
    )
    got = marks_of(snapshot, "b1", at)
    assert {ref: m.ranks for ref, m in got.items()} == {
        "participants": {"a": 1, "b": 2, "c": 3, "d": 4},
        "team:north": {"a": 1, "c": 2},
        "team:south": {"b": 1},
        "division:east": {"north": 1, "south": 2},
        "program": {"east": 1, "d": 2},
    }
    assert got["team:north"].badges == {"a": first_in_team} and not got["participants"].badges
    assert {(m.bulletin, m.period, m.at) for m in got.values()} == {("b1", "2026-W48", at)}
    assert BoardMarks.from_dict("b1", "2026-W48", at, got["team:north"].as_dict()) == got["team:north"]


@pytest.mark.parametrize(
    ("board_period", "applies"),
    [("2026-W48", True), ("2026-W49", True), ("2027-W02", True), ("2026-W47", False), ("2026-11", False)],
)
def test_movement_is_since_the_bulletin_for_its_period_and_later_ones(board_period: str, applies: bool) -> None:
    mark = BoardMarks("b1", "2026-W48", datetime(2026, 11, 30, tzinfo=UTC), {"a": 1})
    assert marks_apply(mark, parse_period(board_period), Weekday.MONDAY) is applies
    assert not marks_apply(None, parse_period("2026-W48"), Weekday.MONDAY)
