"""The stream cascade end to end: submissions over HTTP, the stream through the aggregate function, boards."""

from datetime import UTC, datetime, timedelta

from conftest import Client
from programs import SPRINT as PROGRAM
from programs import SPRINT_ROSTER as ROSTER


def test_submissions_reach_the_division_board_through_the_stream(admin: Client, stream) -> None:
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).status == 200
    assert admin.call("PUT", "/v1/programs/sprint/roster", ROSTER, content_type="text/csv").status == 200
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rows = [
        {"participant": "ann", "at": at, "values": {"calls": 5, "nps": 40}},
        {"participant": "bob", "at": at, "values": {"calls": 7}},
        {"participant": "cy", "at": at, "values": {"calls": 3, "nps": 80}},
        {"participant": "di", "at": at, "values": {"calls": 9, "nps": 10}},
    ]
    assert admin.call("POST", "/v1/programs/sprint/submissions", rows).json["accepted"] == 4
    stream.drain()
    assert not stream.parked
    north = admin.call("GET", "/v1/programs/sprint/boards/division/north")
    assert north.status == 200, north.text
    teams = {s["id"]: s for s in north.json["standings"]}
    assert teams["red"]["metrics"]["calls"]["points"] == 12
    assert teams["red"]["metrics"]["nps"]["points"] == 20  # 40 / 2 members
    assert teams["red"]["headcount"] == 2
    top = admin.call("GET", "/v1/programs/sprint/boards/program").json
    assert [s["id"] for s in top["standings"]] == ["north", "south"]
    team = admin.call("GET", "/v1/programs/sprint/boards/team/red").json
    assert [(s["id"], s["points"]) for s in team["standings"]] == [("ann", 45.0), ("bob", 7.0)]


def test_changing_a_rule_recomputes_the_current_standings(admin: Client, stream) -> None:
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).status == 200
    assert admin.call("PUT", "/v1/programs/sprint/roster", ROSTER, content_type="text/csv").status == 200
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    admin.call("POST", "/v1/programs/sprint/submissions", [{"participant": "ann", "at": at, "values": {"calls": 5}}])
    stream.drain()
    doubled = {**PROGRAM, "metrics": [{"key": "calls", "points": {"per_unit": 2}}, PROGRAM["metrics"][1]]}
    assert admin.call("PUT", "/v1/programs/sprint", doubled).json["version"] == 2
    stream.drain()
    team = admin.call("GET", "/v1/programs/sprint/boards/division/north").json
    red = next(s for s in team["standings"] if s["id"] == "red")
    assert red["metrics"]["calls"]["points"] == 10


def test_moving_a_participant_moves_their_points_to_the_new_team(admin: Client, stream) -> None:
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).status == 200
    assert admin.call("PUT", "/v1/programs/sprint/roster", ROSTER, content_type="text/csv").status == 200
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    admin.call("POST", "/v1/programs/sprint/submissions", [{"participant": "ann", "at": at, "values": {"calls": 5}}])
    stream.drain()
    assert admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"team": "Blue"}).status == 200
    stream.drain()
    north = {s["id"]: s for s in admin.call("GET", "/v1/programs/sprint/boards/division/north").json["standings"]}
    assert north["blue"]["metrics"]["calls"]["points"] == 5
    assert north["blue"]["headcount"] == 2
    assert north["red"]["metrics"]["calls"]["points"] == 0
    assert north["red"]["headcount"] == 1
