"""`podium verify` and `podium rebuild` against the real stream on DynamoDB Local."""

from datetime import UTC, datetime, timedelta

from conftest import Client
from podium_cli.main import main
from programs import SPRINT as PROGRAM
from programs import SPRINT_ROSTER as ROSTER


def seeded(admin: Client, stream) -> None:
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).status == 200
    assert admin.call("PUT", "/v1/programs/sprint/roster", ROSTER, content_type="text/csv").status == 200
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rows = [
        {"participant": "ann", "at": at, "values": {"calls": 5, "nps": 40}},
        {"participant": "cy", "at": at, "values": {"calls": 3, "nps": 80}},
        {"participant": "di", "at": at, "values": {"calls": 9}},
    ]
    assert admin.call("POST", "/v1/programs/sprint/submissions", rows).json["accepted"] == 3
    stream.drain()


def test_verify_finds_no_drift_after_the_cascade(admin: Client, stream, capsys) -> None:
    seeded(admin, stream)
    assert main(["verify", "--org", "acme", "--program", "sprint"]) == 0
    assert "every stored standing matches the log" in capsys.readouterr().out


def test_verify_reports_drift_and_rebuild_repairs_it(admin: Client, stream, capsys) -> None:
    from podium.adapters.factory import standings
    from podium.domain.periods import period_of
    from podium.domain.program import program_from_dict
    from podium.domain.scoring import MetricValue
    from podium.domain.standings import ParticipantStanding

    seeded(admin, stream)
    program = program_from_dict(PROGRAM)
    period = period_of(datetime.now(UTC), program.period, program.tz, program.week_start).key
    # Drift: a wrong value for ann, and bob placed in a team he is not in, written behind the stream's back.
    now = datetime.now(UTC)
    standings().put_participant_standing(
        "acme", "sprint", ParticipantStanding("ann", "Ann", "red", "north", period, {"calls": MetricValue(500, now, 1)})
    )
    standings().put_participant_standing(
        "acme", "sprint", ParticipantStanding("bob", "Bob", "blue", "north", period, {"calls": MetricValue(1, now, 1)})
    )
    capsys.readouterr()
    assert main(["verify", "--org", "acme", "--program", "sprint"]) == 1
    out = capsys.readouterr().out
    assert "participant ann: values {calls: 500} should be {calls: 5, nps: 40}" in out
    assert "participant bob: stored but has no values this period" in out

    assert main(["rebuild", "--org", "acme", "--program", "sprint"]) == 0
    stream.drain()
    capsys.readouterr()
    assert main(["verify", "--org", "acme", "--program", "sprint"]) == 0, capsys.readouterr().out


def test_a_team_with_no_scores_in_a_past_period_still_counts_in_its_divisions_means(
    admin: Client, stream, capsys
) -> None:
    daily = {**PROGRAM, "id": "daily", "period": "day"}
    assert admin.call("PUT", "/v1/programs/daily", daily).status == 200
    assert admin.call("PUT", "/v1/programs/daily/roster", ROSTER, content_type="text/csv").status == 200
    yesterday = datetime.now(UTC) - timedelta(days=1)
    rows = [
        {"id": "a1", "participant": "ann", "at": yesterday.isoformat(), "values": {"calls": 5, "nps": 40}},
        {"id": "c1", "participant": "cy", "at": yesterday.isoformat(), "values": {"calls": 3, "nps": 80}},
    ]
    assert admin.call("POST", "/v1/programs/daily/submissions", rows).json["accepted"] == 2
    stream.drain()
    period = yesterday.strftime("%Y-%m-%d")
    # Cy's team (Blue) is left with no scores that day: North's nps is still a mean over all three people.
    void = admin.call("POST", "/v1/programs/daily/submissions/c1/void", {"participant": "cy"})
    assert void.status == 200, void.text
    stream.drain()
    board = admin.call("GET", "/v1/programs/daily/boards/program", query=f"period={period}").json
    north = next(s for s in board["standings"] if s["id"] == "north")
    assert north["metrics"]["nps"]["points"] == round(40 / 3, 4) and north["headcount"] == 3
    capsys.readouterr()
    assert main(["verify", "--org", "acme", "--program", "daily", "--period", period]) == 0, capsys.readouterr().out
