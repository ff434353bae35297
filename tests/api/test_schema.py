"""The HTTP API keeps to its own OpenAPI document: Schemathesis against GET /v1/openapi.json, on moto.

The document is read as the app serves it. For every operation that template.yaml routes, Schemathesis generates
requests (fitting the schema and not) and sends them through LocalApi, as API Gateway would hand them to the
handlers: a `requests` transport adapter stands in for the network, so no server runs. Every answer must be no 5xx,
with a documented status code, content type and body. Each operation's failures are collected and reported
together (request and response), rather than stopping at the first.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter, HTTPAdapter
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup
from urllib3 import HTTPResponse

from conftest import REFS, ROOT, Client, _clear_caches, bootstrap_org, template_resources

BASE_URL = "http://podium_cli.local"
# Per operation: keeps the whole file well under a minute. Raise it to dig deeper (e.g. PODIUM_SCHEMA_EXAMPLES=200).
MAX_EXAMPLES = int(os.environ.get("PODIUM_SCHEMA_EXAMPLES", "15"))
PROGRAM = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "metrics": [{"key": "calls"}, {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"}],
}
ROSTER = (
    "id,name,email,team,division\nann,Ann,,Red,North\nbob,Bob,,Blue,North\ncy,Cy,,Gold,South\neve,Eve,,Gold,South\n"
)
# Path parameters that name things that exist, so generated requests also reach past the 404s. (No key id: the one
# key there is to revoke is made at random by the server, and generation must not depend on it.)
KNOWN = {
    "program": "sprint",
    "participant": "ann",
    "submission": "s1",
    "scope": "read",
    "team": "red",
    "division": "north",
}
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


class LocalApiAdapter(BaseAdapter):
    """A `requests` transport that hands each prepared request to LocalApi instead of a socket."""

    def __init__(self, api: Any) -> None:
        super().__init__()
        self.api = api
        self._builder = HTTPAdapter()

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **_: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        reply = self.api.request(
            request.method or "GET", url.path, headers=dict(request.headers), query=url.query, body=body
        )
        raw = HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=reply.headers,
            status=reply.status,
            preload_content=False,
            decode_content=False,
        )
        return self._builder.build_response(request, raw)

    def close(self) -> None:
        self._builder.close()


@dataclass
class Found:
    """One failure of a kind, with the request and response that showed it first."""

    check: str
    title: str
    message: str
    request: str
    response: str
    count: int = 1


@dataclass
class Findings:
    by_key: dict[tuple[str, str, int], Found] = field(default_factory=dict)

    def add(self, check: str, title: str, message: str, status: int, request: str, response: str) -> None:
        key = (check, title, status)
        if key in self.by_key:
            self.by_key[key].count += 1
        else:
            self.by_key[key] = Found(check, title, message, request, response)

    def report(self, label: str) -> str:
        lines = [f"{label}: {len(self.by_key)} kind(s) of failure"]
        for f in self.by_key.values():
            lines += [
                f"--- [{f.check}] {f.title} (x{f.count})",
                _cut(f.message, 800),
                f"request:  {f.request}",
                f"response: {f.response}",
            ]
        return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def _describe_request(request: requests.PreparedRequest) -> str:
    body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else str(request.body or "")
    kind = request.headers.get("Content-Type", "-")
    return f"{request.method} {request.url} [Content-Type: {kind}] {_cut(body, 400)!r}"


def _describe_response(status: int, headers: Mapping[str, Any], content: bytes) -> str:
    kind = headers.get("content-type", "-")
    kind = ", ".join(kind) if isinstance(kind, list) else kind
    return f"{status} [Content-Type: {kind}] {_cut(content.decode(errors='replace'), 400)!r}"


@dataclass
class Served:
    api: Any
    key: str
    schema: Any
    session: requests.Session
    spare_key: str  # the id of a read key made to be revoked, never the admin key the requests carry
    bulletin: str  # a draft bulletin's id


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """A moto table with org `acme` (admin key), program `sprint`, a roster of four, one submission and a spare
    key; the OpenAPI document as GET /v1/openapi.json serves it; a session whose transport is LocalApi."""
    from moto import mock_aws

    from podium_cli.local.apigw import LocalApi
    from podium_cli.template import create_tables

    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "PodiumTest",
            "PODIUM_TABLE": "podium-schema",
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    _clear_caches()
    try:
        with mock_aws():
            create_tables(boto3.client("dynamodb"), ROOT / "template.yaml", {"PodiumTable": "podium-schema"})
            template_resources()
            api = LocalApi(ROOT, {"PodiumTable": "podium-schema", **REFS})
            client = Client(api, bootstrap_org("acme"))
            for method, path, body, kind in [
                ("PUT", "/v1/programs/sprint", PROGRAM, None),
                ("PUT", "/v1/programs/sprint/roster", ROSTER, "text/csv"),
                (
                    "POST",
                    "/v1/programs/sprint/submissions",
                    {"id": "s1", "participant": "ann", "values": {"calls": 2}},
                    None,
                ),
            ]:
                reply = client.call(method, path, body, content_type=kind)
                assert reply.status == 200, reply.text
            reply = client.call("POST", "/v1/keys", {"name": "spare", "scopes": ["read"]})
            assert reply.status == 201, reply.text
            spare_key = reply.json["id"]
            reply = client.call("POST", "/v1/programs/sprint/bulletins", {"status": "draft"})
            assert reply.status == 201, reply.text
            bulletin = KNOWN["bulletin"] = reply.json["id"]
            reply = client.call("GET", "/v1/openapi.json")
            assert reply.status == 200, reply.text
            schema = schemathesis.openapi.from_dict(reply.json)
            session = requests.Session()
            adapter = LocalApiAdapter(api)
            # Every URL goes to LocalApi, redirects included: nothing leaves the process.
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            yield Served(api, client.key, schema, session, spare_key, bulletin)
            session.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _clear_caches()


def _template_operations() -> list[str]:
    from podium_cli.local.apigw import LocalApi

    routes = LocalApi(ROOT, {}).routes
    # The $default route has no operation of its own: it answers paths nothing else takes (tested in test_admin).
    # Pages (`/`, `/p/…`) and the API's root are for browsers, outside the API's document: the page tests
    # (tests/unit/services/test_pages_in_memory.py, tests/browser) check them.
    return sorted(r.route_key for r in routes if r.path.startswith("/v1/") and r.path != "/v1/openapi.json")


# Well-formed requests sent before the generated ones, so the success answers are checked against their schemas too.
# They name `eve`, whom no generated request touches (those may deactivate `ann`), and `bob` and `cy`.
WELL_FORMED: dict[str, list[dict[str, Any]]] = {
    "GET /v1/programs": [{}],
    "GET /v1/keys": [{}],
    "POST /v1/keys": [{"body": {"name": "ci", "scopes": ["read"]}, "media_type": "application/json"}],
    "DELETE /v1/keys/{key_id}": [{"path_parameters": {"key_id": "spare"}}],
    "GET /v1/programs/{program}": [{"path_parameters": {"program": "sprint"}}],
    "PUT /v1/programs/{program}": [
        {"path_parameters": {"program": "sprint"}, "body": PROGRAM, "media_type": "application/json"},
        {"path_parameters": {"program": "relay"}, "body": {**PROGRAM, "id": "relay"}, "media_type": "application/yaml"},
    ],
    "POST /v1/programs/{program}/tokens/{scope}": [{"path_parameters": {"program": "sprint", "scope": "submit"}}],
    "GET /v1/programs/{program}/roster": [{"path_parameters": {"program": "sprint"}}],
    "PUT /v1/programs/{program}/roster": [
        {"path_parameters": {"program": "sprint"}, "body": ROSTER, "media_type": "text/csv"},
        {
            "path_parameters": {"program": "sprint"},
            "body": [{"id": "ann", "name": "Ann", "team": "Red", "division": "North"}],
            "media_type": "application/json",
            "query": {"dry_run": "true"},
        },
    ],
    "PUT /v1/programs/{program}/participants/{participant}": [
        {
            "path_parameters": {"program": "sprint", "participant": "dan"},
            "body": {"name": "Dan", "team": "Red", "division": "North"},
            "media_type": "application/json",
        }
    ],
    "PATCH /v1/programs/{program}/participants/{participant}": [
        {
            "path_parameters": {"program": "sprint", "participant": "bob"},
            "body": {"email": "bob@example.com"},
            "media_type": "application/json",
        }
    ],
    "DELETE /v1/programs/{program}/participants/{participant}": [
        {"path_parameters": {"program": "sprint", "participant": "cy"}}
    ],
    "POST /v1/programs/{program}/submissions": [
        {
            "path_parameters": {"program": "sprint"},
            "body": [{"participant": "eve", "values": {"calls": 3}}, {"participant": "bob", "values": {"nps": 9}}],
            "media_type": "application/json",
        },
        {
            "path_parameters": {"program": "sprint"},
            "body": "id,participant,at,voids,calls,nps\nc1,bob,,,4,\n",
            "media_type": "text/csv",
        },
        {
            "path_parameters": {"program": "sprint"},
            "body": {"participant": "eve", "calls": "1"},
            "media_type": "application/x-www-form-urlencoded",
        },
    ],
    "GET /v1/programs/{program}/boards/program": [
        {"path_parameters": {"program": "sprint"}},
        {"path_parameters": {"program": "sprint"}, "query": {"period": "2026-W47"}},
    ],
    "GET /v1/programs/{program}/boards/participants": [{"path_parameters": {"program": "sprint"}}],
    "GET /v1/programs/{program}/boards/division/{division}": [
        {"path_parameters": {"program": "sprint", "division": "south"}}
    ],
    "GET /v1/programs/{program}/boards/team/{team}": [{"path_parameters": {"program": "sprint", "team": "gold"}}],
    "GET /v1/programs/{program}/participants/{participant}/scorecard": [
        {"path_parameters": {"program": "sprint", "participant": "eve"}}
    ],
    "POST /v1/programs/{program}/submissions/{submission}/void": [
        {
            "path_parameters": {"program": "sprint", "submission": "s1"},
            "body": {"participant": "ann", "reason": "typo"},
            "media_type": "application/json",
        }
    ],
    "POST /v1/programs/{program}/bulletins": [
        {"path_parameters": {"program": "sprint"}, "body": {"status": "draft"}, "media_type": "application/json"}
    ],
    "GET /v1/programs/{program}/bulletins": [{"path_parameters": {"program": "sprint"}}],
    **{
        f"GET /v1/programs/{{program}}/bulletins/{{bulletin}}{tail}": [
            {"path_parameters": {"program": "sprint", "bulletin": "draft", **extra}}
        ]
        for tail, extra in [
            ("", {}),
            ("/post", {}),
            ("/card.png", {}),
            ("/digests/{participant}", {"participant": "eve"}),
        ]
    },
}
# Malformed requests sent every run, whatever the generator happens to draw: they must be refused with a documented
# 4xx, never a 500. (Some use query parameters the document does not declare, so Schemathesis never sends them.)
MALFORMED: dict[str, list[dict[str, Any]]] = {
    "PATCH /v1/programs/{program}/participants/{participant}": [
        {"path_parameters": {"program": "sprint", "participant": "bob"}, "body": body, "media_type": "application/json"}
        for body in ({"name": 3}, {"name": ["Bob"]}, {"name": {"first": "Bob"}}, {"name": None})
    ],
    "PUT /v1/programs/{program}/participants/{participant}": [
        {"path_parameters": {"program": "sprint", "participant": "bob"}, "body": body, "media_type": "application/json"}
        for body in ({"name": 3}, {"name": ["Bob"]}, {"name": "Bob", "active": "yes"})
    ],
    "GET /v1/programs/{program}/boards/program": [
        {"path_parameters": {"program": "sprint"}, "query": {"period": period}} for period in ("nope", "2026-W99", "")
    ],
    "GET /v1/programs/{program}/participants/{participant}/scorecard": [
        {"path_parameters": {"program": "sprint", "participant": "eve"}, "query": {"period": "1999-13"}}
    ],
    "POST /v1/programs/{program}/submissions": [
        {"path_parameters": {"program": "sprint"}, "body": body, "media_type": "application/json"}
        for body in ([], [1], {"participant": "eve", "values": {"calls": "many"}}, {"participant": "eve", "values": []})
    ],
}


@pytest.mark.parametrize("route", _template_operations())
def test_operation_conforms_to_schema(served: Served, route: str) -> None:
    method, path = route.split(" ", 1)
    try:
        operation = served.schema[path][method]
    except KeyError:
        pytest.fail(f"{route} is routed by template.yaml but missing from /v1/openapi.json")
    names = [p.name for p in operation.path_parameters]
    known = {n: KNOWN[n] for n in names if n in KNOWN}
    # Free path parameters (mostly 404s), then the program alone, then everything named as existing.
    fixed: list[dict[str, str]] = [{}]
    if "program" in known:
        fixed.append({"program": "sprint"})
    if len(known) > 1 or (known and "program" not in known):
        fixed.append(known)
    strategies = [
        operation.as_strategy(generation_mode=mode, path_parameters=params or None)
        for params in fixed
        for mode in GenerationMode
    ]
    findings = Findings()
    auth = {"Authorization": f"Bearer {served.key}"}

    def check(case: Any, *, well_formed: bool = False) -> None:
        try:
            response = case.call(base_url=BASE_URL, session=served.session, headers=auth)
        except Exception as e:  # the handler raised instead of answering: as bad as a 500
            findings.add("crash", type(e).__name__, repr(e), 0, f"{case.method} {case.formatted_path}", "-")
            return
        if well_formed and not 200 <= response.status_code < 300:
            findings.add(
                "well_formed",
                "A well-formed request was refused",
                "",
                response.status_code,
                _describe_request(response.request),
                _describe_response(response.status_code, response.headers, response.content),
            )
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.add(
                    failure.checks[0] if failure.checks else failure.code,
                    failure.title,
                    failure.message,
                    response.status_code,
                    _describe_request(response.request),
                    _describe_response(response.status_code, response.headers, response.content),
                )

    for kwargs in WELL_FORMED.get(route, []):
        # The spare key's id is known only once it is made.
        made = {"key_id": served.spare_key, "bulletin": served.bulletin}
        params = {k: made.get(k, v) for k, v in kwargs.get("path_parameters", {}).items()}
        check(operation.Case(**{**kwargs, "path_parameters": params}), well_formed=True)
    for kwargs in MALFORMED.get(route, []):
        check(operation.Case(**kwargs))

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def generated(case: Any) -> None:
        check(case)

    generated()
    if findings.by_key:
        pytest.fail(findings.report(route), pytrace=False)


def test_document_is_served_as_json(served: Served) -> None:
    reply = Client(served.api, served.key).call("GET", "/v1/openapi.json")
    assert reply.headers["content-type"].startswith("application/json")
    assert json.loads(reply.text)["openapi"].startswith("3.")
