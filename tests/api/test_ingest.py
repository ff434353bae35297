"""Ingestion through the HTTP API: JSON, HTML forms and CSV; idempotency; validation; corrections; errors.

Every test runs on moto and, when PODIUM_DYNAMODB_ENDPOINT is set, on DynamoDB Local (see `backend`).
"""

from __future__ import annotations

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
    assert r.headers["content-type"].startswith("application/json")
    assert r.json["accepted"] == 1 and r.json["accepted_ids"] == ["s1"]
    s = store.get_submission(ORG, PROGRAM_ID, "ann", "s1")
    assert s.submission.values == {"calls": 3.0}
    assert s.submission.at == datetime.fromisoformat(at)
    assert s.source == "json"
    assert s.by.startswith("key:")


# Each bad row, and the field its error names (None: the row as a whole).
BAD_JSON_ROWS: list[tuple[Any, str | None]] = [
    ({"participant": "zed", "values": {"calls": 1}}, "participant"),
    ({"participant": "ann", "values": {"colls": 1}}, "colls"),
    ({"participant": "ann", "at": "yesterday", "values": {"calls": 1}}, "at"),
    ({"participant": "ann", "values": [1, 2]}, "values"),
    ({"participant": "ann", "values": "calls=1"}, "values"),
    ({"participant": "ann", "values": {"calls": "3"}}, "calls"),
    ({"participant": "ann", "values": {"calls": True}}, "calls"),
    ({"participant": "ann", "values": {"calls": {"n": 1}}}, "calls"),
    ({"participant": "ann", "values": {"calls": 1e300}}, "calls"),
    ({"participant": "ann", "values": {"calls": 10**300}}, "calls"),
    ({"participant": 7, "values": {"calls": 1}}, "participant"),
    ({"participant": ["ann"], "values": {"calls": 1}}, "participant"),
    ({"values": {"calls": 1}}, "participant"),
    ({"id": 5, "participant": "ann", "values": {"calls": 1}}, "id"),
    ({"participant": "ann", "at": 1700000000, "values": {"calls": 1}}, "at"),
    ({"participant": "ann", "values": {}}, None),
    ({"participant": "ann", "values": {"calls": None}}, None),
    ({"participant": "ann", "value": {"calls": 1}}, "value"),
    ({"participant": "ann", "values": {"participant": "bob"}}, "values"),
    ({"participant": "ann", "values": {"calls": 1, "!row": 99}}, "values"),
    ({"participant": "ann", "values": {"calls": 1, "!problem": "mine"}}, "values"),
    ({"participant": "x" * 5000, "values": {"calls": 1}}, "participant"),
    ({"id": "x" * 5000, "participant": "ann", "values": {"calls": 1}}, "id"),
    ({"participant": "ann", "voids": "x" * 5000}, "voids"),
    ("ann", None),
    (None, None),
    (3, None),
]


def test_a_json_list_keeps_the_good_rows_and_reports_each_bad_one_by_row_and_field(sprint: Client, store: Any) -> None:
    at = recent()
    rows = [{"id": "first", "participant": "ann", "at": at, "values": {"calls": 1}}]
    rows += [{"at": at, **item} if isinstance(item, dict) and "at" not in item else item for item, _ in BAD_JSON_ROWS]
    rows += [{"id": "last", "participant": "bob", "at": at, "values": {"nps": 9.5, "calls": None}}]
    r = sprint.call("POST", SUBMISSIONS, rows)
    assert r.status == 200, r.text
    assert (r.json["accepted"], r.json["rejected"]) == (2, len(BAD_JSON_ROWS))
    assert [e["row"] for e in r.json["errors"]] == list(range(2, len(BAD_JSON_ROWS) + 2))
    for error, (item, field) in zip(r.json["errors"], BAD_JSON_ROWS, strict=True):
        assert error.get("field") == field and error["reason"], (str(item)[:80], error)
    assert sorted(stored(store)) == ["first", "last"]
    assert stored(store)["last"].submission.values == {"nps": 9.5}


