"""The admin API over HTTP: keys and tokens, programs, rosters, participants and the error format.

Every test speaks to the handlers through the template's routes (LocalApi), on moto and on DynamoDB Local.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from conftest import ROOT, Client, Reply, bootstrap_org

PROGRAM: dict[str, Any] = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "metrics": [{"key": "calls"}, {"key": "deals", "points": {"per_unit": 10, "cap": 100}}],
}
PROGRAM_YAML = """\
id: sprint
name: Sprint
timezone: UTC
metrics:
  - key: calls
  - key: deals
    points: {per_unit: 10, cap: 100}
"""
ROSTER_CSV = "id,name,email,team,division\nann,Ann,ann@example.com,Red,North\nbob,Bob,,Blue,North\ncat,Cat,,Red,North\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def secret_of(key: str) -> str:
    """The secret part of a key or token: what follows its last underscore."""
    return key.rsplit("_", 1)[1]


def assert_error(r: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error format: `{"error": {"code", "message", "field"?}}`, as JSON, with the status."""
    assert r.status == status, r.text
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert set(error) <= {"code", "message", "field", "problems"}, error
    if "field" in error:
        assert isinstance(error["field"], str), error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def put_program(admin: Client, program: str = "sprint", **changes: Any) -> Reply:
    r = admin.call("PUT", f"/v1/programs/{program}", {**PROGRAM, "id": program, **changes})
    assert r.status == 200, r.text
    return r


def make_key(admin: Client, *scopes: str, name: str = "a key") -> dict[str, Any]:
    r = admin.call("POST", "/v1/keys", {"name": name, "scopes": list(scopes)})
    assert r.status == 201, r.text
    return dict(r.json)


def rotate(admin: Client, program: str, scope: str) -> str:
    r = admin.call("POST", f"/v1/programs/{program}/tokens/{scope}")
    assert r.status == 200, r.text
    assert r.json["program"] == program and r.json["scope"] == scope
    return str(r.json["token"])


def roster(admin: Client, program: str = "sprint") -> dict[str, dict[str, Any]]:
    r = admin.call("GET", f"/v1/programs/{program}/roster")
    assert r.status == 200, r.text
    return {p["id"]: p for p in r.json["participants"]}


def table_text(table: str) -> str:
    """Every item of the table, as text: to prove a secret is stored nowhere."""
    client = boto3.client("dynamodb")
    items: list[Any] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return json.dumps(items)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- API keys -----------------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_stored_only_as_its_sha256(admin: Client, store: Any, backend: str) -> None:
    created = make_key(admin, "read", name="dashboard")
    key = created["key"]
    assert key.startswith("pdk_acme_")
    assert created["name"] == "dashboard" and created["scopes"] == ["read"] and created["revoked_at"] is None

    listed = admin.call("GET", "/v1/keys")
    assert listed.status == 200, listed.text
    assert created["id"] in {k["id"] for k in listed.json["keys"]}
    assert all("key" not in k for k in listed.json["keys"])
    assert secret_of(key) not in listed.text

    stored = store.get_key("acme", created["id"])
    assert stored.secret_hash != secret_of(key)
    assert stored.secret_hash == sha256(secret_of(key))
    assert secret_of(key) not in table_text(backend)


