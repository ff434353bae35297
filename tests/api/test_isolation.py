"""Tenant isolation on every route of template.yaml: one org's keys and tokens never reach another org's data.

The routes are read from the template, so a new route is covered (and must be given a request below) as soon as
it is declared. For each route, two orgs are set up alike; org B's admin key then sends the request that would
work on org A's program, participant, submission or key. It must get 404 (org-level routes answer with B's own
items only), org A's items in the table must be exactly as before, and the same request sent by A's own admin key
must succeed (so the 404 is isolation, not a malformed request). Then org A's program tokens try the same on B.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from conftest import ROOT, Client, Reply, bootstrap_org
from podium_cli.local.apigw import Route, routes_from_template
from podium_cli.template import load_template

ROUTES = routes_from_template(load_template(ROOT / "template.yaml"))
CATCH_ALL = ("$default", "/$default")  # an HttpApi event without Path takes every path no other route takes


@dataclass
class Tenant:
    """An org with one of everything a route can address."""

    org: str
    admin: Client
    program: str
    participant: str
    submission: str
    spare_key: str  # the id of a key that may be revoked
    read_token: str
    submit_token: str
    key_ids: set[str] = field(default_factory=set)
    bulletin: str = ""  # a draft bulletin's id
    unsubscribe: str = ""  # the signed token of the participant's unsubscribe link, from that draft's digest

    @property
    def params(self) -> dict[str, str]:
        return {
            "org": self.org,
            "program": self.program,
            "participant": self.participant,
            "submission": self.submission,
            "key_id": self.spare_key,
            "scope": "read",
            "team": "red",  # every tenant's roster has team Red in division North
            "division": "north",
            "bulletin": self.bulletin,
            "token": self.unsubscribe,
        }

    def secrets(self) -> list[str]:
        """What must never show up in another org's answers."""
        return [self.org, self.program, self.participant, *self.key_ids, self.read_token, self.submit_token]


def program_body(t: Tenant) -> dict[str, Any]:
    return {"id": t.program, "name": f"{t.org} program", "metrics": [{"key": "calls"}, {"key": "deals"}]}


# The request that succeeds when the owner sends it, by route. A new route with a body needs an entry here; the
# test says so when the owner's own request fails.
Body = tuple[bytes, str]
BODIES: dict[str, Callable[[Tenant], Body]] = {
    "PUT /v1/programs/{program}": lambda t: (
        json.dumps({**program_body(t), "name": "Changed"}).encode(),
        "application/json",
    ),
    "PUT /v1/programs/{program}/roster": lambda t: (
        f"id,name,team,division\n{t.participant},Renamed,Red,North\n".encode(),
        "text/csv",
    ),
    "PUT /v1/programs/{program}/participants/{participant}": lambda t: (
        b'{"name": "Renamed", "team": "Blue", "division": "North"}',
        "application/json",
    ),
    "PATCH /v1/programs/{program}/participants/{participant}": lambda t: (b'{"name": "Renamed"}', "application/json"),
    "POST /v1/programs/{program}/submissions": lambda t: (
        json.dumps([{"participant": t.participant, "values": {"calls": 5}}]).encode(),
        "application/json",
    ),
    "POST /v1/programs/{program}/submissions/{submission}/void": lambda t: (
        json.dumps({"participant": t.participant, "reason": "typo"}).encode(),
        "application/json",
    ),
    "POST /v1/keys": lambda t: (b'{"name": "intruder", "scopes": ["admin"]}', "application/json"),
    "POST /v1/programs/{program}/bulletins": lambda t: (b'{"status": "draft"}', "application/json"),
}


# Routes that name a thing to create in the caller's own org: B gets its own new one, never A's.
def _created_its_own_program(r: Reply, a: Tenant, b: Tenant, store: Any) -> None:
    assert r.status == 200, r.text
    assert r.json["version"] == 1 and r.json["definition"]["name"] == "Changed", r.text
    assert store.get_program(b.org, a.program).version == 1


CREATES_OWN: dict[str, Callable[[Reply, Tenant, Tenant, Any], None]] = {
    "PUT /v1/programs/{program}": _created_its_own_program,
}