def test_a_row_with_one_bad_value_is_refused_whole_so_nothing_is_half_written(sprint: Client, store: Any) -> None:
    r = sprint.call(
        "POST", SUBMISSIONS, {"id": "half", "participant": "ann", "at": recent(), "values": {"calls": 2, "nps": "9"}}
    )
    # Nothing taken: 422 in the error format, with the per-row results beside it.
    error = assert_error(r, 422, "nps")
    assert error["code"] == "invalid"
    assert (r.json["accepted"], r.json["rejected"]) == (0, 1)
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(1, "nps")]
    assert stored(store) == {}


def test_1000_json_submissions_are_accepted_and_1001_are_refused_with_413(sprint: Client, store: Any) -> None:
    at = recent()
    rows = [{"id": f"k{i}", "participant": PEOPLE[i % 5], "at": at, "values": {"calls": i}} for i in range(1001)]
    assert_error(sprint.call("POST", SUBMISSIONS, rows), 413)
    assert stored(store) == {}
    r = sprint.call("POST", SUBMISSIONS, rows[:1000])
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1000
    assert store.count_submissions(ORG, PROGRAM_ID, PEOPLE) == 1000


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
    changed = sprint.call("POST", SUBMISSIONS, {**item, "values": {"calls": 5}}, headers={"Idempotency-Key": "no-at"})
    assert assert_error(changed, 422, "Idempotency-Key")["code"] == "idempotency_key_reused"
    assert list(stored(store)) == ["no-at"]
    assert stored(store)["no-at"].submission.values == {"calls": 4.0}


def test_an_id_is_unique_in_its_program_whoever_it_names(sprint: Client, store: Any) -> None:
    """A retry that corrects the participant must not count twice: the id is taken, for everyone."""
    at = recent()
    first = sprint.call("POST", SUBMISSIONS, {"id": "deal-7", "participant": "ann", "at": at, "values": {"calls": 3}})
    assert first.status == 200 and first.json["accepted"] == 1, first.text
    other = sprint.call("POST", SUBMISSIONS, {"id": "deal-7", "participant": "bob", "at": at, "values": {"calls": 3}})
    assert_error(other, 422, "id")
    assert "deal-7" in other.json["errors"][0]["reason"]
    # In one request of several rows, the second use is refused by row; the rest is taken.
    rows = [
        {"id": "deal-7", "participant": "cat", "at": at, "values": {"calls": 1}},
        {"id": "deal-8", "participant": "cat", "at": at, "values": {"calls": 1}},
    ]
    r = sprint.call("POST", SUBMISSIONS, rows)
    assert r.status == 200, r.text
    assert (r.json["accepted_ids"], [(e["row"], e["field"]) for e in r.json["errors"]]) == (["deal-8"], [(1, "id")])
    # The owner's own retry is still a duplicate, and the log holds each id once.
    again = sprint.call("POST", SUBMISSIONS, {"id": "deal-7", "participant": "ann", "at": at, "values": {"calls": 3}})
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 1), again.text
    assert sorted((sid, s.submission.participant) for sid, s in stored(store).items()) == [
        ("deal-7", "ann"),
        ("deal-8", "cat"),
    ]


def test_an_idempotency_key_sent_again_for_another_participant_is_refused(sprint: Client, store: Any) -> None:
    headers = {"Idempotency-Key": "form-123"}
    at = recent()
    first = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "at": at, "values": {"calls": 2}}, headers=headers)
    assert first.status == 200 and first.json["accepted"] == 1, first.text
    r = sprint.call("POST", SUBMISSIONS, {"participant": "bob", "at": at, "values": {"calls": 2}}, headers=headers)
    error = assert_error(r, 422, "Idempotency-Key")
    assert error["code"] == "idempotency_key_reused" and "form-123" in error["message"]
    assert [s.submission.participant for s in stored(store).values()] == ["ann"]