def test_keys_are_random(admin: Client) -> None:
    keys = [make_key(admin, "read")["key"] for _ in range(3)]
    assert len(set(keys)) == 3
    assert len({secret_of(k) for k in keys}) == 3
    assert all(len(secret_of(k)) >= 40 for k in keys)  # 256 bits, base64url


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer pdk_acme", "Bearer pdk_ACME_x_y"],
)
def test_a_request_without_a_valid_key_gets_401(admin: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = admin.call("GET", "/v1/programs", key="", headers=headers)
    assert_error(r, 401, "unauthenticated")
    assert r.headers.get("www-authenticate", "").startswith("Bearer")


def test_a_key_with_a_wrong_secret_gets_401(admin: Client) -> None:
    key = make_key(admin, "admin")["key"]
    forged = key[: -len(secret_of(key))] + secret_of(admin.key)
    assert_error(admin.call("GET", "/v1/programs", key=forged), 401)
    assert admin.call("GET", "/v1/programs", key=key).status == 200


def test_a_read_key_reads_but_cannot_change_anything(admin: Client) -> None:
    put_program(admin)
    read = make_key(admin, "read")["key"]
    assert admin.call("GET", "/v1/programs/sprint", key=read).status == 200
    assert admin.call("GET", "/v1/programs", key=read).status == 200
    assert admin.call("GET", "/v1/programs/sprint/roster", key=read).status == 200
    assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "name": "Changed"}, key=read), 403, "forbidden")
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", [], key=read), 403)
    assert_error(admin.call("POST", "/v1/programs/sprint/tokens/read", key=read), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["admin"]}, key=read), 403)
    assert_error(admin.call("GET", "/v1/keys", key=read), 403)
    assert_error(
        admin.call("POST", "/v1/programs/sprint/submissions", {"participant": "ann", "values": {"calls": 1}}, key=read),
        403,
    )
    assert admin.call("GET", "/v1/programs/sprint").json["definition"]["name"] == "Sprint"


def test_a_submit_key_submits_but_cannot_manage_keys(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    submit = make_key(admin, "submit")["key"]
    r = admin.call(
        "POST", "/v1/programs/sprint/submissions", {"participant": "ann", "values": {"calls": 1}}, key=submit
    )
    assert r.status == 200 and r.json["accepted"] == 1, r.text
    assert_error(admin.call("GET", "/v1/keys", key=submit), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["submit"]}, key=submit), 403)
    assert_error(admin.call("GET", "/v1/programs/sprint", key=submit), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint", PROGRAM, key=submit), 403)


def test_an_admin_key_can_do_everything(admin: Client) -> None:
    second = make_key(admin, "admin")["key"]
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM, key=second).status == 200
    assert (
        admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, key=second, content_type="text/csv").status == 200
    )
    r = admin.call(
        "POST", "/v1/programs/sprint/submissions", {"participant": "ann", "values": {"calls": 2}}, key=second
    )
    assert r.status == 200 and r.json["accepted"] == 1, r.text
    assert admin.call("GET", "/v1/programs/sprint", key=second).status == 200
    assert admin.call("GET", "/v1/keys", key=second).status == 200
    assert admin.call("POST", "/v1/programs/sprint/tokens/read", key=second).status == 200
    assert admin.call("POST", "/v1/keys", {"scopes": ["read"]}, key=second).status == 201


def test_a_key_can_hold_several_scopes(admin: Client) -> None:
    put_program(admin)
    both = make_key(admin, "submit", "read")
    assert both["scopes"] == ["read", "submit"]
    assert admin.call("GET", "/v1/programs/sprint", key=both["key"]).status == 200
    assert_error(admin.call("GET", "/v1/keys", key=both["key"]), 403)


def test_a_revoked_key_gets_401_and_the_others_keep_working(admin: Client) -> None:
    gone, kept = make_key(admin, "admin"), make_key(admin, "read")
    assert admin.call("GET", "/v1/programs", key=gone["key"]).status == 200
    r = admin.call("DELETE", f"/v1/keys/{gone['id']}")
    assert r.status == 200, r.text
    assert_error(admin.call("GET", "/v1/programs", key=gone["key"]), 401)
    assert admin.call("GET", "/v1/programs", key=kept["key"]).status == 200
    listed = {k["id"]: k for k in admin.call("GET", "/v1/keys").json["keys"]}
    assert listed[gone["id"]]["revoked_at"] is not None and listed[kept["id"]]["revoked_at"] is None
    assert admin.call("DELETE", f"/v1/keys/{gone['id']}").status == 200  # revoking twice is harmless
    assert_error(admin.call("DELETE", "/v1/keys/abcdef123456"), 404, "not_found")