# Org-level routes (no path parameters): what each must show of the caller's own org. All of them are also
# checked for showing nothing of the other org.
def _lists_own_programs(r: Reply, b: Tenant, store: Any) -> None:
    assert [p["id"] for p in r.json["programs"]] == [b.program], r.text


def _lists_own_keys(r: Reply, b: Tenant, store: Any) -> None:
    assert {k["id"] for k in r.json["keys"]} == b.key_ids, r.text


def _creates_own_key(r: Reply, b: Tenant, store: Any) -> None:
    assert r.status == 201 and r.json["key"].startswith(f"pdk_{b.org}_{r.json['id']}_"), r.text
    assert store.get_key(b.org, r.json["id"]) is not None


OWN_ITEMS: dict[str, Callable[[Reply, Tenant, Any], None]] = {
    "GET /v1/programs": _lists_own_programs,
    "GET /v1/keys": _lists_own_keys,
    "POST /v1/keys": _creates_own_key,
}


def set_up(api: Client, org: str) -> Tenant:
    admin = Client(api.api, bootstrap_org(org))
    program, participant, submission = f"{org}-sprint", f"{org}-ann", f"{org}-s1"
    steps = [
        admin.call("PUT", f"/v1/programs/{program}", {"id": program, "metrics": [{"key": "calls"}, {"key": "deals"}]}),
        admin.call(
            "PUT",
            f"/v1/programs/{program}/roster",
            f"id,name,team,division\n{participant},Ann,Red,North\n{org}-bob,Bob,Blue,North\n",
            content_type="text/csv",
        ),
        admin.call(
            "POST",
            f"/v1/programs/{program}/submissions",
            [{"id": submission, "participant": participant, "values": {"calls": 2}}],
        ),
    ]
    assert all(r.status == 200 for r in steps), [r.text for r in steps]
    assert steps[2].json["accepted_ids"] == [submission]
    spare = admin.call("POST", "/v1/keys", {"name": "spare", "scopes": ["read"]})
    read = admin.call("POST", f"/v1/programs/{program}/tokens/read")
    submit = admin.call("POST", f"/v1/programs/{program}/tokens/submit")
    assert spare.status == 201 and read.status == 200 and submit.status == 200
    keys = {admin.key.split("_")[2], spare.json["id"]}  # pdk_{org}_{key id}_{secret}
    draft = admin.call("POST", f"/v1/programs/{program}/bulletins", {"status": "draft"})
    assert draft.status == 201, draft.text
    digest = admin.call("GET", f"/v1/programs/{program}/bulletins/{draft.json['id']}/digests/{participant}")
    assert digest.status == 200, digest.text
    link = re.search(r'href="[^"]*/u/([^"/]+)"', digest.text)
    assert link is not None, digest.text
    return Tenant(
        org,
        admin,
        program,
        participant,
        submission,
        spare.json["id"],
        read.json["token"],
        submit.json["token"],
        keys,
        draft.json["id"],
        link.group(1),
    )


def request(api: Client, route: Route, owner: Tenant, key: str) -> Reply:
    """Send `route`, addressing `owner`'s things, with `key`."""
    reply: Reply
    if route.path in CATCH_ALL:  # a catch-all route: any path no other route takes
        reply = api.call("GET", f"/v1/programs/{owner.program}/no-such-thing", key=key)
        return reply
    path = route.path
    for name in route.pattern.groupindex:
        assert name in owner.params, f"{route.route_key}: give Tenant.params a value for {{{name}}}"
        path = path.replace("{" + name + "}", owner.params[name])
    body, content_type = BODIES[route.route_key](owner) if route.route_key in BODIES else (None, None)
    reply = api.call(route.method, path, body, key=key, content_type=content_type)
    return reply


def items_of(table: str, org: str) -> list[str]:
    """Every item of the org in the table (all its keys start with `O#{org}`), as sorted JSON."""
    client = boto3.client("dynamodb")
    found: list[str] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            pk = item["pk"]["S"]
            if pk == f"O#{org}" or pk.startswith(f"O#{org}#"):
                found.append(json.dumps(item, sort_keys=True, default=bytes.hex))  # B: a snapshot's gzip
        if "LastEvaluatedKey" not in page:
            return sorted(found)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_error(r: Reply, status: int) -> None:
    assert r.status == status, r.text
    assert set(r.json) == {"error"} and {"code", "message"} <= set(r.json["error"]), r.text