def test_only_ids_the_sender_chose_are_claimed(sprint: Client, store: Any) -> None:
    """A claim costs a write: ids Podium generates are unique already and get none."""
    at = recent()
    sprint.call("POST", SUBMISSIONS, [{"participant": p, "at": at, "values": {"calls": 1}} for p in PEOPLE])
    sprint.call("POST", SUBMISSIONS, {"id": "mine", "participant": "ann", "at": at, "values": {"calls": 1}})
    sprint.call(
        "POST", SUBMISSIONS, {"participant": "bob", "at": at, "values": {"calls": 1}}, headers={"Idempotency-Key": "k1"}
    )
    from podium.adapters.keys import CLAIM_SK, submission_claim_key

    claims = [(i.pk, i.sk) for i in store.claims.scan(store.claims.sk == CLAIM_SK)]
    assert sorted(claims) == sorted(submission_claim_key(ORG, PROGRAM_ID, sid) for sid in ("mine", "k1"))
    assert len(stored(store)) == len(PEOPLE) + 2


def test_concurrent_senders_of_one_id_for_different_participants_store_it_once(sprint: Client, store: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from podium.domain.submissions import Submission
    from podium.services.ports import PutOutcome, StoredSubmission

    at = datetime.now(UTC) - timedelta(minutes=5)
    attempts = [StoredSubmission(Submission("race", p, at, {"calls": 1}), "json", at, "test") for p in PEOPLE * 2]
    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        outcomes = list(pool.map(lambda s: store.put_submissions(ORG, PROGRAM_ID, [s])[0], attempts))
    owners = [s.submission.participant for s in stored(store).values()]
    assert len(owners) == 1
    assert outcomes.count(PutOutcome.CREATED) == 1
    won = [a.submission.participant for a, o in zip(attempts, outcomes, strict=True) if o is PutOutcome.CREATED]
    assert won == owners
    assert all(
        o is PutOutcome.DUPLICATE
        for a, o in zip(attempts, outcomes, strict=True)
        if a.submission.participant == owners[0] and o is not PutOutcome.CREATED
    )
    assert all(
        o is PutOutcome.CONFLICT
        for a, o in zip(attempts, outcomes, strict=True)
        if a.submission.participant != owners[0]
    )


def test_an_id_used_again_with_different_content_is_rejected_on_id_and_nothing_is_overwritten(
    sprint: Client, store: Any
) -> None:
    at = recent()
    first = sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 1}})
    assert first.status == 200, first.text
    r = sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": at, "values": {"calls": 99}})
    assert_error(r, 422, "id")
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(1, "id")]
    assert "s1" in r.json["errors"][0]["reason"]
    # Through the Idempotency-Key header, the same.
    headers = {"Idempotency-Key": "once"}
    assert (
        sprint.call(
            "POST", SUBMISSIONS, {"participant": "bob", "at": at, "values": {"calls": 1}}, headers=headers
        ).status
        == 200
    )
    r = sprint.call("POST", SUBMISSIONS, {"participant": "bob", "at": at, "values": {"calls": 2}}, headers=headers)
    assert assert_error(r, 422, "Idempotency-Key")["code"] == "idempotency_key_reused"
    # And twice in one request: the first is kept, the second refused.
    row = {"id": "twice", "participant": "cat", "at": at, "values": {"calls": 1}}
    r = sprint.call("POST", SUBMISSIONS, [row, {**row, "values": {"calls": 2}}])
    assert r.status == 200, r.text
    assert r.json["accepted_ids"] == ["twice"]
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(2, "id")]
    values = {sid: s.submission.values for sid, s in stored(store).items()}
    assert values == {"s1": {"calls": 1.0}, "once": {"calls": 1.0}, "twice": {"calls": 1.0}}


# --- validation ---------------------------------------------------------------------------------------------