def test_a_key_belongs_to_one_org(api: Client) -> None:
    a, b = bootstrap_org("org-a"), bootstrap_org("org-b")
    a_key = make_key(Client(api.api, a), "admin")
    b_ids = {k["id"] for k in api.call("GET", "/v1/keys", key=b).json["keys"]}
    assert a_key["id"] not in b_ids and len(b_ids) == 1
    # The org in the key is part of what is checked: moving A's key under B's name gets nowhere.
    forged = a_key["key"].replace("pdk_org-a_", "pdk_org-b_")
    assert_error(api.call("GET", "/v1/keys", key=forged), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["owner"]}, "scopes"),
        ({"scopes": "admin"}, "scopes"),
        ({"scopes": ["read"], "name": 5}, "name"),
        ({"scopes": ["read"], "name": "x" * 101}, "name"),
    ],
)
def test_a_key_with_bad_fields_is_refused_with_422(admin: Client, body: dict[str, Any], field: str) -> None:
    before = len(admin.call("GET", "/v1/keys").json["keys"])
    error = assert_error(admin.call("POST", "/v1/keys", body), 422)
    assert error["field"] == field
    assert len(admin.call("GET", "/v1/keys").json["keys"]) == before


def test_create_org_bootstraps_the_org_and_its_first_admin_key(api: Client, store: Any) -> None:
    from podium.domain.errors import Conflict, InvalidInput
    from podium.services.auth import create_org

    issued = create_org(store, "globex", "Globex", datetime.now(UTC))
    assert issued.token.startswith("pdk_globex_")
    assert store.get_org("globex").name == "Globex"
    keys = api.call("GET", "/v1/keys", key=issued.token)
    assert keys.status == 200, keys.text
    assert [(k["id"], k["scopes"]) for k in keys.json["keys"]] == [(issued.key.id, ["admin"])]
    assert store.get_key("globex", issued.key.id).secret_hash == sha256(secret_of(issued.token))

    with pytest.raises(Conflict):
        create_org(store, "globex", "Globex again", datetime.now(UTC))
    assert store.get_org("globex").name == "Globex"
    assert len(store.list_keys("globex")) == 1
    with pytest.raises(InvalidInput):
        create_org(store, "Not An Id", "x", datetime.now(UTC))


# --- program tokens -----------------------------------------------------------------------------------------


def test_a_read_token_reads_its_program_only(admin: Client) -> None:
    put_program(admin)
    put_program(admin, "other")
    token = rotate(admin, "sprint", "read")
    assert token.startswith("pdt_acme_sprint_read_")
    r = admin.call("GET", "/v1/programs/sprint", key=token)
    assert r.status == 200 and r.json["id"] == "sprint", r.text
    assert admin.call("GET", "/v1/programs/sprint/roster", key=token).status == 200
    assert_error(admin.call("GET", "/v1/programs/other", key=token), 404)
    assert_error(admin.call("GET", "/v1/programs/other/roster", key=token), 404)
    assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "name": "Mine now"}, key=token), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, key=token, content_type="text/csv"), 403)
    assert_error(admin.call("POST", "/v1/programs/sprint/tokens/read", key=token), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["admin"]}, key=token), 403)
    assert_error(admin.call("GET", "/v1/keys", key=token), 403)
    assert admin.call("GET", "/v1/programs/sprint").json["definition"]["name"] == "Sprint"


def test_a_submit_token_submits_to_its_program_only(admin: Client) -> None:
    put_program(admin)
    put_program(admin, "other")
    for program in ("sprint", "other"):
        admin.call("PUT", f"/v1/programs/{program}/roster", ROSTER_CSV, content_type="text/csv")
    token = rotate(admin, "sprint", "submit")
    body = {"participant": "ann", "values": {"calls": 1}}
    r = admin.call("POST", "/v1/programs/sprint/submissions", body, key=token)
    assert r.status == 200 and r.json["accepted"] == 1, r.text
    assert_error(admin.call("POST", "/v1/programs/other/submissions", body, key=token), 404)
    assert_error(admin.call("GET", "/v1/programs/sprint", key=token), 403)


def test_rotating_a_token_stops_the_old_one_at_once(admin: Client, store: Any) -> None:
    put_program(admin)
    old = rotate(admin, "sprint", "read")
    new = rotate(admin, "sprint", "read")
    assert old != new
    assert_error(admin.call("GET", "/v1/programs/sprint", key=old), 401)
    assert admin.call("GET", "/v1/programs/sprint", key=new).status == 200
    # Rotating one scope leaves the other alone.
    submit = rotate(admin, "sprint", "submit")
    assert admin.call("GET", "/v1/programs/sprint", key=new).status == 200
    record = store.get_program("acme", "sprint")
    assert record.token_hashes == {"read": sha256(secret_of(new)), "submit": sha256(secret_of(submit))}
    assert record.version == 1  # a token is not a change of the definition
    view = admin.call("GET", "/v1/programs/sprint")
    assert view.json["public_tokens"] == ["read", "submit"]
    assert secret_of(new) not in view.text and secret_of(submit) not in view.text


