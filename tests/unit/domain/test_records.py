"""Reading submission and roster rows: every problem located by row and column; good rows kept whole."""

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import program, roster
from podium.domain.errors import InvalidInput
from podium.domain.records import parse_instant, parse_number, read_roster_csv, read_submissions_csv

PROG = program({"key": "calls"}, {"key": "nps", "period_aggregate": "latest"}, timezone="America/Chicago")
PEOPLE = roster(("ann", "Red", "North"), ("bob", "Red", "North"))


def read(text: str, **kw):
    return read_submissions_csv(io.StringIO(text), PROG, PEOPLE, **kw)


def test_good_rows_become_submissions_and_empty_cells_mean_no_value():
    out = read("id,participant,at,calls,nps\n1,ann,2026-11-24T10:00:00Z,5,\n2,bob,2026-11-24,,40\n")
    assert out.problems == []
    first, second = out.submissions
    assert first.values == {"calls": 5.0}
    assert second.values == {"nps": 40.0}
    assert second.at == datetime(2026, 11, 24, tzinfo=ZoneInfo("America/Chicago"))


def test_bad_rows_are_rejected_whole_with_row_and_column_and_good_rows_are_kept():
    out = read(
        "id,participant,at,calls,nps\n"
        "1,ann,2026-11-24T10:00:00Z,5,\n"
        "2,zed,yesterday,lots,nan\n"
        "3,bob,2026-11-24T10:00:00Z,,\n"
        "1,bob,2026-11-24T10:00:00Z,1,\n"
        "4,bob,2026-11-24T10:00:00Z,1,,surplus\n"
    )
    assert [s.id for s in out.submissions] == ["1"]
    assert out.rejected_rows == {3, 4, 5, 6}
    text = [str(p) for p in out.problems]
    assert "row 3, column 'participant': 'zed' is not on the roster" in text
    assert "row 3, column 'at': 'yesterday' is not an ISO-8601 time such as 2026-11-24T09:30:00Z" in text
    assert "row 3, column 'calls': 'lots' is not a number" in text
    assert any(t.startswith("row 3, column 'nps': must be a finite number") for t in text)
    assert "row 6: has more cells than the header has columns" in text
    assert "row 4: has no metric values and voids nothing" in text
    assert "row 5, column 'id': '1' appears twice in this batch" in text


def test_an_unknown_column_refuses_the_whole_file_as_it_would_lose_values():
    out = read("participant,at,cals\nann,2026-11-24,5\n")
    assert out.submissions == []
    assert [str(p) for p in out.problems] == [
        "row 1, column 'cals': is not a metric of program 'test'; no row was read"
    ]


def test_a_void_must_name_an_earlier_submission_when_the_log_is_known():
    out = read(
        "id,participant,at,voids,calls\n1,ann,2026-11-24,,5\n2,ann,2026-11-25,1,3\n3,ann,2026-11-25,99,\n",
        known_ids=set(),
    )
    assert [s.id for s in out.submissions] == ["1", "2"]
    assert out.submissions[1].voids == "1"
    assert [str(p) for p in out.problems] == ["row 4, column 'voids': '99' is not an earlier submission"]


def test_without_at_the_time_defaults_to_now_only_when_given():
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert read("participant,calls\nann,1\n", now=now).submissions[0].at == now
    assert [str(p) for p in read("participant,calls\nann,1\n").problems] == ["row 2, column 'at': is required"]


def test_a_header_without_participant_is_refused():
    assert [str(p) for p in read("who,calls\nann,1\n").problems] == [
        "row 1: the header must name a 'participant' column"
    ]


def test_a_byte_order_mark_from_a_spreadsheet_is_ignored():
    assert read("\ufeffparticipant,at,calls\nann,2026-11-24,1\n").problems == []


@pytest.mark.parametrize("bad", ["", "abc", "inf", "-inf", "NaN", "1e400", True, None, [1]])
def test_parse_number_refuses_what_is_not_a_finite_number(bad):
    with pytest.raises(ValueError):
        parse_number(bad)