def test_at_must_be_within_the_default_35_day_window_and_at_most_5_minutes_ahead(sprint: Client, store: Any) -> None:
    now = datetime.now(UTC)
    good = [now - timedelta(days=34), now - timedelta(minutes=1), now + timedelta(minutes=2)]
    bad = [now - timedelta(days=36), now + timedelta(minutes=10), now - timedelta(days=3650)]
    extreme = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "2026-02-30", "soon", "12:00"]
    ats = [t.isoformat() for t in good + bad] + extreme
    rows = [{"id": f"w{i}", "participant": "ann", "at": at, "values": {"calls": 1}} for i, at in enumerate(ats)]
    r = sprint.call("POST", SUBMISSIONS, rows)
    assert r.status == 200, r.text
    assert r.json["accepted_ids"] == ["w0", "w1", "w2"]
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(n, "at") for n in range(4, len(ats) + 1)]
    assert sorted(stored(store)) == ["w0", "w1", "w2"]


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
    r = sprint.call("POST", SUBMISSIONS, f"participant,at,calls\neve,{recent()},1\n", content_type="text/csv")
    assert_error(r, 422, "participant")
    assert stored(store) == {}


def test_a_program_that_does_not_exist_is_a_404(sprint: Client) -> None:
    body = {"participant": "ann", "values": {"calls": 1}}
    assert_error(sprint.call("POST", "/v1/programs/nope/submissions", body), 404)
    assert_error(sprint.call("POST", f"/v1/programs/{'x' * 2000}/submissions", body), 404)
    assert_error(sprint.call("POST", "/v1/programs/nope/submissions", "participant\n", content_type="text/csv"), 404)


# --- CSV ----------------------------------------------------------------------------------------------------


def test_a_csv_with_3_bad_rows_among_100_stores_97_and_reports_3_precise_errors(sprint: Client, store: Any) -> None:
    at = recent()
    lines = ["id,participant,at,calls,nps"]
    lines += [f"c{i:03d},{PEOPLE[i % 5]},{at},{i},7" for i in range(100)]
    # Rows as in the file, the header being row 1: lines[n] is row n + 1.
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


@pytest.mark.parametrize(
    ("header", "field"),
    [("participant,at,calls,colls", "colls"), ("who,at,calls,colls", None), ("participant,calls,at,calls", "calls")],
)
def test_a_csv_header_with_an_unknown_or_repeated_column_rejects_the_file_with_a_row_1_error(
    sprint: Client, store: Any, header: str, field: str | None
) -> None:
    r = sprint.call("POST", SUBMISSIONS, f"{header}\nann,{recent()},1,2\n", content_type="text/csv")
    assert_error(r, 422, field)
    assert [e["row"] for e in r.json["errors"]] == [1]
    assert r.json["errors"][0].get("field") == field
    assert stored(store) == {}


def test_csv_rows_keep_their_file_numbers_across_blank_lines_and_ragged_rows(sprint: Client) -> None:
    at = recent()
    body = f'participant,at,calls\n"ann",{at},1\n\nzed,{at},1\nbob,{at},2,9\ncat,{at}\ndan,{at},"4"\n\n'
    r = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 2
    # Row 4: not on the roster; row 5: a cell too many; row 6: no value.
    assert [e["row"] for e in r.json["errors"]] == [4, 5, 6]


def test_a_csv_row_the_csv_reader_cannot_read_is_reported_and_the_rows_before_it_kept(sprint: Client) -> None:
    at = recent()
    body = f"participant,at,calls\nann,{at},1\nbob,{at},{'9' * 200_000}\ncat,{at},3\n"
    r = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 1
    assert [e["row"] for e in r.json["errors"]] == [3]


