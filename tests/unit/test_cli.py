"""`podium score` on files, as a new user runs it: boards as tables and JSON, bad files as clear messages."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podium_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
FILES = [str(EXAMPLE / "program.yaml"), str(EXAMPLE / "submissions.csv"), "--roster", str(EXAMPLE / "roster.csv")]


def score(capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["score", *FILES, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_division_board_ranks_the_four_mid_west_teams(capsys):
    code, out, _ = score(capsys, "--board", "division:mid-west")
    assert code == 0
    assert "division Mid-West · period 2026-W47" in out
    assert "Ties: competition" in out
    body = out.splitlines()[5:]
    assert [line.split()[1] for line in body] == ["Chicago", "Detroit", "Minneapolis", "Indianapolis"]


def test_the_team_drill_down_lists_every_member(capsys):
    code, out, _ = score(capsys, "--board", "team:Indianapolis", "--json")
    assert code == 0
    board = json.loads(out)
    assert board["board"] == "team:indianapolis"
    assert len(board["standings"]) == 4
    assert set(board["standings"][0]["metrics"]) == {
        "calls",
        "demos",
        "deals_closed",
        "revenue",
        "nps",
        "training_modules",
        "response_minutes",
        "linkedin_followers",
    }


def test_division_json_equals_the_rollup_of_its_team_boards(capsys):
    _, out, _ = score(capsys, "--board", "division:mid-west", "--json")
    division = json.loads(out)
    for team in division["standings"]:
        _, team_out, _ = score(capsys, "--board", f"team:{team['id']}", "--json")
        members = json.loads(team_out)["standings"]
        assert team["headcount"] == len(members)
        summed = sum(m["metrics"]["deals_closed"]["points"] for m in members)
        assert team["metrics"]["deals_closed"]["points"] == pytest.approx(summed)
        averaged = sum(m["metrics"]["calls"]["points"] for m in members) / len(members)
        assert team["metrics"]["calls"]["points"] == pytest.approx(averaged, abs=1e-4)


def test_the_period_defaults_to_the_latest_submission_and_can_be_chosen(capsys):
    _, out, _ = score(capsys, "--json")
    assert json.loads(out)["period"] == "2026-W47"
    _, out, _ = score(capsys, "--json", "--period", "2026-W46", "--board", "participants")
    baseline = json.loads(out)
    assert baseline["period"] == "2026-W46"
    assert all(s["metrics"]["calls"]["value"] is None for s in baseline["standings"])


def test_since_shows_movement(capsys):
    _, out, _ = score(capsys, "--json", "--board", "division:mid-west", "--since", "2026-11-19T00:00:00-06:00")
    assert all(isinstance(s["movement"], int) for s in json.loads(out)["standings"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--board", "division:atlantis"], "no division 'atlantis'"),
        (["--board", "division"], "--board division needs a name"),
        (["--board", "league"], "use program, participants, division:D or team:T"),
        (["--period", "last-week"], "period 'last-week' is not recognised"),
        (["--since", "tuesday"], "--since:"),
    ],
)
def test_bad_options_exit_2_with_a_message(capsys, extra, message):
    code, _, err = score(capsys, *extra)
    assert code == 2
    assert message in err


def test_bad_files_name_the_file_row_and_column(capsys, tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text("id,participant,at,calls\nx1,rep-001,2026-11-17T10:00:00Z,12\nx2,nobody,2026-11-17,many\n")
    code = main(["score", FILES[0], str(subs), "--roster", FILES[3]])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{subs}: row 3, column 'participant': 'nobody' is not on the roster" in err
    assert f"{subs}: row 3, column 'calls': 'many' is not a number" in err


def test_a_bad_program_file_lists_its_problems(capsys, tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text("id: p\nmetrics:\n  - key: calls\n    points: {cap: -5}\n")
    code = main(["score", str(prog), FILES[1], "--roster", FILES[3]])
    assert code == 2
    assert "p.yaml: metrics[0].points.cap: must be ≥ 0" in capsys.readouterr().err


def test_missing_and_binary_files_are_reported(capsys, tmp_path):
    assert main(["score", str(tmp_path / "nope.yaml"), FILES[1], "--roster", FILES[3]]) == 2
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "roster.csv"
    binary.write_bytes(b"\xff\xfe\x00id,name\n")
    assert main(["score", *FILES[:3], str(binary)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_the_console_script_is_installed():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("podium")), "score", *FILES, "--board", "team:chicago"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "team Chicago" in result.stdout


def test_a_name_on_a_board_that_takes_none_is_refused(capsys):
    code, _, err = score(capsys, "--board", "participants:zzz")
    assert code == 2
    assert "takes no name" in err


def test_unknown_division_suggests_real_ones(capsys):
    _, _, err = score(capsys, "--board", "division:atlantis")
    assert "try division:mid-west" in err


def test_position_ranking_tables_say_ranks_not_points(capsys, tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text((EXAMPLE / "program.yaml").read_text().replace("ranking: points", "ranking: position"))
    code = main(["score", str(prog), *FILES[1:], "--board", "division:mid-west"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Metric columns show ranks (1 = best)." in out
    assert "Rank sum" in out