def test_parse_number_reads_numbers_and_numeric_text():
    assert parse_number(" 12.5 ") == 12.5
    assert parse_number(3) == 3.0
    assert parse_number("-1e3") == -1000.0


def test_parse_instant_keeps_offsets_and_reads_bare_times_in_the_program_zone():
    tz = ZoneInfo("America/Chicago")
    assert parse_instant("2026-11-24T10:00:00Z", tz) == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert parse_instant("2026-11-24T10:00:00", tz) == datetime(2026, 11, 24, 10, tzinfo=tz)


def test_roster_csv_reads_people_teams_divisions_and_inactive_flags():
    r = read_roster_csv(
        io.StringIO("id,name,email,team,division,active\na,Ann,a@x.org,Red,North,\nb,Bob,,Red,North,no\n")
    )
    assert r.participants["a"].email == "a@x.org"
    assert [p.id for p in r.active] == ["a"]
    assert r.teams["red"].parent == "north"


def test_roster_csv_problems_name_row_and_column():
    with pytest.raises(InvalidInput) as caught:
        read_roster_csv(io.StringIO("id,name,colour\n,Ann,red\n"))
    assert [str(p) for p in caught.value.problems] == [
        "row 1, column 'colour': is not a roster column (id, name, email, team, division, active, opt_out)"
    ]
    with pytest.raises(InvalidInput) as caught:
        read_roster_csv(io.StringIO("id,name\n,Ann\n"))
    assert [str(p) for p in caught.value.problems] == ["row 2, column 'id': is required"]
    with pytest.raises(InvalidInput, match="must name the column"):
        read_roster_csv(io.StringIO("who,name\n"))


def test_a_repeated_header_column_is_refused_rather_than_losing_one_of_them():
    out = read("participant,at,calls,calls\nann,2026-11-24,5,7\n")
    assert out.submissions == []
    assert [str(p) for p in out.problems] == ["row 1, column 'calls': appears twice in the header"]


def test_rows_are_numbered_as_in_the_spreadsheet_across_blank_lines():
    out = read("participant,at,calls\n\n\nann,2026-11-24,x\n")
    assert [str(p) for p in out.problems] == ["row 4, column 'calls': 'x' is not a number"]


def test_a_cell_too_large_for_csv_is_a_located_problem_not_a_crash():
    out = read("participant,at,calls\nann,2026-11-24,1\nann,2026-11-24," + "1" * 200_000 + "\n")
    assert len(out.submissions) == 1
    assert out.problems[0].row == 3
    assert "cannot be read as CSV" in out.problems[0].message


def test_huge_integers_and_far_dates_are_refused_with_a_reason():
    from podium.domain.records import read_submission_rows

    rows = [
        {"participant": "ann", "at": "2026-11-24", "calls": 10**400},
        {"participant": "ann", "at": "9999-12-31T12:00:00Z", "calls": 1},
        {"participant": "ann", "at": "0001-01-01T01:00:00+05:00", "calls": 1},
    ]
    out = read_submission_rows(rows, PROG, PEOPLE, first_row=1)
    assert out.submissions == []
    assert [p.field for p in out.problems] == ["calls", "at", "at"]


def test_active_accepts_only_clear_yes_and_no_values():
    r = read_roster_csv(io.StringIO("id,name,active\na,A,no\nb,B,\nc,C,Yes\nd,D,0\n"))
    assert sorted(p.id for p in r.active) == ["b", "c"]
    with pytest.raises(InvalidInput, match="must be yes, no"):
        read_roster_csv(io.StringIO("id,name,active\na,A,inactive\n"))


def test_reading_an_old_log_offline_keeps_people_who_were_deactivated_since():
    people = read_roster_csv(io.StringIO("id,name,active\nann,Ann,\nbob,Bob,no\n"))
    text = "participant,at,calls\nbob,2026-11-24,5\n"
    assert read_submissions_csv(io.StringIO(text), PROG, people).problems[0].field == "participant"
    assert len(read_submissions_csv(io.StringIO(text), PROG, people, reject_inactive=False).submissions) == 1