def pages_keep_to_their_org(api: Client, backend: str, route: Route, a: Tenant, b: Tenant) -> None:
    """Pages address an org in their path and take a key in the header or a program token in `?t=`: org A's
    credentials, either way, on org B's pages find nothing and show nothing of B; A's own work on A's."""
    path = route.path
    for name in route.pattern.groupindex:
        path = path.replace("{" + name + "}", b.params[name])
    b_before = items_of(backend, "zqb")
    for key, query in [
        (a.admin.key, ""),
        (a.read_token, ""),
        ("", f"t={a.read_token}"),
        ("", f"t={a.submit_token}"),
        ("", ""),
    ]:
        r = api.call("GET", path, key=key, query=query)
        if route.path in ("/", "/v1", "/p/{org}/{program}/widget.js"):
            assert r.status == 200, r.text  # the same for everyone: no program's data
        else:
            assert r.status in (401, 403, 404), (route.path, key[:12], query[:12], r.status)
        for secret in (b.participant, b.read_token, b.submit_token, *b.key_ids):
            assert secret not in r.text, f"{route.route_key} shows org B's {secret!r} to org A"
    assert items_of(backend, "zqb") == b_before, f"{route.route_key} by org A changed org B"
    if route.path in ("/", "/v1", "/p/{org}"):
        return
    # A's own: an API key in the header (the form takes A's submit token), so B's answers were isolation.
    mine_path = route.path
    for name in route.pattern.groupindex:
        mine_path = mine_path.replace("{" + name + "}", a.params[name])
    if route.path.endswith("/form"):
        mine = api.call("GET", mine_path, key="", query=f"t={a.submit_token}")
    else:
        query = "board=team:red" if route.path.endswith("board.json") else ""
        mine = api.call("GET", mine_path, key=a.admin.key, query=query)
    assert mine.status == 200, (route.path, mine.text[:300])


def test_the_tables_above_name_only_routes_of_the_template() -> None:
    """A route renamed or removed in template.yaml must not leave a stale entry here, silently unused."""
    assert ROUTES, "no routes read from template.yaml"
    for key in [*BODIES, *CREATES_OWN, *OWN_ITEMS]:
        assert key in {r.route_key for r in ROUTES}, f"{key} is not a route of template.yaml any more"