def test_a_token_survives_a_new_version_of_its_program(admin: Client) -> None:
    put_program(admin)
    token = rotate(admin, "sprint", "read")
    assert put_program(admin, name="Renamed").json["version"] == 2
    assert admin.call("GET", "/v1/programs/sprint", key=token).status == 200


@pytest.mark.parametrize("scope", ["admin", "owner"])
def test_a_public_token_is_for_submit_or_read_only(admin: Client, scope: str) -> None:
    put_program(admin)
    assert_error(admin.call("POST", f"/v1/programs/sprint/tokens/{scope}"), 422)


def test_a_token_for_an_unknown_program_is_404(admin: Client) -> None:
    assert_error(admin.call("POST", "/v1/programs/nope/tokens/read"), 404)


def test_a_forged_or_malformed_token_gets_401(admin: Client) -> None:
    put_program(admin)
    token = rotate(admin, "sprint", "read")
    for bad in (
        token.replace("_read_", "_submit_"),
        token.replace("pdt_acme_sprint_", "pdt_acme_other_"),
        token[:-2] + "xx",
        "pdt_acme_sprint_admin_" + secret_of(token),
        "pdt_acme",
    ):
        assert_error(admin.call("GET", "/v1/programs/sprint", key=bad), 401)


# --- programs -----------------------------------------------------------------------------------------------


def test_put_program_as_json_then_yaml_versions_each_change(admin: Client, store: Any) -> None:
    r = admin.call("PUT", "/v1/programs/sprint", PROGRAM)
    assert r.status == 200, r.text
    assert r.json["id"] == "sprint" and r.json["version"] == 1 and r.json["definition"] == PROGRAM
    created_at = r.json["created_at"]

    changed = PROGRAM_YAML.replace("name: Sprint", "name: Spring sprint")
    r = admin.call("PUT", "/v1/programs/sprint", changed, content_type="application/yaml")
    assert r.status == 200, r.text
    assert r.json["version"] == 2 and r.json["definition"]["name"] == "Spring sprint"
    assert r.json["created_at"] == created_at

    r = admin.call("PUT", "/v1/programs/sprint", changed, content_type="application/yaml")
    assert r.status == 200 and r.json["version"] == 2, r.text
    same_as_json = {**PROGRAM, "name": "Spring sprint"}
    r = admin.call("PUT", "/v1/programs/sprint", same_as_json)
    assert r.status == 200 and r.json["version"] == 2, r.text

    got = admin.call("GET", "/v1/programs/sprint")
    assert got.status == 200 and got.json["version"] == 2 and got.json["definition"] == same_as_json
    history = [i.sk for i in store.versions.query("O#acme#PROG#sprint")]
    assert history == ["V#000001", "V#000002"]


def test_put_program_as_yaml_creates_version_1(admin: Client) -> None:
    for content_type in ("application/yaml", "application/x-yaml; charset=utf-8", "text/yaml"):
        program = f"y-{len(content_type)}"
        text = PROGRAM_YAML.replace("id: sprint", f"id: {program}")
        r = admin.call("PUT", f"/v1/programs/{program}", text, content_type=content_type)
        assert r.status == 200, r.text
        assert r.json["version"] == 1 and r.json["definition"]["metrics"][1]["points"] == {"per_unit": 10, "cap": 100}


def test_the_id_may_be_left_out_of_the_body(admin: Client) -> None:
    body = {k: v for k, v in PROGRAM.items() if k != "id"}
    r = admin.call("PUT", "/v1/programs/sprint", body)
    assert r.status == 200 and r.json["definition"]["id"] == "sprint", r.text
    assert admin.call("PUT", "/v1/programs/sprint", PROGRAM).json["version"] == 1