def test_a_csv_over_several_chunks_numbers_rows_as_in_the_file(sprint: Client, store: Any) -> None:
    at = recent()
    lines = ["participant,at,calls"] + [f"{PEOPLE[i % 5]},{at},{i}" for i in range(560)]
    lines[540] = f"zed,{at},1"  # row 541, in the second chunk of 500
    r = sprint.call("POST", SUBMISSIONS, "\n".join(lines), content_type="text/csv; charset=utf-8")
    assert r.status == 200, r.text
    assert r.json["accepted"] == 559
    assert list(errors_by_row(r)) == [541]
    assert store.count_submissions(ORG, PROGRAM_ID, PEOPLE) == 559


def test_a_csv_posted_again_writes_nothing_whether_it_has_ids_or_an_idempotency_key(sprint: Client, store: Any) -> None:
    at = recent()
    with_ids = "\ufeffid,participant,calls\n" + "".join(f"r{i},{PEOPLE[i]},{i}\n" for i in range(5))
    without = "participant,at,calls\n" + "".join(f"{p},{at},1\n" for p in PEOPLE)
    headers = {"Idempotency-Key": "upload-1"}
    for body, h in ((with_ids, {}), (without, headers)):
        assert sprint.call("POST", SUBMISSIONS, body, content_type="text/csv", headers=h).json["accepted"] == 5
        again = sprint.call("POST", SUBMISSIONS, body, content_type="text/csv", headers=h)
        assert again.status == 200, again.text
        assert (again.json["accepted"], again.json["duplicates"]) == (0, 5)
    assert len(stored(store)) == 10


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
    for back, location in [
        ("https://intranet.example.com/scores/", "https://intranet.example.com/scores/?podium=accepted"),
        (
            "https://intranet.example.com/scores/t?x=1#top",
            "https://intranet.example.com/scores/t?x=1&podium=accepted#top",
        ),
    ]:
        body = form(participant="ann", calls="3", token=token, return_to=back)
        r = sprint.call("POST", SUBMISSIONS, body, key="", content_type=FORM)
        assert r.status == 303, r.text
        assert r.headers["location"] == location
    assert len(stored(store)) == 2


def test_a_form_with_a_disallowed_return_to_gets_the_page_not_a_redirect(sprint: Client, store: Any) -> None:
    token = submit_token(sprint)
    disallowed = [
        "https://evil.example.com/scores/",
        "https://intranet.example.com.evil.com/scores/",
        "https://intranet.example.com/other",
        "http://intranet.example.com/scores/",
        "https://intranet.example.com/scores/\r\nSet-Cookie: a=b",
        "https://intranet.example.com/scores/\u00e9",
        "javascript:alert(1)",
    ]
    for back in disallowed:
        body = form(participant="ann", calls="3", token=token, return_to=back)
        r = sprint.call("POST", SUBMISSIONS, body, key="", content_type=FORM)
        assert r.status == 200, (back, r.text)
        assert "location" not in r.headers, back
        assert "Thank you" in r.text
    assert len(stored(store)) == len(disallowed)


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
    marker = sprint.call(
        "POST",
        SUBMISSIONS,
        form(participant="ann", calls="1", token=token, **{"!problem": "x"}),
        key="",
        content_type=FORM,
    )
    assert marker.status == 422, marker.text
    assert stored(store) == {}


def test_only_the_current_submit_token_of_the_program_works(sprint: Client, store: Any) -> None:
    assert sprint.call("PUT", "/v1/programs/relay", {**PROGRAM, "id": "relay", "name": "Relay"}).status == 200
    old = submit_token(sprint)
    new = submit_token(sprint)
    post = form(participant="ann", calls="1")
    assert_error(sprint.call("POST", SUBMISSIONS, post, key="", content_type=FORM), 401)
    assert_error(sprint.call("POST", SUBMISSIONS, f"{post}&token={old}", key="", content_type=FORM), 401)
    other = sprint.call("POST", "/v1/programs/relay/submissions", f"{post}&token={new}", key="", content_type=FORM)
    assert_error(other, 404)
    r = sprint.call("POST", SUBMISSIONS, f"{post}&token={new}", key="", content_type=FORM)
    assert r.status == 200, r.text
    assert len(stored(store)) == 1


