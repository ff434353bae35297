"""End to end over HTTP: `podium local`, submissions as JSON, a form and CSV, the stream, the boards."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from e2e_stack import (
    PODIUM,
    RunningStack,
    create_org,
    running_stack,
    start_stack,
    stop_stack,
    wait_for,
)
from podium.domain.boards import compute_scorebook
from podium.domain.periods import period_of
from podium.domain.program import program_from_dict
from podium.domain.records import read_roster_csv
from podium.domain.submissions import Submission


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[RunningStack]:
    yield from running_stack(tmp_path)


PROGRAM = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "metrics": [
        {"key": "calls"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"},
    ],
}
ROSTER = (
    "id,name,email,team,division\n"
    "ann,Ann,,Red,North\nbob,Bob,,Red,North\ncy,Cy,,Blue,North\ndi,Di,,Green,South\nel,El,,Green,South\n"
)


def setup_program(stack: RunningStack) -> None:
    assert stack.json("PUT", "/v1/programs/sprint", PROGRAM)[0] == 200
    status, _, _ = stack.call("PUT", "/v1/programs/sprint/roster", ROSTER.encode(), "text/csv")
    assert status == 200


def expected(submissions: list[Submission], kind: str, ref: str | None = None) -> list[tuple[str, float]]:
    program = program_from_dict(PROGRAM)
    roster = read_roster_csv(io.StringIO(ROSTER))
    period = period_of(datetime.now(UTC), program.period, program.tz, program.week_start)
    board = compute_scorebook(program, roster, submissions, period).board(kind, ref)
    return [(s["id"], s["points"]) for s in board.as_dict()["standings"]]


def board(stack: RunningStack, path: str) -> list[tuple[str, float]]:
    status, body = stack.json("GET", f"/v1/programs/sprint/boards/{path}")
    assert status == 200, body
    return [(s["id"], s["points"]) for s in body["standings"]]


def test_scores_posted_as_json_form_and_csv_reach_every_board(local_stack: RunningStack) -> None:
    setup_program(local_stack)
    at = datetime.now(UTC) - timedelta(minutes=2)
    sent: list[Submission] = []

    rows = [
        {"id": "j1", "participant": "ann", "at": at.isoformat(), "values": {"calls": 12, "nps": 40}},
        {"id": "j2", "participant": "di", "at": at.isoformat(), "values": {"calls": 3, "nps": 90}},
    ]
    status, body = local_stack.json("POST", "/v1/programs/sprint/submissions", rows)
    assert (status, body["accepted"]) == (200, 2)
    sent += [Submission(r["id"], r["participant"], at, r["values"]) for r in rows]

    status, token = local_stack.json("POST", "/v1/programs/sprint/tokens/submit")
    form = urlencode({"token": token["token"], "id": "f1", "participant": "cy", "at": at.isoformat(), "calls": "7"})
    status, _, page = local_stack.call(
        "POST", "/v1/programs/sprint/submissions", form.encode(), "application/x-www-form-urlencoded", key=""
    )
    assert status == 200 and b"your score was received" in page
    sent.append(Submission("f1", "cy", at, {"calls": 7}))

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "participant", "at", "calls", "nps"])
    for i, participant in enumerate(["bob", "el", "ann"]):
        writer.writerow([f"c{i}", participant, at.isoformat(), 5 + i, ""])
        sent.append(Submission(f"c{i}", participant, at, {"calls": 5 + i}))
    status, _, body_bytes = local_stack.call(
        "POST", "/v1/programs/sprint/submissions", out.getvalue().encode(), "text/csv"
    )
    assert status == 200 and json.loads(body_bytes)["accepted"] == 3

    # The cascade settles level by level; each board is read until it shows what `podium score` computes.
    for path, kind, ref in [
        ("division/north", "division", "north"),
        ("team/red", "team", "red"),
        ("program", "program", None),
        ("participants", "participants", None),
    ]:
        want = expected(sent, kind, ref)
        wait_for(lambda path=path, want=want: board(local_stack, path) == want)


def test_a_stack_stopped_mid_stream_loses_and_double_counts_nothing(tmp_path) -> None:
    data = tmp_path / "podium"
    stack = start_stack(data)
    sent: list[Submission] = []
    try:
        stack.key = create_org(stack, "e2e")
        setup_program(stack)
        at = datetime.now(UTC) - timedelta(minutes=2)
        participants = ["ann", "bob", "cy", "di", "el"]
        rows = [
            {
                "id": f"r{i}",
                "participant": participants[i % 5],
                "at": at.isoformat(),
                "values": {"calls": i % 9, "nps": i},
            }
            for i in range(400)
        ]
        assert stack.json("POST", "/v1/programs/sprint/submissions", rows)[1]["accepted"] == 400
        sent = [Submission(r["id"], r["participant"], at, r["values"]) for r in rows]
    finally:
        stop_stack(stack)  # the stream is most likely still working through the cascade
    key = stack.key
    stack = start_stack(data)
    stack.key = key
    try:
        # A retry of the same batch after the restart writes nothing new.
        status, body = stack.json("POST", "/v1/programs/sprint/submissions", rows)
        assert (status, body["accepted"], body["duplicates"]) == (200, 0, 400)
        want = expected(sent, "division", "north")
        wait_for(lambda: board(stack, "division/north") == want, timeout=180)
        assert board(stack, "participants") == expected(sent, "participants")
        wait_for(lambda: board(stack, "program") == expected(sent, "program"), timeout=180)
        verify = subprocess.run(
            [PODIUM, "verify", "--org", "e2e", "--program", "sprint"],
            env=stack.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        stop_stack(stack)