def links_keep_to_their_org(api: Client, backend: str, route: Route, a: Tenant, b: Tenant) -> None:
    """An unsubscribe link carries its own credential: org A's link, with any key or none, acts on A's participant
    alone; the same link made to name org B (its signature kept) is refused and changes nothing."""
    b_before = items_of(backend, "zqb")
    for key in ("", b.admin.key, a.read_token):
        r = request(api, route, a, key=key)
        assert r.status == 200 and "text/html" in r.headers["content-type"], r.text
        assert b.participant not in r.text and b.org not in r.text
    assert items_of(backend, "zqb") == b_before, f"{route.route_key} with org A's link changed org B"
    payload, _, signature = a.unsubscribe.partition(".")
    named = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_payload = json.dumps([b.org if x == a.org else b.program if x == a.program else x for x in named])
    forged = base64.urlsafe_b64encode(forged_payload.encode()).decode().rstrip("=") + "." + signature
    r = api.call(route.method, f"/u/{forged}", key="")
    assert r.status == 400, r.text
    assert items_of(backend, "zqb") == b_before, f"{route.route_key} with a forged link changed org B"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_no_org_reaches_another_on_any_route(api: Client, backend: str, store: Any, route: Route) -> None:
    a, b = set_up(api, "zqa"), set_up(api, "zqb")
    if route.path.startswith("/p/") or route.path in ("/", "/v1"):
        pages_keep_to_their_org(api, backend, route, a, b)
        return
    if route.path == "/u/{token}":
        links_keep_to_their_org(api, backend, route, a, b)
        return

    if route.path in CATCH_ALL:  # nobody is routed anywhere through a catch-all: 404 for all, in our format
        for key in (a.read_token, a.submit_token, b.admin.key, a.admin.key):
            assert_error(request(api, route, a, key=key), 404)
        return

    # Org A's program tokens, on org B's things: nothing found, nothing shown, nothing changed.
    b_before = items_of(backend, "zqb")
    for token in (a.read_token, a.submit_token):
        r = request(api, route, b, key=token)
        if "program" in route.pattern.groupindex:
            assert_error(r, 404)  # another program, in another org: not found
        elif r.status == 403 or route.pattern.groupindex:
            assert_error(r, 403)  # what belongs to a whole org (keys, the program list) is not for tokens
        else:
            assert 200 <= r.status < 300, r.text  # a public route, such as the OpenAPI document
            for secret in b.secrets():
                assert secret not in r.text, f"org A's token sees {secret!r} of org B"
    assert items_of(backend, "zqb") == b_before, f"{route.route_key} by org A's tokens changed org B"

    # Org B's admin key, on org A's things.
    a_before = items_of(backend, "zqa")
    r = request(api, route, a, key=b.admin.key)
    if route.route_key in CREATES_OWN:
        CREATES_OWN[route.route_key](r, a, b, store)
    elif route.pattern.groupindex:
        assert_error(r, 404)
    else:
        assert 200 <= r.status < 300, r.text
        for secret in a.secrets():
            assert secret not in r.text, f"org B sees {secret!r} of org A in {r.text}"
        if route.route_key in OWN_ITEMS:
            OWN_ITEMS[route.route_key](r, b, store)
    assert items_of(backend, "zqa") == a_before, f"{route.route_key} by org B changed org A"

    # The same request from A's own admin key works: what B got was isolation, not a bad request.
    mine = request(api, route, a, key=a.admin.key)
    assert 200 <= mine.status < 300, f"{route.route_key}: give it a request that works in BODIES: {mine.text}"


def test_the_same_ids_in_two_orgs_stay_apart(api: Client, backend: str) -> None:
    """Both orgs have a program `shared` with a participant `ann`: each key and token reaches its own only."""
    keys = {org: bootstrap_org(org) for org in ("zqa", "zqb")}
    tokens = {}
    for org, key in keys.items():
        c = Client(api.api, key)
        assert (
            c.call("PUT", "/v1/programs/shared", {"id": "shared", "name": org, "metrics": [{"key": "calls"}]}).status
            == 200
        )
        assert c.call("PUT", "/v1/programs/shared/roster", "id,name\nann,Ann\n", content_type="text/csv").status == 200
        tokens[org] = {s: c.call("POST", f"/v1/programs/shared/tokens/{s}").json["token"] for s in ("read", "submit")}
    b_before = items_of(backend, "zqb")

    assert api.call("GET", "/v1/programs/shared", key=tokens["zqa"]["read"]).json["definition"]["name"] == "zqa"
    assert api.call("GET", "/v1/programs/shared", key=keys["zqb"]).json["definition"]["name"] == "zqb"
    sent = [{"id": "same-id", "participant": "ann", "values": {"calls": 3}}]
    r = api.call("POST", "/v1/programs/shared/submissions", sent, key=tokens["zqa"]["submit"])
    assert r.status == 200 and r.json["accepted_ids"] == ["same-id"], r.text
    assert items_of(backend, "zqb") == b_before
    # The same submission id in B is B's own, not a duplicate of A's.
    r = api.call("POST", "/v1/programs/shared/submissions", sent, key=tokens["zqb"]["submit"])
    assert r.status == 200 and r.json["accepted_ids"] == ["same-id"] and r.json["duplicates"] == 0, r.text

    # A's credentials under B's name get nowhere, even where B has a program of the same id.
    a_token = tokens["zqa"]["read"]
    for forged in (a_token.replace("pdt_zqa_", "pdt_zqb_"), keys["zqa"].replace("pdk_zqa_", "pdk_zqb_")):
        r = api.call("GET", "/v1/programs/shared", key=forged)
        assert r.status == 401, r.text