# --- corrections --------------------------------------------------------------------------------------------


@pytest.fixture
def s1(sprint: Client) -> Client:
    """`sprint` with one submission, s1: ann made 5 calls."""
    r = sprint.call("POST", SUBMISSIONS, {"id": "s1", "participant": "ann", "at": recent(30), "values": {"calls": 5}})
    assert r.status == 200, r.text
    return sprint


def test_voiding_writes_a_correction_and_keeps_the_original(s1: Client, store: Any) -> None:
    r = s1.call("POST", void_path("s1"), {"participant": "ann", "reason": "typo"})
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


def test_voiding_twice_reports_already_voided_and_writes_one_correction(s1: Client, store: Any) -> None:
    first = s1.call("POST", void_path("s1"), {"participant": "ann", "reason": "typo"})
    again = s1.call("POST", void_path("s1"), {"participant": "ann", "reason": "again"})
    assert first.status == again.status == 200, again.text
    assert again.json["already_voided"] is True
    assert again.json["correction"] == first.json["correction"]
    assert len(stored(store)) == 2
    assert store.get_submission(ORG, PROGRAM_ID, "ann", first.json["correction"]).reason == "typo"


def test_voiding_an_unknown_submission_is_a_404(s1: Client, store: Any) -> None:
    for submission, participant in [
        ("nope", "ann"),
        ("s1", "bob"),
        ("s1", "zed"),
        ("x" * 2000, "ann"),
        ("s1", "y" * 3000),
    ]:
        r = s1.call("POST", void_path(submission), {"participant": participant})
        assert_error(r, 404)
    assert list(stored(store)) == ["s1"]


def test_a_public_token_cannot_void(s1: Client, store: Any) -> None:
    token = submit_token(s1)
    assert_error(s1.call("POST", void_path("s1"), {"participant": "ann"}, key=token), 403)
    assert list(stored(store)) == ["s1"]


def test_a_malformed_correction_is_refused(s1: Client, store: Any) -> None:
    cases: list[tuple[Any, str | None, int, str | None]] = [
        ({"reason": "x"}, "application/json", 422, "participant"),
        ({"participant": 5}, "application/json", 422, "participant"),
        ({"participant": "ann", "reason": 5}, "application/json", 422, "reason"),
        ({"participant": "ann", "reason": "r" * 501}, "application/json", 422, "reason"),
        (["ann"], "application/json", 400, None),
        ("{", "application/json", 400, None),
        (b"9" * 5000, "application/json", 400, None),
        (None, "application/json", 400, None),
        ("participant=ann", FORM, 415, None),
    ]
    for body, content_type, status, field in cases:
        assert_error(s1.call("POST", void_path("s1"), body, content_type=content_type), status, field)
    assert list(stored(store)) == ["s1"]


def test_a_row_voiding_a_submission_must_name_an_existing_one_and_sits_at_its_time(s1: Client, store: Any) -> None:
    r = s1.call(
        "POST",
        SUBMISSIONS,
        [
            {"id": "v1", "participant": "ann", "voids": "s1"},
            {"id": "v2", "participant": "ann", "at": recent(), "voids": "ghost"},
            {"id": "v3", "participant": "bob", "at": recent(), "voids": "s1"},
        ],
    )
    assert r.status == 200, r.text
    assert r.json["accepted_ids"] == ["v1"]
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [(2, "voids"), (3, "voids")]
    assert sorted(stored(store)) == ["s1", "v1"]
    # Without its own `at`, the correction falls in the voided submission's period.
    assert stored(store)["v1"].submission.at == stored(store)["s1"].submission.at
    again = s1.call("POST", SUBMISSIONS, {"id": "v1", "participant": "ann", "voids": "s1"})
    assert again.status == 200 and again.json["duplicates"] == 1, again.text