def test_an_invalid_program_is_422_with_every_problem_by_path(admin: Client) -> None:
    bad = {
        **PROGRAM,
        "timezone": "Mars/Olympus",
        "metrics": [{"key": "calls", "points": {"cap": -1}}, {"key": "Bad Key"}, {"key": "calls"}],
        "colour": "red",
    }
    error = assert_error(admin.call("PUT", "/v1/programs/sprint", bad), 422, "invalid_program")
    paths = {p["field"] for p in error["problems"]}
    assert {"timezone", "metrics[0].points.cap", "metrics[1].key", "colour"} <= paths
    assert all(p["reason"] for p in error["problems"])
    assert error["field"] in paths
    assert_error(admin.call("GET", "/v1/programs/sprint"), 404)


def test_an_invalid_yaml_program_lists_its_problems_too(admin: Client) -> None:
    text = PROGRAM_YAML.replace("cap: 100", "cap: -5").replace("timezone: UTC", "timezone: Nowhere/City")
    error = assert_error(admin.call("PUT", "/v1/programs/sprint", text, content_type="application/yaml"), 422)
    assert {p["field"] for p in error["problems"]} == {"metrics[1].points.cap", "timezone"}


def test_an_id_in_the_body_that_differs_from_the_url_is_422(admin: Client) -> None:
    error = assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "id": "marathon"}), 422)
    assert error["field"] == "id"
    assert_error(admin.call("GET", "/v1/programs/sprint"), 404)
    assert_error(admin.call("GET", "/v1/programs/marathon"), 404)


def test_a_program_id_that_is_not_allowed_is_422(admin: Client) -> None:
    error = assert_error(admin.call("PUT", "/v1/programs/Big%20One", {**PROGRAM, "id": "Big%20One"}), 422)
    assert error["field"] == "id"


@pytest.mark.parametrize("body", [[PROGRAM], "just text", 42])
def test_a_program_that_is_not_a_mapping_is_422(admin: Client, body: Any) -> None:
    assert_error(admin.call("PUT", "/v1/programs/sprint", json.dumps(body), content_type="application/json"), 422)


def test_list_and_get_programs(admin: Client) -> None:
    assert admin.call("GET", "/v1/programs").json == {"programs": []}
    put_program(admin, "zeta")
    put_program(admin, "alpha", name="Alpha")
    r = admin.call("GET", "/v1/programs")
    assert r.status == 200, r.text
    assert [(p["id"], p["version"]) for p in r.json["programs"]] == [("alpha", 1), ("zeta", 1)]
    one = admin.call("GET", "/v1/programs/alpha")
    assert one.status == 200 and one.json == r.json["programs"][0]
    assert one.json["definition"]["name"] == "Alpha" and one.json["public_tokens"] == []
    assert_error(admin.call("GET", "/v1/programs/unknown"), 404, "not_found")


# --- roster -------------------------------------------------------------------------------------------------


def test_a_csv_roster_dry_run_shows_the_change_and_writes_nothing(admin: Client) -> None:
    put_program(admin)
    r = admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv", query="dry_run=true")
    assert r.status == 200, r.text
    assert r.json["dry_run"] is True and sorted(r.json["added"]) == ["ann", "bob", "cat"]
    assert roster(admin) == {}

    r = admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    assert r.status == 200 and r.json["dry_run"] is False and sorted(r.json["added"]) == ["ann", "bob", "cat"]
    people = roster(admin)
    assert people["ann"] == {
        "id": "ann",
        "name": "Ann",
        "email": "ann@example.com",
        "team": "Red",
        "division": "North",
        "active": True,
    }
    assert sorted(people) == ["ann", "bob", "cat"]

    # Ann moves to Blue, Bob leaves, Cat is unchanged, Dan joins.
    update = "id,name,email,team,division\nann,Ann,ann@example.com,Blue,North\ncat,Cat,,Red,North\ndan,Dan,,Red,North\n"
    r = admin.call("PUT", "/v1/programs/sprint/roster", update, content_type="text/csv", query="dry_run=1")
    assert r.status == 200, r.text
    change = r.json
    assert change["dry_run"] is True
    assert change["added"] == ["dan"]
    assert change["moved"] == [{"id": "ann", "from": "Red", "to": "Blue"}]
    assert change["removed"] == ["bob"]
    assert change["unchanged"] == 1 and change["updated"] == [] and change["reactivated"] == []
    assert roster(admin) == people

    r = admin.call("PUT", "/v1/programs/sprint/roster", update, content_type="text/csv")
    assert r.status == 200 and {**r.json, "dry_run": True} == change, r.text
    after = roster(admin)
    assert after["ann"]["team"] == "Blue"
    assert after["bob"]["active"] is False and after["bob"]["name"] == "Bob"  # deactivated, not deleted
    assert after["dan"]["active"] is True and after["cat"] == people["cat"]

    # The same upload again changes nothing.
    r = admin.call("PUT", "/v1/programs/sprint/roster", update, content_type="text/csv")
    assert r.json["unchanged"] == 3 and not (r.json["added"] or r.json["moved"] or r.json["removed"])


