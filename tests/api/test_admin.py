"""The admin API over HTTP: keys and tokens, programs, rosters, participants and the error format.

Every test speaks to the handlers through the template's routes (LocalApi), on moto and on DynamoDB Local.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from conftest import ROOT, Client, Reply, bootstrap_org
from podium.domain.errors import Conflict
from podium_cli.local.apigw import LambdaContext, http_api_event, routes_from_template, to_response
from podium_cli.template import load_template

ROUTES = routes_from_template(load_template(ROOT / "template.yaml"))
CATCH_ALL = ("$default", "/$default")  # an HttpApi event without Path takes every path no other route takes
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
    r: Reply = admin.call("PUT", f"/v1/programs/{program}", {**PROGRAM, "id": program, **changes})
    assert r.status == 200, r.text
    return r


def put_roster(admin: Client, csv: str = ROSTER_CSV, program: str = "sprint", query: str = "") -> Reply:
    r: Reply = admin.call("PUT", f"/v1/programs/{program}/roster", csv, content_type="text/csv", query=query)
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


def test_a_new_key_is_random_shown_once_and_stored_only_as_its_sha256(admin: Client, store: Any, backend: str) -> None:
    created = make_key(admin, "read", name="dashboard")
    key = created["key"]
    assert key.startswith(f"pdk_acme_{created['id']}_")
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

    others = [make_key(admin, "read")["key"] for _ in range(2)]
    secrets = {secret_of(k) for k in [key, *others]}
    assert len(secrets) == 3 and all(len(s) >= 40 for s in secrets)  # 256 random bits each


def test_a_request_without_a_valid_key_gets_401(admin: Client) -> None:
    key = make_key(admin, "admin")["key"]
    wrong_secret = key[: -len(secret_of(key))] + secret_of(admin.key)
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer pdk_acme"},
        {"Authorization": "Bearer pdk_ACME_x_y"},
        {"Authorization": f"Bearer {wrong_secret}"},
        {"Authorization": f"Bearer {key}x"},
        {"Authorization": f"Bearer {key[: -len(secret_of(key))]}\udc80"},  # not even UTF-8
    ):
        r = admin.call("GET", "/v1/programs", key="", headers=headers)
        assert_error(r, 401, "unauthenticated")
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), headers
    assert admin.call("GET", "/v1/programs", key=key).status == 200
    assert admin.call("GET", "/v1/programs", key="", headers={"authorization": f"bearer {key}"}).status == 200


def test_every_route_but_the_openapi_document_needs_a_key(api: Client) -> None:
    for route in ROUTES:
        if route.path in CATCH_ALL:  # a catch-all answers 404 to anyone
            continue
        path = route.path.replace("{scope}", "read")
        for name in ("org", "program", "participant", "submission", "key_id", "team", "division", "bulletin", "token"):
            path = path.replace("{" + name + "}", "x")
        assert "{" not in path, f"give the parameters of {route.route_key} a value here"
        body = b"{}" if route.method in ("PUT", "POST", "PATCH") else None
        r = api.call(route.method, path, body, content_type="application/json" if body else None)
        if route.path in ("/v1/openapi.json", "/v1", "/", "/p/{org}/{program}/widget.js"):
            assert r.status == 200, r.text
        elif route.path == "/p/{org}":
            assert r.status == 404, r.text  # an organisation's home lists its public programs: x has none
        elif route.path.startswith("/p/"):
            # Pages of a program that is not public need its link's token (or a key): a page saying so.
            assert r.status == 401, (route.path, r.text)
        elif route.path == "/u/{token}":
            # An unsubscribe link is its own credential (signed): a bad one is refused, with a page.
            assert r.status == 400 and "text/html" in r.headers["content-type"], (route.route_key, r.text)
        else:
            assert_error(r, 401, "unauthenticated")


def test_each_scope_allows_only_its_own_routes(admin: Client) -> None:
    put_program(admin)
    put_roster(admin)
    submission = {"participant": "ann", "values": {"calls": 1}}
    read, submit = make_key(admin, "read")["key"], make_key(admin, "submit")["key"]
    both, second_admin = make_key(admin, "submit", "read"), make_key(admin, "admin")["key"]

    assert admin.call("GET", "/v1/programs/sprint", key=read).status == 200
    assert admin.call("GET", "/v1/programs", key=read).status == 200
    assert admin.call("GET", "/v1/programs/sprint/roster", key=read).status == 200
    assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "name": "Changed"}, key=read), 403, "forbidden")
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, key=read, content_type="text/csv"), 403)
    assert_error(admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"name": "A"}, key=read), 403)
    assert_error(admin.call("DELETE", "/v1/programs/sprint/participants/ann", key=read), 403)
    assert_error(admin.call("POST", "/v1/programs/sprint/tokens/read", key=read), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["admin"]}, key=read), 403)
    assert_error(admin.call("GET", "/v1/keys", key=read), 403)
    assert_error(admin.call("POST", "/v1/programs/sprint/submissions", submission, key=read), 403)

    r = admin.call("POST", "/v1/programs/sprint/submissions", submission, key=submit)
    assert r.status == 200 and r.json["accepted"] == 1, r.text
    assert_error(admin.call("GET", "/v1/keys", key=submit), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["submit"]}, key=submit), 403)
    assert_error(admin.call("GET", "/v1/programs/sprint", key=submit), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint", PROGRAM, key=submit), 403)

    assert both["scopes"] == ["read", "submit"]
    assert admin.call("GET", "/v1/programs/sprint", key=both["key"]).status == 200
    assert admin.call("POST", "/v1/programs/sprint/submissions", submission, key=both["key"]).status == 200
    assert_error(admin.call("GET", "/v1/keys", key=both["key"]), 403)

    # What the others were refused left everything as it was.
    assert admin.call("GET", "/v1/programs/sprint").json["definition"]["name"] == "Sprint"
    ann = roster(admin)["ann"]
    assert ann["name"] == "Ann" and ann["active"] is True
    assert len(admin.call("GET", "/v1/keys").json["keys"]) == 5

    # An admin key can do all of it.
    assert admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "name": "New"}, key=second_admin).json["version"] == 2
    assert (
        admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, key=second_admin, content_type="text/csv").status
        == 200
    )
    assert admin.call("POST", "/v1/programs/sprint/submissions", submission, key=second_admin).status == 200
    assert admin.call("GET", "/v1/programs/sprint", key=second_admin).status == 200
    assert admin.call("GET", "/v1/programs/sprint/roster", key=second_admin).status == 200
    assert admin.call("PATCH", "/v1/programs/sprint/participants/ann", {"name": "A"}, key=second_admin).status == 200
    assert admin.call("GET", "/v1/keys", key=second_admin).status == 200
    assert admin.call("POST", "/v1/programs/sprint/tokens/read", key=second_admin).status == 200
    assert admin.call("POST", "/v1/keys", {"scopes": ["read"]}, key=second_admin).status == 201


def test_a_key_without_the_scope_gets_403_whatever_its_body(admin: Client) -> None:
    """The scope is checked before the body is read: who may not write learns nothing from a 400 or 422."""
    put_program(admin)
    read = make_key(admin, "read")["key"]
    for method, path in [
        ("PUT", "/v1/programs/sprint"),
        ("PUT", "/v1/programs/sprint/roster"),
        ("PUT", "/v1/programs/sprint/participants/ann"),
        ("PUT", "/v1/programs/sprint/participants/not%20an%20id"),
        ("PATCH", "/v1/programs/sprint/participants/ann"),
        ("POST", "/v1/programs/sprint/tokens/owner"),
        ("POST", "/v1/keys"),
    ]:
        for body, content_type in [(b"{not json", "application/json"), (b"", None), (b"x", "application/xml")]:
            r = admin.call(method, path, body, key=read, content_type=content_type)
            assert_error(r, 403, "forbidden")


def test_a_revoked_key_gets_401_and_the_others_keep_working(admin: Client) -> None:
    gone, kept = make_key(admin, "admin"), make_key(admin, "read")
    assert admin.call("GET", "/v1/programs", key=gone["key"]).status == 200
    r = admin.call("DELETE", f"/v1/keys/{gone['id']}")
    assert r.status == 200, r.text
    assert_error(admin.call("GET", "/v1/programs", key=gone["key"]), 401)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["admin"]}, key=gone["key"]), 401)
    assert admin.call("GET", "/v1/programs", key=kept["key"]).status == 200
    listed = {k["id"]: k for k in admin.call("GET", "/v1/keys").json["keys"]}
    assert listed[gone["id"]]["revoked_at"] is not None and listed[kept["id"]]["revoked_at"] is None
    assert admin.call("DELETE", f"/v1/keys/{gone['id']}").status == 200  # revoking twice is harmless
    assert_error(admin.call("DELETE", "/v1/keys/abcdef123456"), 404, "not_found")
    # A key may revoke itself; it is the last thing it does.
    me = make_key(admin, "admin")
    assert admin.call("DELETE", f"/v1/keys/{me['id']}", key=me["key"]).status == 200
    assert_error(admin.call("GET", "/v1/keys", key=me["key"]), 401)


def test_a_key_belongs_to_one_org(api: Client) -> None:
    a, b = bootstrap_org("org-a"), bootstrap_org("org-b")
    a_key = make_key(Client(api.api, a), "admin")
    b_ids = {k["id"] for k in api.call("GET", "/v1/keys", key=b).json["keys"]}
    assert a_key["id"] not in b_ids and len(b_ids) == 1
    # The org named in the key is part of what is checked: A's key under B's name gets nowhere.
    forged = a_key["key"].replace("pdk_org-a_", "pdk_org-b_")
    assert_error(api.call("GET", "/v1/keys", key=forged), 401)


def test_a_key_with_bad_fields_is_refused_with_422(admin: Client) -> None:
    for body, field in [
        ({"name": "x"}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["owner"]}, "scopes"),
        ({"scopes": ["read", "owner", "root"]}, "scopes"),
        ({"scopes": "admin"}, "scopes"),
        ({"scopes": ["read"], "name": 5}, "name"),
        ({"scopes": ["read"], "name": "x" * 101}, "name"),
    ]:
        error = assert_error(admin.call("POST", "/v1/keys", body), 422)
        assert error["field"] == field, (body, error)
    error = assert_error(admin.call("POST", "/v1/keys", {"scopes": ["read", "owner", "root"]}), 422)
    assert len(error["problems"]) == 2  # every problem at once
    assert len(admin.call("GET", "/v1/keys").json["keys"]) == 1


def test_create_org_bootstraps_the_org_and_its_first_admin_key(api: Client, store: Any) -> None:
    from podium.domain.errors import Conflict, InvalidInput
    from podium.services.auth import create_org

    issued = create_org(store, "globex", "Globex", datetime.now(UTC))
    assert issued.token.startswith(f"pdk_globex_{issued.key.id}_")
    assert store.get_org("globex").name == "Globex"
    keys = api.call("GET", "/v1/keys", key=issued.token)
    assert keys.status == 200, keys.text
    assert [(k["id"], k["scopes"]) for k in keys.json["keys"]] == [(issued.key.id, ["admin"])]
    assert store.get_key("globex", issued.key.id).secret_hash == sha256(secret_of(issued.token))

    with pytest.raises(Conflict):
        create_org(store, "globex", "Globex again", datetime.now(UTC))
    assert store.get_org("globex").name == "Globex"
    assert len(store.list_keys("globex")) == 1
    for bad in ("Not An Id", "", "-dash", "x" * 41, "under_score"):
        with pytest.raises(InvalidInput):
            create_org(store, bad, "x", datetime.now(UTC))
    assert api.call("GET", "/v1/keys", key=issued.token).status == 200


# --- program tokens -----------------------------------------------------------------------------------------


def test_a_new_program_version_saved_after_a_rotation_does_not_bring_back_the_old_token(
    admin: Client, store: Any
) -> None:
    put_program(admin)
    old = rotate(admin, "sprint", "read")
    read_before = store.get_program("acme", "sprint")  # a program PUT that read the program before the rotation
    new = rotate(admin, "sprint", "read")
    edited = {**read_before.document, "name": "Renamed"}
    store.save_program(replace(read_before, document=edited, version=read_before.version + 1), read_before.version)
    assert admin.call("GET", "/v1/programs/sprint").json["definition"]["name"] == "Renamed"
    assert_error(admin.call("GET", "/v1/programs/sprint", key=old), 401)
    assert admin.call("GET", "/v1/programs/sprint", key=new).status == 200
    # A rotation that read the program before another rotation is refused, not silently lost.
    with pytest.raises(Conflict):
        store.save_tokens(read_before, {"read": "0" * 64}, datetime.now(UTC))
    assert admin.call("GET", "/v1/programs/sprint", key=new).status == 200


def test_a_read_token_reads_its_program_only(admin: Client) -> None:
    put_program(admin)
    put_program(admin, "other")
    token = rotate(admin, "sprint", "read")
    assert token.startswith("pdt_acme_sprint_read_")
    r = admin.call("GET", "/v1/programs/sprint", key=token)
    assert r.status == 200 and r.json["id"] == "sprint", r.text
    # The roster carries emails; a read token is embedded in public pages, so it sees boards, not the roster.
    assert_error(admin.call("GET", "/v1/programs/sprint/roster", key=token), 403)
    assert_error(admin.call("GET", "/v1/programs/other", key=token), 404)
    assert_error(admin.call("GET", "/v1/programs/other/roster", key=token), 404)
    assert_error(admin.call("GET", "/v1/programs/nope", key=token), 404)
    assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "name": "Mine now"}, key=token), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, key=token, content_type="text/csv"), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint/participants/eve", {"name": "Eve"}, key=token), 403)
    assert_error(admin.call("POST", "/v1/programs/sprint/tokens/read", key=token), 403)
    assert_error(admin.call("POST", "/v1/keys", {"scopes": ["admin"]}, key=token), 403)
    assert_error(admin.call("GET", "/v1/keys", key=token), 403)
    assert_error(admin.call("GET", "/v1/programs", key=token), 403)
    assert admin.call("GET", "/v1/programs/sprint").json["definition"]["name"] == "Sprint"
    assert roster(admin) == {}

    for forged in (
        token.replace("_read_", "_submit_"),
        token.replace("pdt_acme_sprint_", "pdt_acme_other_"),
        token.replace("pdt_acme_", "pdt_globex_"),
        token[:-2] + ("xx" if not token.endswith("xx") else "yy"),
        "pdt_acme_sprint_admin_" + secret_of(token),
        "pdt_acme",
    ):
        assert_error(admin.call("GET", "/v1/programs/sprint", key=forged), 401)


def test_a_submit_token_submits_to_its_program_only(admin: Client) -> None:
    put_program(admin)
    put_program(admin, "other")
    put_roster(admin)
    put_roster(admin, program="other")
    token = rotate(admin, "sprint", "submit")
    assert token.startswith("pdt_acme_sprint_submit_")
    body = {"participant": "ann", "values": {"calls": 1}}
    r = admin.call("POST", "/v1/programs/sprint/submissions", body, key=token)
    assert r.status == 200 and r.json["accepted"] == 1, r.text
    assert_error(admin.call("POST", "/v1/programs/other/submissions", body, key=token), 404)
    assert_error(admin.call("GET", "/v1/programs/sprint", key=token), 403)
    assert_error(admin.call("PUT", "/v1/programs/sprint", PROGRAM, key=token), 403)


def test_rotating_a_token_stops_the_old_one_at_once(admin: Client, store: Any) -> None:
    put_program(admin)
    old = rotate(admin, "sprint", "read")
    assert admin.call("GET", "/v1/programs/sprint", key=old).status == 200
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
    # A new version of the program keeps its tokens.
    assert put_program(admin, name="Renamed").json["version"] == 2
    assert admin.call("GET", "/v1/programs/sprint", key=new).status == 200

    for scope in ("admin", "owner"):
        assert_error(admin.call("POST", f"/v1/programs/sprint/tokens/{scope}"), 422)
    assert_error(admin.call("POST", "/v1/programs/nope/tokens/read"), 404)
    assert store.get_program("acme", "sprint").token_hashes == record.token_hashes


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

    # The same definition again, as YAML or as JSON, is no new version.
    r = admin.call("PUT", "/v1/programs/sprint", changed, content_type="application/yaml")
    assert r.status == 200 and r.json["version"] == 2, r.text
    same_as_json = {**PROGRAM, "name": "Spring sprint"}
    r = admin.call("PUT", "/v1/programs/sprint", same_as_json)
    assert r.status == 200 and r.json["version"] == 2, r.text

    got = admin.call("GET", "/v1/programs/sprint")
    assert got.status == 200 and got.json["version"] == 2 and got.json["definition"] == same_as_json
    assert [i.sk for i in store.versions.query("O#acme#PROG#sprint", store.versions.sk.startswith("V#"))] == [
        "V#000001",
        "V#000002",
    ]

    # YAML creates too, under each of its media types; the id may be left out of the body.
    for n, content_type in enumerate(("application/yaml", "application/x-yaml; charset=utf-8", "text/yaml")):
        text = PROGRAM_YAML.replace("id: sprint\n", "")
        r = admin.call("PUT", f"/v1/programs/y{n}", text, content_type=content_type)
        assert r.status == 200, r.text
        assert r.json["version"] == 1 and r.json["definition"]["id"] == f"y{n}"
        assert r.json["definition"]["metrics"][1]["points"] == {"per_unit": 10, "cap": 100}
    # JSON with a charset, and JSON without a content type at all.
    r = admin.call("PUT", "/v1/programs/j1", {**PROGRAM, "id": "j1"}, content_type="application/json; charset=utf-8")
    assert r.status == 200 and r.json["version"] == 1, r.text
    r = admin.call("PUT", "/v1/programs/j1", json.dumps({**PROGRAM, "id": "j1", "name": "J"}), content_type=None)
    assert r.status == 200 and r.json["version"] == 2, r.text


def test_an_invalid_program_is_422_with_every_problem_by_path(admin: Client) -> None:
    put_program(admin, "kept")
    bad = {
        **PROGRAM,
        "timezone": "Mars/Olympus",
        "metrics": [{"key": "calls", "points": {"cap": -1}}, {"key": "Bad Key"}, {"key": "calls"}],
        "colour": "red",
    }
    for program in ("sprint", "kept"):
        error = assert_error(
            admin.call("PUT", f"/v1/programs/{program}", {**bad, "id": program}), 422, "invalid_program"
        )
        paths = [p["field"] for p in error["problems"]]
        assert {"timezone", "metrics[0].points.cap", "metrics[1].key", "metrics[2].key", "colour"} <= set(paths)
        assert all(p["reason"] for p in error["problems"])
        assert error["field"] == paths[0]

    text = PROGRAM_YAML.replace("cap: 100", "cap: -5").replace("timezone: UTC", "timezone: Nowhere/City")
    error = assert_error(admin.call("PUT", "/v1/programs/sprint", text, content_type="application/yaml"), 422)
    assert {p["field"] for p in error["problems"]} == {"metrics[1].points.cap", "timezone"}

    error = assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "id": "marathon"}), 422)
    assert error["field"] == "id" and "marathon" in error["message"]
    error = assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "id": 7}), 422)
    assert error["field"] == "id"
    error = assert_error(admin.call("PUT", "/v1/programs/Big-One", {**PROGRAM, "id": "Big-One"}), 422)
    assert error["field"] == "id"
    for body in ([PROGRAM], "just text", 42, None):
        assert_error(admin.call("PUT", "/v1/programs/sprint", json.dumps(body), content_type="application/json"), 422)
    assert_error(admin.call("PUT", "/v1/programs/sprint", "- a\n- b\n", content_type="application/yaml"), 422)
    r = admin.call("PUT", "/v1/programs/sprint", "id: sprint\nmetrics: [unclosed\n", content_type="application/yaml")
    assert_error(r, 400, "malformed_yaml")

    for program in ("sprint", "marathon", "Big-One"):
        assert_error(admin.call("GET", f"/v1/programs/{program}"), 404)
    kept = admin.call("GET", "/v1/programs/kept").json
    assert kept["version"] == 1 and kept["definition"] == {**PROGRAM, "id": "kept"}


def test_program_files_that_yaml_or_json_could_misread_are_422_or_taken_as_written(admin: Client) -> None:
    for timezone in ("America", "Etc", "Europe"):  # folders of zones, not zones
        error = assert_error(admin.call("PUT", "/v1/programs/sprint", {**PROGRAM, "timezone": timezone}), 422)
        assert [p["field"] for p in error["problems"]] == ["timezone"], error
    # YAML reads 2026-01-01 and 123 as a date and a number: ids are taken as written.
    yaml_text = PROGRAM_YAML.replace(
        "  - key: calls\n", "  - key: calls\n    points: {target: 10, target_overrides: {2026-01-01: 5, 123: 7}}\n"
    )
    r = admin.call("PUT", "/v1/programs/sprint", yaml_text, content_type="application/yaml")
    assert r.status == 200, r.text
    overrides = r.json["definition"]["metrics"][0]["points"]["target_overrides"]
    assert overrides == {"2026-01-01": 5, "123": 7}
    binary = PROGRAM_YAML.replace("name: Sprint", "name: !!binary aGk=")
    assert_error(admin.call("PUT", "/v1/programs/sprint", binary, content_type="application/yaml"), 422)
    lone_surrogate = [('{"id": "sprint", "name": "x\\ud800"}', "application/json"), ('name: "x\\ud800"', "text/yaml")]
    for body, media_type in lone_surrogate:
        assert_error(admin.call("PUT", "/v1/programs/sprint", body, content_type=media_type), 400)
    repeated = '{"id": "sprint", "name": "A", "name": "B"}'
    assert "'name' appears twice" in assert_error(admin.call("PUT", "/v1/programs/sprint", repeated), 400)["message"]


def test_list_and_get_programs(admin: Client) -> None:
    assert admin.call("GET", "/v1/programs").json == {"programs": []}
    put_program(admin, "zeta")
    put_program(admin, "alpha", name="Alpha")
    put_program(admin, "alpha", name="Alpha 2")
    r = admin.call("GET", "/v1/programs")
    assert r.status == 200, r.text
    assert [(p["id"], p["version"]) for p in r.json["programs"]] == [("alpha", 2), ("zeta", 1)]
    one = admin.call("GET", "/v1/programs/alpha")
    assert one.status == 200 and one.json == r.json["programs"][0]
    assert one.json["definition"]["name"] == "Alpha 2" and one.json["public_tokens"] == []
    assert_error(admin.call("GET", "/v1/programs/unknown"), 404, "not_found")


# --- roster -------------------------------------------------------------------------------------------------


def test_a_csv_roster_dry_run_shows_the_change_and_writes_nothing(admin: Client) -> None:
    put_program(admin)
    r = put_roster(admin, query="dry_run=true")
    assert r.json["dry_run"] is True and sorted(r.json["added"]) == ["ann", "bob", "cat"]
    assert roster(admin) == {}

    r = put_roster(admin)
    assert r.json["dry_run"] is False and sorted(r.json["added"]) == ["ann", "bob", "cat"]
    people = roster(admin)
    assert people["ann"] == {
        "id": "ann",
        "name": "Ann",
        "email": "ann@example.com",
        "team": "Red",
        "division": "North",
        "active": True,
        "opt_out": "",
    }
    assert sorted(people) == ["ann", "bob", "cat"]

    # Ann moves to Blue, Bob leaves, Cat is unchanged, Dan joins.
    update = "id,name,email,team,division\nann,Ann,ann@example.com,Blue,North\ncat,Cat,,Red,North\ndan,Dan,,Red,North\n"
    change = put_roster(admin, update, query="dry_run=1").json
    assert change["dry_run"] is True
    assert change["added"] == ["dan"]
    assert change["moved"] == [{"id": "ann", "from": "Red", "to": "Blue"}]
    assert change["removed"] == ["bob"]
    assert change["unchanged"] == 1 and change["updated"] == [] and change["reactivated"] == []
    assert roster(admin) == people
    assert put_roster(admin, update, query="dry_run=false").json == {**change, "dry_run": False}

    after = roster(admin)
    assert after["ann"]["team"] == "Blue"
    assert after["bob"] == {**people["bob"], "active": False}  # deactivated, not deleted
    assert after["dan"]["active"] is True and after["cat"] == people["cat"]

    # The same upload again changes nothing; bringing Bob back reactivates him.
    r = put_roster(admin, update)
    assert r.json["unchanged"] == 3 and not (r.json["added"] or r.json["moved"] or r.json["removed"])
    r = put_roster(admin, update + "bob,Bob,,Blue,North\n")
    assert r.json["reactivated"] == ["bob"] and r.json["unchanged"] == 3, r.text
    assert roster(admin)["bob"]["active"] is True


def test_a_json_roster_upload_works_the_same(admin: Client) -> None:
    put_program(admin)
    rows = [
        {"id": "ann", "name": "Ann", "team": "Red", "division": "North"},
        {"id": "bob", "name": "Bob", "email": "bob@example.com", "team": "Blue", "division": "South"},
    ]
    r = admin.call("PUT", "/v1/programs/sprint/roster", rows, query="dry_run=true")
    assert r.status == 200 and r.json["added"] == ["ann", "bob"], r.text
    assert roster(admin) == {}
    assert admin.call("PUT", "/v1/programs/sprint/roster", rows).status == 200
    assert roster(admin)["bob"]["email"] == "bob@example.com"

    rows = [{"id": "ann", "name": "Ann", "team": "Blue", "division": "South"}]
    r = admin.call("PUT", "/v1/programs/sprint/roster", rows)
    assert r.json["moved"] == [{"id": "ann", "from": "Red", "to": "Blue"}] and r.json["removed"] == ["bob"], r.text
    people = roster(admin)
    assert people["ann"]["team"] == "Blue" and people["ann"]["division"] == "South"
    assert people["bob"]["active"] is False

    # Someone deactivated can no longer submit; their history stays.
    r = admin.call("POST", "/v1/programs/sprint/submissions", {"participant": "bob", "values": {"calls": 1}})
    assert r.status == 422 and r.json["accepted"] == 0, r.text


def test_a_team_in_two_divisions_is_422_and_nothing_is_written(admin: Client) -> None:
    put_program(admin)
    two_divisions = [
        {"id": "ann", "name": "Ann", "team": "Red", "division": "North"},
        {"id": "bob", "name": "Bob", "team": "Red", "division": "South"},
    ]
    csv = "id,name,team,division\nann,Ann,Red,North\nbob,Bob,Red,South\n"
    for query in ("dry_run=true", ""):
        for body, content_type in ((csv, "text/csv"), (json.dumps(two_divisions), "application/json")):
            r = admin.call("PUT", "/v1/programs/sprint/roster", body, content_type=content_type, query=query)
            error = assert_error(r, 422)
            assert "division" in error["problems"][0]["reason"], error
    assert roster(admin) == {}

    # Nor one participant at a time: Red is in North (Ann), so Bob cannot put it in South as well.
    url = "/v1/programs/sprint/participants"
    assert admin.call("PUT", f"{url}/ann", {"name": "Ann", "team": "Red", "division": "North"}).status == 201
    assert_error(admin.call("PUT", f"{url}/bob", {"name": "Bob", "team": "Red", "division": "South"}), 422)
    # Nor by an upload that leaves Ann out: she is deactivated, not deleted, and still sits in Red, North.
    r = admin.call(
        "PUT", "/v1/programs/sprint/roster", "id,name,team,division\nbob,Bob,Red,South\n", content_type="text/csv"
    )
    assert_error(r, 422)
    assert list(roster(admin)) == ["ann"]
    # Moving the whole team, Ann included (inactive), is how Red changes division.
    csv = "id,name,team,division,active\nann,Ann,Red,South,false\nbob,Bob,Red,South,true\n"
    r = admin.call("PUT", "/v1/programs/sprint/roster", csv, content_type="text/csv")
    assert r.status == 200 and r.json["moved"] == [{"id": "ann", "from": "Red", "to": "Red"}], r.text
    people = roster(admin)
    assert people["ann"]["active"] is False and people["ann"]["division"] == "South"
    assert people["bob"]["division"] == "South"


def test_a_roster_with_bad_rows_is_422_and_nothing_is_written(admin: Client) -> None:
    put_program(admin)
    for body, content_type in [
        ("id,name,colour\nann,Ann,red\n", "text/csv"),
        ("name,team\nAnn,Red\n", "text/csv"),
        ("id,name\nann,Ann\n,Nobody\nann,Ann again\n", "text/csv"),
        ('[{"id": "ann", "name": "Ann", "colour": "red"}]', "application/json"),
        ('[{"name": "Ann"}]', "application/json"),
        ('[{"id": "a b", "name": "Ann"}]', "application/json"),
        ('[{"id": "ann", "name": "Ann", "active": "perhaps"}]', "application/json"),
        ('[{"id": "ann", "name": "Ann"}, {"id": "ann", "name": "Ann again"}]', "application/json"),
        ('["ann"]', "application/json"),
    ]:
        r = admin.call("PUT", "/v1/programs/sprint/roster", body, content_type=content_type)
        assert assert_error(r, 422)["problems"], body
    error = assert_error(
        admin.call("PUT", "/v1/programs/sprint/roster", "id,name\n,Nobody\nx y,Bad id\n", content_type="text/csv"), 422
    )
    assert error["problems"][0]["row"] == 2 and error["problems"][0]["field"] == "id"
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", {"id": "ann", "name": "Ann"}), 400)
    assert_error(admin.call("PUT", "/v1/programs/sprint/roster", ROSTER_CSV, content_type="text/plain"), 415)
    assert roster(admin) == {}
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
        "opt_out": "",
    }
    r = admin.call("PUT", url, {"name": "Ann Lee", "team": "Blue"})
    assert r.status == 200, r.text
    # Replaced whole: what is left out is cleared.
    expected = {
        "id": "ann",
        "name": "Ann Lee",
        "email": "",
        "team": "Blue",
        "division": None,
        "active": True,
        "opt_out": "",
    }
    assert r.json == expected
    assert roster(admin) == {"ann": expected}

    for path, body, status in [
        ("ann", {"name": "Ann", "colour": "red"}, 422),
        ("ann", {"name": "Ann", "team": 5.5}, 422),
        ("ann", {"name": "Ann", "active": "maybe"}, 422),
        ("a%20b", {"name": "A"}, 422),
        ("ann", [{"name": "Ann"}], 400),
    ]:
        assert_error(admin.call("PUT", f"/v1/programs/sprint/participants/{path}", body), status)
    assert_error(admin.call("PUT", "/v1/programs/nope/participants/ann", {"name": "Ann"}), 404)
    assert roster(admin) == {"ann": expected}


def test_patch_participant_changes_only_what_it_names(admin: Client) -> None:
    put_program(admin)
    put_roster(admin)
    url = "/v1/programs/sprint/participants"
    r = admin.call("PATCH", f"{url}/ann", {"team": "Blue"})
    assert r.status == 200, r.text
    assert r.json == {
        "id": "ann",
        "name": "Ann",
        "email": "ann@example.com",
        "team": "Blue",
        "division": "North",
        "active": True,
        "opt_out": "",
    }
    r = admin.call("PATCH", f"{url}/ann", {"email": None, "name": "Ann Lee"})
    assert r.status == 200 and r.json["email"] == "" and r.json["name"] == "Ann Lee" and r.json["team"] == "Blue"
    r = admin.call("PATCH", f"{url}/bob", {"active": False})
    assert r.status == 200 and r.json["active"] is False
    people = roster(admin)
    assert people["ann"] == {
        "id": "ann",
        "name": "Ann Lee",
        "email": "",
        "team": "Blue",
        "division": "North",
        "active": True,
        "opt_out": "",
    }
    assert people["bob"]["active"] is False and people["cat"]["active"] is True
    r = admin.call("PATCH", f"{url}/cat", {"opt_out": "anonymise"})
    assert r.status == 200 and r.json["opt_out"] == "anonymise", r.text
    people = roster(admin)
    assert people["cat"]["opt_out"] == "anonymise" and people["ann"]["opt_out"] == ""

    for changes, field in [
        ({"colour": "red"}, "colour"),
        ({"id": "zed"}, "id"),
        ({"active": "yes"}, "active"),
        ({"name": ""}, "name"),
        ({"team": 7}, "team"),
        ({"name": 5}, "name"),
        ({"name": {"first": "Ann"}}, "name"),
        ({"name": None}, "name"),
        ({"email": "e" * 300}, "email"),
        ({"name": "Ann", "nickname": "Annie"}, "nickname"),
        ({"opt_out": "vanish"}, "opt_out"),
        ({"opt_out": 1}, "opt_out"),
    ]:
        error = assert_error(admin.call("PATCH", f"{url}/ann", changes), 422)
        assert error["field"] == field, (changes, error)
    # Blue is in North (Ann, and Bob though inactive): Cat cannot join Blue in South.
    assert_error(admin.call("PATCH", f"{url}/cat", {"team": "Blue", "division": "South"}), 422)
    assert_error(admin.call("PATCH", f"{url}/zed", {"name": "Zed"}), 404)
    assert_error(admin.call("PATCH", "/v1/programs/nope/participants/ann", {"name": "Zed"}), 404)
    assert roster(admin) == people


def test_delete_participant_deactivates_and_keeps_them(admin: Client) -> None:
    put_program(admin)
    put_roster(admin)
    r = admin.call("DELETE", "/v1/programs/sprint/participants/bob")
    assert r.status == 200 and r.json == {"id": "bob", "active": False}, r.text
    people = roster(admin)
    assert people["bob"] == {
        "id": "bob",
        "name": "Bob",
        "email": "",
        "team": "Blue",
        "division": "North",
        "active": False,
        "opt_out": "",
    }
    assert people["ann"]["active"] is True
    assert admin.call("DELETE", "/v1/programs/sprint/participants/bob").status == 200
    assert_error(admin.call("DELETE", "/v1/programs/sprint/participants/zed"), 404)
    assert_error(admin.call("DELETE", "/v1/programs/nope/participants/bob"), 404)
    assert roster(admin) == people


# --- errors -------------------------------------------------------------------------------------------------


def test_body_errors_share_one_format(admin: Client) -> None:
    put_program(admin)
    admin.call("PUT", "/v1/programs/sprint/participants/ann", {"name": "Ann"})
    for method, path in [
        ("PUT", "/v1/programs/sprint"),
        ("PUT", "/v1/programs/sprint/roster"),
        ("PUT", "/v1/programs/sprint/participants/ann"),
        ("PATCH", "/v1/programs/sprint/participants/ann"),
        ("POST", "/v1/keys"),
        ("POST", "/v1/programs/sprint/submissions"),
        ("POST", "/v1/programs/sprint/submissions/s1/void"),
    ]:
        where = f"{method} {path}"
        error = assert_error(admin.call(method, path, b'{"name": "Ann",', content_type="application/json"), 400)
        assert error["code"] == "malformed_json" and error["message"].startswith("the body is not valid JSON"), where
        assert assert_error(admin.call(method, path, b'{"n": NaN}', content_type="application/json"), 400)["code"] == (
            "malformed_json"
        ), where
        assert assert_error(admin.call(method, path, b"", content_type="application/json"), 400)["code"] == (
            "empty_body"
        ), where
        r = admin.call(method, path, b"<name>Ann</name>", content_type="application/xml")
        assert assert_error(r, 415)["code"] == "unsupported_media_type", where
        assert assert_error(admin.call(method, path, b"\xff\xfe{}", content_type="application/json"), 400), where
    assert admin.call("GET", "/v1/programs/sprint").json["version"] == 1
    assert list(roster(admin)) == ["ann"]
    assert len(admin.call("GET", "/v1/keys").json["keys"]) == 1


def test_ids_no_item_can_have_are_404_or_401_never_500(admin: Client) -> None:
    """DynamoDB refuses keys over 1 KB with an error (moto does not): such ids must not reach it."""
    put_program(admin)
    put_roster(admin)
    token = rotate(admin, "sprint", "read")
    long = "x" * 1500
    requests: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/programs/{long}", None),
        ("GET", f"/v1/programs/{long}/roster", None),
        ("POST", f"/v1/programs/{long}/tokens/read", None),
        ("PUT", f"/v1/programs/{long}/roster", []),
        ("PUT", f"/v1/programs/{long}/participants/ann", {"name": "Ann"}),
        ("PATCH", f"/v1/programs/sprint/participants/{long}", {"name": "X"}),
        ("DELETE", f"/v1/programs/sprint/participants/{long}", None),
        ("DELETE", f"/v1/programs/{long}/participants/ann", None),
        ("DELETE", f"/v1/keys/{long}", None),
        ("DELETE", "/v1/keys/a%23b", None),
        ("GET", "/v1/programs/SPRINT", None),
        ("GET", f"/v1/programs/{long}/boards/program", None),
        ("GET", f"/v1/programs/{long}/boards/participants", None),
        ("GET", f"/v1/programs/{long}/participants/ann/scorecard", None),
        ("POST", f"/v1/programs/{long}/submissions", {"participant": "ann", "values": {"calls": 1}}),
    ]
    for method, path, body in requests:
        assert_error(admin.call(method, path, body), 404)
    error = assert_error(admin.call("PUT", f"/v1/programs/sprint/participants/{long}", {"name": "X"}), 422)
    assert error["field"] == "id"
    assert_error(admin.call("PUT", f"/v1/programs/{long}", {**PROGRAM, "id": long}), 422)
    key = admin.key
    for forged in (
        key.replace(key.split("_")[2], "f" * 1500),
        key.replace("pdk_acme_", "pdk_" + "a" * 1500 + "_"),
        token.replace("_sprint_", f"_{long}_"),
        token.replace("_sprint_", "_Sprint_"),
    ):
        assert_error(admin.call("GET", "/v1/programs/sprint", key=forged), 401)
    assert list(roster(admin)) == ["ann", "bob", "cat"]


def test_inputs_too_big_for_an_item_are_422_never_500(admin: Client) -> None:
    """DynamoDB takes items up to 400 KB: a longer name or program is refused up front, on both backends."""
    put_program(admin)
    put_roster(admin)
    before = roster(admin)
    big = "n" * 450_000
    url = "/v1/programs/sprint"
    for method, path, body in [
        ("PUT", f"{url}/participants/dan", {"name": big}),
        ("PUT", f"{url}/participants/dan", {"name": "Dan", "team": "t" * 201}),
        ("PATCH", f"{url}/participants/ann", {"name": big}),
        ("PATCH", f"{url}/participants/ann", {"division": "d" * 201}),
        ("PUT", f"{url}/roster", [{"id": "ann", "name": "Ann"}, {"id": "dan", "name": big}]),
        ("PUT", url, {**PROGRAM, "name": big}),
    ]:
        error = assert_error(admin.call(method, path, body), 422)
        assert "longer than" in error["problems"][0]["reason"] or "at most" in error["problems"][0]["reason"], error
    assert roster(admin) == before
    assert admin.call("GET", url).json["version"] == 1
    # Up to the limits is fine.
    r = admin.call("PUT", f"{url}/participants/dan", {"name": "n" * 200, "team": "t" * 200, "email": "e" * 254})
    assert r.status == 201, r.text


def test_an_unknown_path_reaching_the_admin_function_is_404_in_the_same_format(admin: Client) -> None:
    route = next(r for r in admin.api.routes if r.route_key == "GET /v1/programs")
    for method, path in [("GET", "/v1/no-such-thing"), ("GET", "/v1/programs/a/b/c"), ("POST", "/v1/programs")]:
        event = http_api_event(route, method, path, {}, {"Authorization": f"Bearer {admin.key}"}, "", None)
        raw = to_response(admin.api.handler(route)(event, LambdaContext(route.function)))
        assert_error(Reply(raw), 404, "not_found")


def test_an_unknown_route_is_404_in_the_same_format(admin: Client) -> None:
    for method, path in [("GET", "/v1/nope"), ("POST", "/v1/programs"), ("GET", "/v1/programs/sprint/nothing")]:
        assert_error(admin.call(method, path), 404)


def test_the_openapi_document_is_served(api: Client) -> None:
    r = api.call("GET", "/v1/openapi.json")
    assert r.status == 200, r.text
    documented = {(path, method.upper()) for path, ops in r.json["paths"].items() for method in ops}
    # The API's routes; the pages (`/`, `/p/…`) and the API's root are for browsers and are not in it.
    api_routes = [r for r in ROUTES if r.path.startswith("/v1/") and r.path not in ("/v1/openapi.json", *CATCH_ALL)]
    served = {(route.path, route.method) for route in api_routes}
    assert served <= documented
    participant = r.json["paths"]["/v1/programs/{program}/participants/{participant}"]["put"]["responses"]
    assert {"200", "201", "422"} <= set(participant)