def test_a_submitted_id_cannot_take_the_id_a_void_will_give_its_correction(s1: Client, store: Any) -> None:
    r = s1.call("POST", SUBMISSIONS, {"id": "!void:s1", "participant": "ann", "values": {"calls": 1}})
    assert_error(r, 422, "id")
    voided = s1.call("POST", void_path("s1"), {"participant": "ann"})
    assert voided.status == 200 and voided.json["already_voided"] is False, voided.text
    assert store.get_submission(ORG, PROGRAM_ID, "ann", voided.json["correction"]).submission.voids == "s1"


def test_a_public_submit_token_cannot_void_through_a_row(s1: Client, store: Any) -> None:
    token = submit_token(s1)
    row = {"id": "c1", "participant": "ann", "voids": "s1"}
    assert_error(s1.call("POST", SUBMISSIONS, row, key=token), 422, "voids")
    body = form(participant="ann", voids="s1", id="c2", token=token)
    assert s1.call("POST", SUBMISSIONS, body, key="", content_type=FORM).status == 422
    assert list(stored(store)) == ["s1"]


def test_a_row_may_void_a_row_sent_before_it_in_the_same_request(sprint: Client, store: Any) -> None:
    csv_text = f"id,participant,at,calls,voids\na1,ann,{recent()},5,\nc1,ann,,,a1\nb1,bob,{recent()},2,\n"
    r = sprint.call("POST", SUBMISSIONS, csv_text, content_type="text/csv")
    assert r.status == 200, r.text
    assert r.json["accepted_ids"] == ["a1", "c1", "b1"] and r.json["errors"] == []
    assert stored(store)["c1"].submission.at == stored(store)["a1"].submission.at


# --- errors -------------------------------------------------------------------------------------------------

TEN_MB = b"[" + b" " * (10 * 1024 * 1024) + b"]"
JSON = "application/json"
# What is sent, as what, and the status it must get: never a 500.
BAD_REQUESTS: list[tuple[str, bytes | None, str | None, int]] = [
    ("malformed JSON", b'{"participant": "ann", "values": {"calls": 1}', JSON, 400),
    ("1e400", b'{"participant": "ann", "values": {"calls": 1e400}}', JSON, 400),
    ("-1e400", b'{"participant": "ann", "values": {"calls": -1e400}}', JSON, 400),
    ("10**400", b'{"participant": "ann", "values": {"calls": ' + str(10**400).encode() + b"}}", JSON, 400),
    ("5,000 digits", b'{"participant": "ann", "values": {"calls": ' + b"9" * 5000 + b"}}", JSON, 400),
    ("NaN", b'{"participant": "ann", "values": {"calls": NaN}}', JSON, 400),
    ("lone surrogate in an id", b'{"id": "x\\ud800", "participant": "ann", "values": {"calls": 1}}', JSON, 400),
    ("lone surrogate in a metric", b'{"participant": "ann", "values": {"\\udc00": 1}}', JSON, 400),
    ("Infinity", b'{"participant": "ann", "values": {"calls": Infinity}}', JSON, 400),
    ("-Infinity", b'{"participant": "ann", "values": {"calls": -Infinity}}', JSON, 400),
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON, 400),
    ("not UTF-8", b'\xff\xfe{"participant": "ann"}', JSON, 400),
    ("not UTF-8 CSV", b"participant,calls\n\xff,1\n", "text/csv", 400),
    ("an empty list", b"[]", JSON, 400),
    ("an empty body", b"", JSON, 400),
    ("no body", None, JSON, 400),
    ("no body, no type", None, None, 400),
    ("an empty CSV", b"", "text/csv", 400),
    ("a CSV of a header alone", b"participant,calls\n", "text/csv", 400),
    ("a CSV of a header and blank lines", b"participant,calls\n\n\n", "text/csv", 400),
    ("an empty form", b"", FORM, 400),
    ("XML", b'{"participant": "ann"}', "application/xml", 415),
    ("plain text", b'{"participant": "ann"}', "text/plain", 415),
    ("no content type", b'{"participant": "ann"}', None, 415),
    ("10 MB of JSON", TEN_MB, JSON, 413),
    ("10 MB of CSV", TEN_MB, "text/csv", 413),
    ("10 MB of form", TEN_MB, FORM, 413),
]