def test_a_json_roster_upload_works_the_same(admin: Client) -> None:
    put_program(admin)
    rows = [
        {"id": "ann", "name": "Ann", "team": "Red", "division": "North"},
        {"id": "bob", "name": "Bob", "team": "Blue", "division": "South"},
    ]
    r = admin.call("PUT", "/v1/programs/sprint/roster", rows, query="dry_run=true")
    assert r.status == 200 and r.json["added"] == ["ann", "bob"], r.text
    assert roster(admin) == {}
    assert admin.call("PUT", "/v1/programs/sprint/roster", rows).status == 200
    rows = [{"id": "ann", "name": "Ann", "team": "Blue", "division": "South"}]
    r = admin.call("PUT", "/v1/programs/sprint/roster", rows)
    assert r.json["moved"] == [{"id": "ann", "from": "Red", "to": "Blue"}] and r.json["removed"] == ["bob"], r.text
    people = roster(admin)
    assert people["ann"]["team"] == "Blue" and people["ann"]["division"] == "South"
    assert people["bob"]["active"] is False


def test_a_deactivated_participant_comes_back_when_uploaded_again(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    admin.call(
        "PUT", "/v1/programs/sprint/roster", "id,name,team,division\nann,Ann,Red,North\n", content_type="text/csv"
    )
    assert roster(admin)["bob"]["active"] is False
    r = admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    assert sorted(r.json["reactivated"]) == ["bob", "cat"], r.text
    assert all(p["active"] for p in roster(admin).values())


def test_a_deactivated_participant_cannot_submit(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    assert admin.call("DELETE", "/v1/programs/sprint/participants/bob").status == 200
    r = admin.call("POST", "/v1/programs/sprint/submissions", {"participant": "bob", "values": {"calls": 1}})
    assert r.status == 422 and r.json["accepted"] == 0, r.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("id,name,team,division\nann,Ann,Red,North\nbob,Bob,Red,South\n", "text/csv"),
        (
            json.dumps(
                [
                    {"id": "ann", "name": "Ann", "team": "Red", "division": "North"},
                    {"id": "bob", "name": "Bob", "team": "Red", "division": "South"},
                ]
            ),
            "application/json",
        ),
    ],
)
def test_a_team_in_two_divisions_is_422_and_nothing_is_written(admin: Client, body: str, content_type: str) -> None:
    put_program(admin)
    for dry_run in ("dry_run=true", ""):
        r = admin.call("PUT", "/v1/programs/sprint/roster", body, content_type=content_type, query=dry_run)
        error = assert_error(r, 422)
        assert "division" in json.dumps(error["problems"])
    assert roster(admin) == {}


def test_a_team_cannot_land_in_a_second_division_beside_people_kept_from_before(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/participants/ann", {"name": "Ann", "team": "Red", "division": "North"})
    # Team Red is in North (Ann): Bob cannot put it in South as well.
    assert_error(
        admin.call("PUT", "/v1/programs/sprint/participants/bob", {"name": "Bob", "team": "Red", "division": "South"}),
        422,
    )
    assert set(roster(admin)) == {"ann"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("id,name,colour\nann,Ann,red\n", "text/csv"),
        ("name,team\nAnn,Red\n", "text/csv"),
        ('[{"id": "ann", "name": "Ann", "colour": "red"}]', "application/json"),
        ('[{"name": "Ann"}]', "application/json"),
        ('[{"id": "a b", "name": "Ann"}]', "application/json"),
        ('[{"id": "ann", "name": "Ann"}, {"id": "ann", "name": "Ann again"}]', "application/json"),
    ],
)
def test_a_roster_with_bad_rows_is_422(admin: Client, body: str, content_type: str) -> None:
    put_program(admin)
    error = assert_error(admin.call("PUT", "/v1/programs/sprint/roster", body, content_type=content_type), 422)
    assert error["problems"]
    assert roster(admin) == {}


