"""The cascade when the roster's records are aggregated before any score arrives (as on a live stack)."""

from datetime import UTC, datetime, timedelta

from test_cascade_smoke import PROGRAM, ROSTER

from conftest import Client


def test_scores_after_the_roster_has_been_aggregated_reach_the_division_board(admin: Client, stream) -> None:
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).status == 200
    assert admin.call("PUT", "/v1/programs/sprint/roster", ROSTER, content_type="text/csv").status == 200
    stream.drain()  # the memberships make empty participant items, then team and division items
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rows = [
        {"participant": "ann", "at": at, "values": {"calls": 5}},
        {"participant": "cy", "at": at, "values": {"calls": 3}},
    ]
    assert admin.call("POST", "/v1/programs/sprint/submissions", rows).json["accepted"] == 2
    stream.drain()
    north = {s["id"]: s for s in admin.call("GET", "/v1/programs/sprint/boards/division/north").json["standings"]}
    assert north["red"]["metrics"]["calls"]["points"] == 5
    top = {s["id"]: s for s in admin.call("GET", "/v1/programs/sprint/boards/program").json["standings"]}
    assert top["north"]["metrics"]["calls"]["points"] == 8