def test_bad_input_gets_a_4xx_in_the_one_error_format_never_a_500(sprint: Client, store: Any) -> None:
    failures = []
    for label, body, content_type, status in BAD_REQUESTS:
        r = sprint.call("POST", SUBMISSIONS, body, content_type=content_type)
        try:
            assert_error(r, status)
        except (AssertionError, KeyError, ValueError):
            failures.append(f"{label}: {r.status} {r.text[:200]}")
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann"}, headers={"Idempotency-Key": "k" * 101})
    assert_error(r, 400, "Idempotency-Key")
    assert failures == []
    assert stored(store) == {}


def test_no_key_is_401(sprint: Client) -> None:
    r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "values": {"calls": 1}}, key="")
    assert_error(r, 401)
    assert "Bearer" in r.headers.get("www-authenticate", "")


def test_an_invalid_key_is_401(sprint: Client) -> None:
    keys = [
        "nonsense",
        "pdk_acme_0000_secret",
        "pdk_ACME_x_y",
        f"pdk_acme_{'k' * 2000}_secret",
        f"pdt_acme_{'p' * 2000}_submit_secret",
        "pdt_acme_sprint_admin_secret",
    ]
    for key in keys:
        r = sprint.call("POST", SUBMISSIONS, {"participant": "ann", "values": {"calls": 1}}, key=key)
        assert_error(r, 401)


def test_a_revoked_key_is_401(sprint: Client, store: Any) -> None:
    key_id, key = new_key(sprint, "submit")
    body = {"participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert sprint.call("POST", SUBMISSIONS, body, key=key).status == 200
    assert sprint.call("DELETE", f"/v1/keys/{key_id}").status == 200
    assert_error(sprint.call("POST", SUBMISSIONS, body, key=key), 401)
    assert len(stored(store)) == 1


def test_a_read_scope_key_cannot_post_or_void(s1: Client, store: Any) -> None:
    _, key = new_key(s1, "read")
    body = {"id": "s2", "participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert_error(s1.call("POST", SUBMISSIONS, body, key=key), 403)
    assert_error(s1.call("POST", SUBMISSIONS, "participant,calls\nann,1\n", key=key, content_type="text/csv"), 403)
    assert_error(s1.call("POST", void_path("s1"), {"participant": "ann"}, key=key), 403)
    assert list(stored(store)) == ["s1"]


def test_a_submit_scope_key_can_post_csv_and_void(sprint: Client, store: Any) -> None:
    _, key = new_key(sprint, "submit")
    body = f"id,participant,at,calls\ns1,ann,{recent()},1\n"
    assert sprint.call("POST", SUBMISSIONS, body, key=key, content_type="text/csv").status == 200
    r = sprint.call("POST", void_path("s1"), {"participant": "ann", "reason": "dup"}, key=key)
    assert r.status == 200, r.text
    assert len(stored(store)) == 2


def test_a_key_of_another_org_finds_no_program_and_writes_nothing(s1: Client, store: Any) -> None:
    other = bootstrap_org("globex")
    body = {"id": "s2", "participant": "ann", "at": recent(), "values": {"calls": 1}}
    assert_error(s1.call("POST", SUBMISSIONS, body, key=other), 404)
    csv_body = f"participant,at,calls\nann,{recent()},1\n"
    assert_error(s1.call("POST", SUBMISSIONS, csv_body, key=other, content_type="text/csv"), 404)
    assert_error(s1.call("POST", void_path("s1"), {"participant": "ann"}, key=other), 404)
    assert list(stored(store)) == ["s1"]
    assert store.list_submissions("globex", PROGRAM_ID, "ann") == []