def test_a_roster_that_is_not_a_list_is_400(admin: Client) -> None:
    put_program(admin)
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", {"id": "ann", "name": "Ann"}), 400)


def test_the_roster_of_an_unknown_program_is_404(admin: Client) -> None:
    assert_error(admin.call("PUT", "/v1/programs/nope/roster", ROSTER_CSV, content_type="text/csv"), 404)
    assert_error(admin.call("GET", "/v1/programs/nope/roster"), 404)


# --- participants -------------------------------------------------------------------------------------------


def test_put_participant_creates_then_replaces(admin: Client) -> None:
    put_program(admin)
    url = "/v1/programs/sprint/participants/ann"
    r = admin.call("PUT", url, {"name": "Ann", "email": "ann@example.com", "team": "Red", "division": "North"})
    assert r.status == 201, r.text
    assert r.json == {
        "id": "ann",
        "name": "Ann",
        "email": "ann@example.com",
        "team": "Red",
        "division": "North",
        "active": True,
    }
    r = admin.call("PUT", url, {"name": "Ann Lee", "team": "Blue"})
    assert r.status == 200, r.text
    # Replaced whole: what is left out is cleared.
    expected = {"id": "ann", "name": "Ann Lee", "email": "", "team": "Blue", "division": None, "active": True}
    assert r.json == expected
    assert roster(admin) == {"ann": expected}


def test_put_participant_refuses_bad_input(admin: Client) -> None:
    put_program(admin)
    assert_error(admin.call("PUT", "/v1/programs/sprint/participants/ann", {"name": "Ann", "colour": "red"}), 422)
    assert_error(admin.call("PUT", "/v1/programs/sprint/participants/a%20b", {"name": "A"}), 422)
    assert_error(admin.call("PUT", "/v1/programs/sprint/participants/ann", {"name": "Ann", "team": 5.5}), 422)
    assert_error(admin.call("PUT", "/v1/programs/sprint/participants/ann", [{"name": "Ann"}]), 400)
    assert_error(admin.call("PUT", "/v1/programs/nope/participants/ann", {"name": "Ann"}), 404)
    assert roster(admin) == {}


def test_patch_participant_changes_only_what_it_names(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    r = admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"team": "Blue"})
    assert r.status == 200, r.text
    assert r.json == {
        "id": "ann",
        "name": "Ann",
        "email": "ann@example.com",
        "team": "Blue",
        "division": "North",
        "active": True,
    }
    r = admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"email": None, "name": "Ann Lee"})
    assert r.status == 200 and r.json["email"] == "" and r.json["name"] == "Ann Lee" and r.json["team"] == "Blue"
    r = admin.call("PATCH", "/v1/programs/sprint/participants/bob", {"active": False})
    assert r.status == 200 and r.json["active"] is False
    people = roster(admin)
    assert people["ann"]["name"] == "Ann Lee" and people["bob"]["active"] is False and people["cat"]["active"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"id": "zed"}, "id"),
        ({"active": "yes"}, "active"),
        ({"name": ""}, "name"),
        ({"team": 7}, "team"),
    ],
)
def test_patch_participant_refuses_unknown_or_bad_fields(admin: Client, changes: dict[str, Any], field: str) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    before = roster(admin)
    error = assert_error(admin.call("PATCH", "/v1/programs/sprint/participants/ann", changes), 422)
    assert error["field"] == field
    assert roster(admin) == before


def test_patch_participant_keeps_a_team_in_one_division(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    before = roster(admin)
    assert_error(admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"division": "South"}), 422)
    assert roster(admin) == before


