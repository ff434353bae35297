"""Ingestion through the HTTP API: JSON, HTML forms and CSV; idempotency; validation; corrections; errors.

Every test runs on moto and, when PODIUM_DYNAMODB_ENDPOINT is set, on DynamoDB Local (see `backend`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import Client, Reply, bootstrap_org

ORG = "acme"
PROGRAM_ID = "sprint"
PEOPLE = ["ann", "bob", "cat", "dan", "eve"]
PROGRAM: dict[str, Any] = {
    "id": PROGRAM_ID,
    "name": "Sprint",
    "timezone": "UTC",
    "metrics": [{"key": "calls"}, {"key": "nps", "period_aggregate": "latest"}],
    "return_to": ["https://intranet.example.com/scores/"],
}
ROSTER = "id,name,email,team,division\n" + "".join(f"{p},{p.title()},,Red,North\n" for p in PEOPLE)
SUBMISSIONS = f"/v1/programs/{PROGRAM_ID}/submissions"
FORM = "application/x-www-form-urlencoded"


def recent(hours: float = 1) -> str:
    """A time inside the back-dating window, to the second (as a client would send it)."""
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


def void_path(submission: str) -> str:
    return f"/v1/programs/{PROGRAM_ID}/submissions/{submission}/void"


@pytest.fixture
def sprint(admin: Client) -> Client:
    """The admin client of `acme`, whose program `sprint` has metrics calls and nps and five people."""
    r = admin.call("PUT", f"/v1/programs/{PROGRAM_ID}", PROGRAM)
    assert r.status == 200, r.text
    r = admin.call("PUT", f"/v1/programs/{PROGRAM_ID}/roster", ROSTER, content_type="text/csv")
    assert r.status == 200, r.text
    return admin


def stored(store: Any, people: list[str] = PEOPLE) -> dict[str, Any]:
    """Every stored submission of the program, by id."""
    return {s.submission.id: s for p in people for s in store.list_submissions(ORG, PROGRAM_ID, p)}


def new_key(client: Client, *scopes: str) -> tuple[str, str]:
    r = client.call("POST", "/v1/keys", {"name": "test", "scopes": list(scopes)})
    assert r.status == 201, r.text
    return r.json["id"], r.json["key"]


def submit_token(client: Client) -> str:
    r = client.call("POST", f"/v1/programs/{PROGRAM_ID}/tokens/submit")
    assert r.status == 200, r.text
    return str(r.json["token"])


def assert_error(r: Reply, status: int, field: str | None = None) -> dict[str, Any]:
    """The one error format: {"error": {"code", "message", "field"?}}."""
    assert r.status == status, r.text
    error = r.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert error.get("field") == field, error
    return dict(error)


def errors_by_row(r: Reply) -> dict[int, dict[str, Any]]:
    return {e["row"]: e for e in r.json["errors"]}


# --- JSON ---------------------------------------------------------------------------------------------------


def test_a_json_submission_is_stored_with_its_values_source_and_sender(sprint: Client, store: Any) -> None:
    at = recent()
    r = sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 3}})
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1 and r.json["accepted_ids"] == ["s1"]
    s = store.get_submission(ORG, PROGRAM_ID, "ann", "s1")
    assert s.submission.values == {"calls": 3.0}
    assert s.submission.at == datetime.fromisoformat(at)
    assert s.source == "json"
    assert s.by.startswith("key:")


def test_a_json_list_accepts_the_good_rows_and_reports_each_bad_one_by_row_and_field(
    sprint: Client, store: Any
) -> None:
    r = sprint.call(
        "POST",
        SUBMISSIONS,
        [
            {"id": "ok1", "participant": "ann", "at": recent(), "values": {"calls": 1}},
            {"id": "bad2", "participant": "zed", "at": recent(), "values": {"calls": 1}},
            {"id": "ok3", "participant": "bob", "at": recent(), "values": {"nps": 9.5}},
            {"id": "bad4", "participant": "bob", "at": recent(), "values": {"colls": 1}},
            {"id": "bad5", "participant": "cat", "at": "yesterday", "values": {"calls": 1}},
        ],
    )
    assert r.status == 200, r.text
    assert (r.json["accepted"], r.json["rejected"]) == (2, 3)
    errors = errors_by_row(r)
    assert sorted(errors) == [2, 4, 5]
    assert errors[2]["field"] == "participant" and "zed" in errors[2]["reason"]
    assert errors[4]["field"] == "colls" and "not a metric" in errors[4]["reason"]
    assert errors[5]["field"] == "at"
    assert sorted(stored(store)) == ["ok1", "ok3"]


def test_a_row_with_one_bad_value_is_refused_whole_so_nothing_is_half_written(sprint: Client, store: Any) -> None:
    r = sprint.call(
        "POST", SUBMISSIONS, {"id": "half", "participant": "ann", "at": recent(), "values": {"calls": 2, "nps": "x"}}
    )
    error = assert_error(r, 422, "nps")
    assert error["code"]
    assert r.json["errors"] == [{"row": 1, "field": "nps", "reason": r.json["errors"][0]["reason"]}]
    assert stored(store) == {}


def test_when_every_row_is_rejected_the_answer_is_422_in_the_error_format_with_the_rows(sprint: Client) -> None:
    r = sprint.call("POST", SUBMISSIONS, [{"participant": "zed", "at": recent(), "values": {"calls": 1}}])
    assert_error(r, 422, "participant")
    assert r.json["accepted"] == 0 and r.json["rejected"] == 1
    assert r.json["errors"][0]["row"] == 1


def test_1001_json_submissions_are_refused_with_413_and_nothing_is_written(sprint: Client, store: Any) -> None:
    rows = [{"participant": "ann", "at": recent(), "values": {"calls": 1}}] * 1001
    assert_error(sprint.call("POST", SUBMISSIONS, rows), 413)
    assert stored(store) == {}


def test_1000_json_submissions_in_one_request_are_accepted(sprint: Client, store: Any) -> None:
    rows = [{"id": f"k{i}", "participant": PEOPLE[i % 5], "at": recent(), "values": {"calls": i}} for i in range(1000)]
    r = sprint.call("POST", SUBMISSIONS, rows)
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1000
    assert store.count_submissions(ORG, PROGRAM_ID, PEOPLE) == 1000


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"participant": "ann", "values": [1, 2]}, None),
        ({"participant": "ann", "values": "calls=1"}, None),
        ({"participant": "ann", "values": {"calls": "3"}}, "calls"),
        ({"participant": "ann", "values": {"calls": True}}, "calls"),
        ({"participant": "ann", "values": {"calls": None}}, "calls"),
        ({"participant": "ann", "values": {"calls": {"n": 1}}}, "calls"),
        ({"participant": 7, "values": {"calls": 1}}, "participant"),
        ({"participant": ["ann"], "values": {"calls": 1}}, "participant"),
        ({"id": 5, "participant": "ann", "values": {"calls": 1}}, "id"),
        ({"participant": "ann", "at": 1700000000, "values": {"calls": 1}}, "at"),
        ({"participant": "ann", "values": {"calls": 1e300}}, "calls"),
        ({"participant": "ann", "values": {"calls": 10**300}}, "calls"),
        ({"participant": "ann", "values": {}}, None),
        ({"participant": "ann", "value": {"calls": 1}}, None),
        ({"participant": "ann", "values": {"participant": 1}}, None),
        ({"participant": "x" * 5000, "values": {"calls": 1}}, "participant"),
        ({"id": "x" * 5000, "participant": "ann", "values": {"calls": 1}}, "id"),
        ("ann", None),
        (None, None),
        (3, None),
    ],
)
def test_a_json_row_of_the_wrong_shape_or_type_is_rejected_with_422_never_500(
    sprint: Client, store: Any, item: Any, field: str | None
) -> None:
    if isinstance(item, dict) and "at" not in item:
        item = {**item, "at": recent()}
    good = {"id": "good", "participant": "bob", "at": recent(), "values": {"calls": 1}}
    r = sprint.call("POST", SUBMISSIONS, [item, good])
    assert r.status == 200, r.text
    assert (r.json["accepted"], r.json["rejected"]) == (1, 1), r.json
    (error,) = r.json["errors"]
    assert error["row"] == 1 and error["reason"]
    assert error.get("field") == field, error
    assert list(stored(store)) == ["good"]


# --- idempotency --------------------------------------------------------------------------------------------


def test_posting_the_same_500_submissions_twice_stores_500(sprint: Client, store: Any) -> None:
    at = recent()
    rows = [{"id": f"sub-{i:03d}", "participant": PEOPLE[i % 5], "at": at, "values": {"calls": i}} for i in range(500)]
    first = sprint.call("POST", SUBMISSIONS, rows)
    assert first.status == 200, first.text
    assert (first.json["accepted"], first.json["duplicates"]) == (500, 0)
    again = sprint.call("POST", SUBMISSIONS, rows)
    assert again.status == 200, again.text
    assert (again.json["accepted"], again.json["duplicates"], again.json["rejected"]) == (0, 500, 0)
    assert sorted(again.json["duplicate_ids"]) == sorted(r["id"] for r in rows)
    assert sum(len(store.list_submissions(ORG, PROGRAM_ID, p)) for p in PEOPLE) == 500
    assert store.count_submissions(ORG, PROGRAM_ID, PEOPLE) == 500


def test_an_idempotency_key_makes_a_retried_request_write_nothing(sprint: Client, store: Any) -> None:
    rows = [{"participant": p, "at": recent(), "values": {"calls": 1}} for p in PEOPLE[:3]]
    headers = {"Idempotency-Key": "batch-42"}
    first = sprint.call("POST", SUBMISSIONS, rows, headers=headers)
    assert first.status == 200 and first.json["accepted"] == 3, first.text
    again = sprint.call("POST", SUBMISSIONS, rows, headers=headers)
    assert again.status == 200, again.text
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 3)
    assert len(stored(store)) == 3


def test_a_retry_that_leaves_at_to_the_server_is_still_a_duplicate(sprint: Client, store: Any) -> None:
    item = {"participant": "ann", "values": {"calls": 4}}
    first = sprint.call("POST", SUBMISSIONS, item, headers={"Idempotency-Key": "no-at"})
    assert first.status == 200 and first.json["accepted"] == 1, first.text
    again = sprint.call("POST", SUBMISSIONS, item, headers={"Idempotency-Key": "no-at"})
    assert again.status == 200, again.text
    assert (again.json["accepted"], again.json["duplicates"], again.json["rejected"]) == (0, 1, 0)
    assert list(stored(store)) == ["no-at"]


def test_the_same_id_with_different_content_is_rejected_on_id_and_nothing_is_overwritten(
    sprint: Client, store: Any
) -> None:
    at = recent()
    assert (
        sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 1}}).status
        == 200
    )
    r = sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 99}})
    assert_error(r, 422, "id")
    (error,) = r.json["errors"]
    assert error["row"] == 1 and error["field"] == "id" and "s1" in error["reason"]
    assert store.get_submission(ORG, PROGRAM_ID, "ann", "s1").submission.values == {"calls": 1.0}


def test_the_same_idempotency_key_with_a_different_body_is_rejected_on_id(sprint: Client, store: Any) -> None:
    headers = {"Idempotency-Key": "once"}
    at = recent()
    assert (
        sprint.call(
            "POST", SUBMISSIONS, {"participant": "ann", "at": at, "values": {"calls": 1}}, headers=headers
        ).status
        == 200
    )
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": at, "values": {"calls": 2}}, headers=headers)
    assert_error(r, 422, "id")
    assert store.get_submission(ORG, PROGRAM_ID, "ann", "once").submission.values == {"calls": 1.0}


def test_the_same_id_twice_in_one_request_is_rejected_the_second_time(sprint: Client, store: Any) -> None:
    at = recent()
    row = {"id": "twice", "participant": "ann", "at": at, "values": {"calls": 1}}
    r = sprint.call("POST", SUBMISSIONS, [row, {**row, "values": {"calls": 2}}])
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1
    assert errors_by_row(r)[2]["field"] == "id"
    assert store.get_submission(ORG, PROGRAM_ID, "ann", "twice").submission.values == {"calls": 1.0}


def test_an_idempotency_key_longer_than_100_characters_is_a_400(sprint: Client) -> None:
    r = sprint.call(
        "POST", SUBMISSIONS, {"participant": "ann", "values": {"calls": 1}}, headers={"Idempotency-Key": "k" * 101}
    )
    assert_error(r, 400, "Idempotency-Key")


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(days=-34), True),
        (timedelta(days=-36), False),
        (timedelta(minutes=2), True),
        (timedelta(minutes=10), False),
        (timedelta(days=-3650), False),
    ],
)
def test_at_must_be_within_the_default_35_day_window_and_at_most_5_minutes_ahead(
    sprint: Client, store: Any, offset: timedelta, accepted: bool
) -> None:
    at = (datetime.now(UTC) + offset).isoformat()
    r = sprint.call("POST", SUBMISSIONS, {"id": "w", "participant": "ann", "at": at, "values": {"calls": 1}})
    if accepted:
        assert r.status == 200 and r.json["accepted"] == 1, r.text
    else:
        assert_error(r, 422, "at")
    assert len(stored(store)) == int(accepted)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "2026-02-30", "soon", ""])
def test_an_impossible_or_extreme_at_is_rejected_not_a_500(sprint: Client, at: str) -> None:
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": at, "values": {"calls": 1}})
    if at == "":  # an empty `at` means now
        assert r.status == 200, r.text
    else:
        assert_error(r, 422, "at")


def test_the_back_dating_window_is_set_per_program_with_backdate_days(sprint: Client) -> None:
    assert sprint.call("PUT", f"/v1/programs/{PROGRAM_ID}", {**PROGRAM, "backdate_days": 3}).status == 200
    four_days = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    two_days = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": four_days, "values": {"calls": 1}})
    assert_error(r, 422, "at")
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": two_days, "values": {"calls": 1}})
    assert r.status == 200 and r.json["accepted"] == 1, r.text


def test_a_deactivated_participant_is_refused(sprint: Client, store: Any) -> None:
    r = sprint.call("DELETE", f"/v1/programs/{PROGRAM_ID}/participants/eve")
    assert r.status == 200, r.text
    r = sprint.call("POST", SUBMISSIONS, {"participant": "eve", "at": recent(), "values": {"calls": 1}})
    error = assert_error(r, 422, "participant")
    assert "active" in error["message"]
    assert stored(store) == {}


def test_a_program_that_does_not_exist_is_a_404(sprint: Client) -> None:
    body = {"participant": "ann", "values": {"calls": 1}}
    assert_error(sprint.call("POST", "/v1/programs/nope/submissions", body), 404)
    assert_error(sprint.call("POST", f"/v1/programs/{'x' * 2000}/submissions", body), 404)


# --- CSV ----------------------------------------------------------------------------------------------------


def test_a_csv_with_3_bad_rows_among_100_stores_97_and_reports_3_precise_errors(sprint: Client, store: Any) -> None:
    at = recent()
    lines = ["id,participant,at,calls,nps"]
    lines += [f"c{i:03d},{PEOPLE[i % 5]},{at},{i},7" for i in range(100)]
    # Rows as in the file, the header being row 1: data row i is file row i + 2.
    lines[11] = f"c010,zed,{at},10,7"  # row 12: not on the roster
    lines[41] = f"c040,ann,{at},lots,7"  # row 42: not a number
    lines[88] = f"c087,bob,{at},87,inf"  # row 89: not finite
    r = sprint.call("POST", SUBMISSIONS, "\n".join(lines) + "\n", content_type="text/csv")
    assert r.status == 200, r.text
    assert (r.json["accepted"], r.json["rejected"]) == (97, 3)
    errors = errors_by_row(r)
    assert sorted(errors) == [12, 42, 89]
    assert errors[12]["field"] == "participant" and "zed" in errors[12]["reason"]
    assert errors[42]["field"] == "calls" and "lots" in errors[42]["reason"]
    assert errors[89]["field"] == "nps" and "finite" in errors[89]["reason"]
    kept = stored(store)
    assert len(kept) == 97
    assert not {"c010", "c040", "c087"} & set(kept)
    assert all(s.source == "csv" for s in kept.values())


def test_a_csv_header_with_an_unknown_column_rejects_the_file_with_a_row_1_error(sprint: Client, store: Any) -> None:
    body = f"participant,at,calls,colls\nann,{recent()},1,2\n"
    r = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv")
    assert_error(r, 422, "colls")
    assert r.json["errors"] == [{"row": 1, "field": "colls", "reason": r.json["errors"][0]["reason"]}]
    assert stored(store) == {}


def test_a_csv_header_without_participant_is_a_row_1_error(sprint: Client) -> None:
    r = sprint.call("POST", SUBMISSIONS, f"who,at,calls\nann,{recent()},1\n", content_type="text/csv")
    assert_error(r, 422)
    assert [e["row"] for e in r.json["errors"]] == [1]


def test_csv_rows_keep_their_file_numbers_across_blank_lines_and_quoted_cells(sprint: Client) -> None:
    at = recent()
    body = f'participant,at,calls\n"ann",{at},1\n\nzed,{at},1\nbob,{at},2\n'
    r = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 2
    assert list(errors_by_row(r)) == [4]


def test_a_csv_over_several_chunks_numbers_rows_as_in_the_file(sprint: Client, store: Any) -> None:
    at = recent()
    lines = ["participant,at,calls"] + [f"{PEOPLE[i % 5]},{at},{i}" for i in range(1200)]
    lines[1100] = f"zed,{at},1"  # row 1101
    r = sprint.call("POST", SUBMISSIONS, "\n".join(lines), content_type="text/csv; charset=utf-8")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1199
    assert list(errors_by_row(r)) == [1101]
    assert store.count_submissions(ORG, PROGRAM_ID, PEOPLE) == 1199


def test_a_csv_row_with_more_cells_than_the_header_is_rejected(sprint: Client) -> None:
    at = recent()
    r = sprint.call("POST", SUBMISSIONS, f"participant,at,calls\nann,{at},1,5\nbob,{at},2\n", content_type="text/csv")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1
    assert list(errors_by_row(r)) == [2]


def test_a_csv_posted_twice_with_ids_writes_nothing_the_second_time(sprint: Client, store: Any) -> None:
    at = recent()
    body = "\ufeffid,participant,at,calls\n" + "".join(f"r{i},{PEOPLE[i]},{at},{i}\n" for i in range(5))
    assert sprint.call("POST", SUBMISSIONS, body, content_type="text/csv").json["accepted"] == 5
    again = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv")
    assert again.status == 200, again.text
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 5)
    assert len(stored(store)) == 5


def test_a_csv_posted_twice_under_an_idempotency_key_writes_nothing_the_second_time(sprint: Client, store: Any) -> None:
    at = recent()
    body = "participant,at,calls\n" + "".join(f"{p},{at},1\n" for p in PEOPLE)
    headers = {"Idempotency-Key": "upload-1"}
    assert sprint.call("POST", SUBMISSIONS, body, content_type="text/csv", headers=headers).json["accepted"] == 5
    again = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv", headers=headers)
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 5)
    assert len(stored(store)) == 5


# --- HTML forms ---------------------------------------------------------------------------------------------


def form(**fields: str) -> str:
    return urlencode(fields)


def test_a_form_with_a_public_submit_token_gets_a_thank_you_page(sprint: Client, store: Any) -> None:
    token = submit_token(sprint)
    r = sprint.call("POST", SUBMISSIONS, form(participant="ann", calls="3", token=token), key="", content_type=FORM)
    assert r.status == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Thank you" in r.text
    (s,) = stored(store).values()
    assert s.source == "form" and s.submission.values == {"calls": 3.0}
    assert s.by == f"token:{PROGRAM_ID}:submit"


def test_a_form_redirects_303_to_an_allowed_return_to(sprint: Client, store: Any) -> None:
    token = submit_token(sprint)
    back = "https://intranet.example.com/scores/team?x=1"
    r = sprint.call(
        "POST", SUBMISSIONS, form(participant="ann", calls="3", token=token, return_to=back), key="", content_type=FORM
    )
    assert r.status == 303, r.text
    assert r.headers["location"] == back + "&podium=accepted"
    assert len(stored(store)) == 1


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example.com/scores/",
        "https://intranet.example.com.evil.com/scores/",
        "https://intranet.example.com/other",
        "https://intranet.example.com/scores/\r\nSet-Cookie: a=b",
        "javascript:alert(1)",
    ],
)
def test_a_form_with_a_disallowed_return_to_gets_the_page_not_a_redirect(sprint: Client, back: str) -> None:
    token = submit_token(sprint)
    r = sprint.call(
        "POST", SUBMISSIONS, form(participant="ann", calls="3", token=token, return_to=back), key="", content_type=FORM
    )
    assert r.status == 200, r.text
    assert "location" not in r.headers
    assert "Thank you" in r.text


def test_a_form_with_bad_input_gets_a_page_listing_the_problems_escaped(sprint: Client, store: Any) -> None:
    token = submit_token(sprint)
    back = "https://intranet.example.com/scores/"
    body = form(participant="<b>zed</b>", calls="x", token=token, return_to=back)
    r = sprint.call("POST", SUBMISSIONS, body, key="", content_type=FORM)
    assert r.status == 422, r.text
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "not accepted" in r.text
    assert "<b>zed</b>" not in r.text and "&lt;b&gt;zed&lt;/b&gt;" in r.text
    assert stored(store) == {}


def test_a_rotated_submit_token_stops_working(sprint: Client, store: Any) -> None:
    old = submit_token(sprint)
    new = submit_token(sprint)
    assert_error(
        sprint.call("POST", SUBMISSIONS, form(participant="ann", calls="1", token=old), key="", content_type=FORM), 401
    )
    r = sprint.call("POST", SUBMISSIONS, form(participant="ann", calls="1", token=new), key="", content_type=FORM)
    assert r.status == 200, r.text
    assert len(stored(store)) == 1


def test_a_form_without_a_token_is_401(sprint: Client) -> None:
    assert_error(sprint.call("POST", SUBMISSIONS, form(participant="ann", calls="1"), key="", content_type=FORM), 401)


def test_a_submit_token_is_only_good_for_its_own_program(sprint: Client) -> None:
    other = {**PROGRAM, "id": "relay", "name": "Relay"}
    assert sprint.call("PUT", "/v1/programs/relay", other).status == 200
    token = submit_token(sprint)
    r = sprint.call(
        "POST",
        "/v1/programs/relay/submissions",
        form(participant="ann", calls="1", token=token),
        key="",
        content_type=FORM,
    )
    assert_error(r, 404)


# --- corrections --------------------------------------------------------------------------------------------


def test_voiding_writes_a_correction_and_keeps_the_original(sprint: Client, store: Any) -> None:
    at = recent()
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 5}})
    r = sprint.call("POST", void_path("s1"), {"participant": "ann", "reason": "typo"})
    assert r.status == 200, r.text
    assert r.json["voided"] == "s1" and r.json["already_voided"] is False
    original = store.get_submission(ORG, PROGRAM_ID, "ann", "s1")
    assert original.submission.values == {"calls": 5.0} and original.submission.voids is None
    correction = store.get_submission(ORG, PROGRAM_ID, "ann", r.json["correction"])
    assert correction.submission.voids == "s1"
    assert correction.source == "void"
    assert correction.reason == "typo"
    assert correction.by.startswith("key:")
    assert correction.submission.at == original.submission.at


def test_voiding_twice_reports_already_voided_and_writes_one_correction(sprint: Client, store: Any) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 5}})
    first = sprint.call("POST", void_path("s1"), {"participant": "ann", "reason": "typo"})
    again = sprint.call("POST", void_path("s1"), {"participant": "ann", "reason": "again"})
    assert first.status == again.status == 200, again.text
    assert again.json["already_voided"] is True
    assert again.json["correction"] == first.json["correction"]
    assert len(stored(store)) == 2
    assert store.get_submission(ORG, PROGRAM_ID, "ann", first.json["correction"]).reason == "typo"


@pytest.mark.parametrize(
    ("submission", "participant"),
    [("nope", "ann"), ("s1", "bob"), ("s1", "zed"), ("x" * 2000, "ann"), ("s1", "y" * 3000)],
)
def test_voiding_an_unknown_submission_is_a_404(sprint: Client, store: Any, submission: str, participant: str) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 5}})
    assert_error(sprint.call("POST", void_path(submission), {"participant": participant}), 404)
    assert list(stored(store)) == ["s1"]


def test_a_public_token_cannot_void(sprint: Client, store: Any) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 5}})
    token = submit_token(sprint)
    assert_error(sprint.call("POST", void_path("s1"), {"participant": "ann"}, key=token), 403)
    assert list(stored(store)) == ["s1"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"reason": "x"}, 422, "participant"),
        ({"participant": 5}, 422, "participant"),
        ({"participant": "ann", "reason": 5}, 422, "reason"),
        ({"participant": "ann", "reason": "r" * 501}, 422, "reason"),
        (["ann"], 400, None),
        ("{", 400, None),
    ],
)
def test_a_malformed_correction_is_refused(sprint: Client, body: Any, status: int, field: str | None) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 5}})
    r = sprint.call("POST", void_path("s1"), body, content_type="application/json")
    assert_error(r, status, field)


def test_a_row_voiding_a_submission_must_name_an_existing_one(sprint: Client, store: Any) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 5}})
    r = sprint.call(
        "POST",
        SUBMISSIONS,
        [
            {"id": "v1", "participant": "ann", "at": recent(), "voids": "s1"},
            {"id": "v2", "participant": "ann", "at": recent(), "voids": "ghost"},
        ],
    )
    assert r.status == 200, r.text
    assert r.json["accepted_ids"] == ["v1"]
    assert errors_by_row(r)[2]["field"] == "voids"


# --- errors -------------------------------------------------------------------------------------------------

TEN_MB = b"[" + b" " * (10 * 1024 * 1024) + b"]"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"participant": "ann", "values": {"calls": 1}', "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": 1e400}}', "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": -1e400}}', "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": ' + str(10**400).encode() + b"}}", "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": ' + b"9" * 5000 + b"}}", "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": NaN}}', "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": Infinity}}', "application/json", 400),
        (b'{"participant": "ann", "values": {"calls": -Infinity}}', "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"", "application/json", 400),
        (None, "application/json", 400),
        (None, None, 400),
        (b"", "text/csv", 400),
        (b"", FORM, 400),
        (b'{"participant": "ann"}', "application/xml", 415),
        (b'{"participant": "ann"}', "text/plain", 415),
        (b'{"participant": "ann"}', None, 415),
        (TEN_MB, "application/json", 413),
        (TEN_MB, "text/csv", 413),
        (TEN_MB, FORM, 413),
    ],
)
def test_bad_input_gets_a_4xx_in_the_one_error_format_never_a_500(
    sprint: Client, store: Any, body: bytes | None, content_type: str | None, status: int
) -> None:
    r = sprint.call("POST", SUBMISSIONS, body, content_type=content_type)
    assert_error(r, status)
    assert stored(store) == {}


def test_no_key_is_401(sprint: Client) -> None:
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "values": {"calls": 1}}, key="")
    assert_error(r, 401)
    assert "Bearer" in r.headers.get("www-authenticate", "")


@pytest.mark.parametrize(
    "key",
    [
        "nonsense",
        "pdk_acme_0000_secret",
        "pdk_ACME_x_y",
        f"pdk_acme_{'k' * 2000}_secret",
        f"pdt_acme_{'p' * 2000}_submit_secret",
        "pdt_acme_sprint_admin_secret",
    ],
)
def test_an_invalid_key_is_401(sprint: Client, key: str) -> None:
    assert_error(sprint.call("POST", SUBMISSIONS, {"participant": "ann", "values": {"calls": 1}}, key=key), 401)


def test_a_revoked_key_is_401(sprint: Client, store: Any) -> None:
    key_id, key = new_key(sprint, "submit")
    body = {"participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert sprint.call("POST", SUBMISSIONS, body, key=key).status == 200
    assert sprint.call("DELETE", f"/v1/keys/{key_id}").status == 200
    assert_error(sprint.call("POST", SUBMISSIONS, body, key=key), 401)
    assert len(stored(store)) == 1


def test_a_read_scope_key_cannot_post_or_void(sprint: Client, store: Any) -> None:
    _, key = new_key(sprint, "read")
    body = {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert_error(sprint.call("POST", SUBMISSIONS, body, key=key), 403)
    assert_error(sprint.call("POST", SUBMISSIONS, f"participant,calls\nann,1\n", key=key, content_type="text/csv"), 403)
    sprint.call("POST", SUBMISSIONS, body)
    assert_error(sprint.call("POST", void_path("s1"), {"participant": "ann"}, key=key), 403)
    assert list(stored(store)) == ["s1"]


def test_a_submit_scope_key_can_post_csv_and_void(sprint: Client, store: Any) -> None:
    _, key = new_key(sprint, "submit")
    body = f"id,participant,at,calls\ns1,ann,{recent()},1\n"
    assert sprint.call("POST", SUBMISSIONS, body, key=key, content_type="text/csv").status == 200
    r = sprint.call("POST", void_path("s1"), {"participant": "ann", "reason": "dup"}, key=key)
    assert r.status == 200, r.text
    assert len(stored(store)) == 2


def test_a_key_of_another_org_finds_no_program_and_writes_nothing(sprint: Client, store: Any) -> None:
    sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(), "values": {"calls": 1}})
    other = bootstrap_org("globex")
    body = {"id": "s2", "participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert_error(sprint.call("POST", SUBMISSIONS, body, key=other), 404)
    csv_body = f"participant,at,calls\nann,{recent()},1\n"
    assert_error(sprint.call("POST", SUBMISSIONS, csv_body, key=other, content_type="text/csv"), 404)
    assert_error(sprint.call("POST", void_path("s1"), {"participant": "ann"}, key=other), 404)
    assert list(stored(store)) == ["s1"]
    assert store.list_submissions("globex", PROGRAM_ID, "ann") == []


def test_every_answer_is_json_except_form_pages(sprint: Client) -> None:
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": recent(), "values": {"calls": 1}})
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.text)["accepted"] == 1