def test_patch_or_delete_an_unknown_participant_is_404(admin: Client) -> None:
    put_program(admin)
    assert_error(admin.call("PATCH", "/v1/programs/sprint/participants/zed", {"name": "Zed"}), 404)
    assert_error(admin.call("DELETE", "/v1/programs/sprint/participants/zed"), 404)
    assert_error(admin.call("DELETE", "/v1/programs/nope/participants/zed"), 404)
    assert roster(admin) == {}


def test_delete_participant_deactivates_and_keeps_them(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/csv")
    r = admin.call("DELETE", "/v1/programs/sprint/participants/bob")
    assert r.status == 200 and r.json == {"id": "bob", "active": False}, r.text
    people = roster(admin)
    assert people["bob"]["active"] is False and people["bob"]["team"] == "Blue"
    assert admin.call("DELETE", "/v1/programs/sprint/participants/bob").status == 200
    assert roster(admin) == people


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/programs/sprint"),
        ("PUT", "/v1/programs/sprint/roster"),
        ("PUT", "/v1/programs/sprint/participants/ann"),
        ("PATCH", "/v1/programs/sprint/participants/ann"),
        ("POST", "/v1/keys"),
        ("POST", "/v1/programs/sprint/submissions"),
    ],
)
def test_body_errors_share_one_format(admin: Client, method: str, path: str) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/participants/ann", {"name": "Ann"})
    malformed = admin.call(method, path, b'{"name": "Ann",', content_type="application/json")
    assert assert_error(malformed, 400, "malformed_json")["message"].startswith("the body is not valid JSON")
    assert_error(admin.call(method, path, b"", content_type="application/json"), 400, "empty_body")
    assert_error(admin.call(method, path, b"", content_type=None), 400, "empty_body")
    assert_error(
        admin.call(method, path, b"<name>Ann</name>", content_type="application/xml"), 415, "unsupported_media_type"
    )
    assert_error(admin.call(method, path, b'{"name": NaN}', content_type="application/json"), 400, "malformed_json")
    assert admin.call("GET", "/v1/programs/sprint").json["version"] == 1
    assert list(roster(admin)) == ["ann"]


def test_malformed_yaml_is_400(admin: Client) -> None:
    r = admin.call("PUT", "/v1/programs/sprint", "id: sprint\nmetrics: [unclosed\n", content_type="application/yaml")
    assert_error(r, 400, "malformed_yaml")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/programs/sprint/nothing-here"),
        ("POST", "/v1/programs"),
        ("GET", "/v1/nope"),
        ("DELETE", "/v1/keys"),
    ],
)
def test_an_unknown_route_is_404_in_the_same_format(admin: Client, method: str, path: str) -> None:
    assert_error(admin.call(method, path), 404)


def test_an_unknown_path_inside_the_admin_function_is_404_in_the_same_format(admin: Client) -> None:
    from podium.local.apigw import http_api_event, routes_from_template, to_response

    route = next(r for r in admin.api.routes if r.route_key == "GET /v1/programs")
    assert route in routes_from_template(admin.api.template)
    event = http_api_event(route, "GET", "/v1/no-such-thing", {}, {"Authorization": f"Bearer {admin.key}"}, "", None)
    raw = to_response(admin.api.handler(route)(event, None))
    assert_error(Reply(raw), 404, "not_found")


def test_every_route_answers_401_in_the_same_format_without_a_key(api: Client) -> None:
    from podium.adapters.template import load_template
    from podium.local.apigw import routes_from_template

    for route in routes_from_template(load_template(ROOT / "template.yaml")):
        if route.path == "/v1/openapi.json":
            continue
        path = route.path.replace("{scope}", "read")
        for name in ("program", "participant", "submission", "key_id"):
            path = path.replace("{" + name + "}", "x")
        assert "{" not in path, f"add a value for the parameters of {route.route_key}"
        body = b"{}" if route.method in ("PUT", "POST", "PATCH") else None
        r = api.call(route.method, path, body, content_type="application/json" if body else None)
        assert_error(r, 401, "unauthenticated")


def test_the_openapi_document_is_served(api: Client) -> None:
    r = api.call("GET", "/v1/openapi.json")
    assert r.status == 200, r.text
    paths = r.json["paths"]
    assert "/v1/programs/{program}/roster" in paths and "/v1/keys/{key_id}" in paths
