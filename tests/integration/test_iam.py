"""Least privilege, checked: each function's DynamoDB grants in template.yaml are exactly the calls its code makes.

Every DynamoDB call made while a function handles a request (routed by the template, as in `LocalApi`), a stream
batch (the `stream` fixture) or a scheduled event is recorded against that function, then compared with its policy.
A call it is not granted fails in AWS with AccessDenied (a Query of gsi1 needs the index's ARN too); a grant it never
uses is privilege to take away. The exercise sends every route and schedule of the template and drives every way the
aggregator writes (late scores after a move, voids, deactivations, new rules), so a grant unused here is unused.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlencode

import boto3
import botocore.client
import pytest

from conftest import REFS, ROOT, Client, _clear_caches
from podium_cli.local.apigw import LambdaContext, load_function, routes_from_template
from podium_cli.local.schedules import schedules_from_template
from podium_cli.local.streams import stream_consumers
from podium_cli.template import load_template

TEMPLATE = load_template(ROOT / "template.yaml")
TABLE = "${PodiumTable.Arn}"
HTTP_FUNCTIONS = sorted({r.function for r in routes_from_template(TEMPLATE)})
STREAM_FUNCTIONS = sorted(name for name, _ in stream_consumers(TEMPLATE))
SCHEDULED_FUNCTIONS = sorted({s.function for s in schedules_from_template(TEMPLATE)})
SNS_FUNCTIONS = ["MailEventsFunction"]
NOT_STREAMED = [*HTTP_FUNCTIONS, *SCHEDULED_FUNCTIONS, *SNS_FUNCTIONS]  # checked on moto too

Grants = dict[str, set[str]]  # resource (as written in the template) -> DynamoDB actions


@dataclass(frozen=True)
class Call:
    action: str  # dynamodb:Query
    index: str | None = None  # IndexName, which IAM checks against {table}/index/{name}

    @property
    def resource(self) -> str:
        return TABLE if self.index is None else f"{TABLE}/index/{self.index}"


def grants(template: dict[str, Any], function: str) -> Grants:
    """The DynamoDB actions a function's inline policy statements allow, by resource."""
    found: Grants = defaultdict(set)
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        # A SAM policy template or a managed policy would hide its actions from this check: refuse it.
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, f"{function}: unsupported policy {policy!r}"
        for statement in [s for written in policy["Statement"] for s in _branches(written)]:
            actions = {a for a in _listed(statement["Action"]) if a.startswith("dynamodb:")}
            if statement.get("Effect") == "Allow" and actions:
                for resource in _listed(statement["Resource"]):
                    found[_arn(resource)] |= actions
    return dict(found)


def _branches(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement, or both statements of an `!If` (one is granted, whichever the condition)."""
    if "Fn::If" in statement:
        return [b for b in statement["Fn::If"][1:] if isinstance(b, dict) and "Action" in b]
    return [statement]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn(resource: Any) -> str:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return "${" + ".".join(_listed(resource["Fn::GetAtt"])) + "}"
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return str(resource["Fn::Sub"])
    return str(resource)


def mismatches(function: str, granted: Grants, calls: set[Call]) -> list[str]:
    """What to change in the function's policy: calls it lacks a grant for, grants (and the index) it never uses."""
    problems = []
    for call in sorted(calls, key=lambda c: (c.action, c.resource)):
        if not any(fnmatch(call.resource, r) and any(fnmatch(call.action, a) for a in granted[r]) for r in granted):
            problems.append(f"{function} calls {call.action} on {call.resource} but is not granted it: add it")
    for action in sorted(set().union(*granted.values())):
        if not any(fnmatch(c.action, action) for c in calls):
            problems.append(f"{function} is granted {action} but never calls it: remove it")
    for resource in sorted(r for r in granted if r != TABLE):
        if not any(c.index and fnmatch(c.resource, resource) for c in calls):
            problems.append(f"{function} is granted {resource} but never queries that index: remove it")
    return problems


class Recorder:
    """DynamoDB calls by the function running when they are made (worker threads included: ingest writes in a
    pool, so the current function is a plain attribute, not thread- or context-local)."""

    def __init__(self) -> None:
        self.function: str | None = None
        self.calls: dict[str, set[Call]] = defaultdict(set)
        self.routes: set[str] = set()

    def wrap(self, function: str, handler: Callable[..., Any], route: str | None = None) -> Callable[..., Any]:
        def recorded(event: dict[str, Any], context: Any) -> Any:
            if route:
                self.routes.add(route)
            self.function = function
            try:
                return handler(event, context)
            finally:
                self.function = None

        return recorded


@pytest.fixture
def recorder(admin: Client, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        # Recorded before the call: a refused conditional write still needed the permission.
        if recorder.function and client.meta.service_model.service_name == "dynamodb":
            recorder.calls[recorder.function].add(Call(f"dynamodb:{operation}", params.get("IndexName")))
        return make_api_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    local_api, handler = admin.api, admin.api.handler
    monkeypatch.setattr(local_api, "handler", lambda r: recorder.wrap(r.function, handler(r), r.route_key))
    return recorder


# --- the exercise ------------------------------------------------------------------------------------------------

SPRINT: dict[str, Any] = {
    "id": "sprint",
    "timezone": "UTC",
    "period": "week",
    "backdate_days": 10,
    "metrics": [
        {"key": "calls"},
        {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"},
        {"key": "training", "period_aggregate": "ignore_period"},  # a running total: the rollover starts periods
    ],
    # Posts even with no news (on moto there are no standings); its secret is missing, so the post fails at once.
    "bulletins": {
        "quiet_post": True,
        "channels": [
            {
                "name": "hook",
                "kind": "webhook",
                "secret": "/podium/prod/sprint/hook",
                "url": "https://hooks.example.org",
            }
        ],
    },
}
# Rank-based rules: every board of it reads everyone in the period (the sparse index).
RELAY: dict[str, Any] = {
    "id": "relay",
    "metrics": [{"key": "response", "period_aggregate": "average", "order": "asc", "method": "relative"}],
}
ROSTER = (
    "id,name,email,team,division\nann,Ann,ann@example.org,Red,North\nbob,Bob,bob@example.org,Red,North\n"
    "cy,Cy,cy@example.org,Blue,North\ndi,Di,,Green,South\n"
)
SENDER = "Podium <podium@example.org>"


@pytest.fixture
def mail(admin: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests on: a sender (moto's SES verifies it), as the SenderAddress parameter gives a deployment."""
    boto3.client("sesv2").create_email_identity(EmailIdentity="podium@example.org")
    monkeypatch.setenv("PODIUM_MAIL_FROM", SENDER)
    monkeypatch.setenv("PODIUM_SES_MAX_SEND_RATE", "100")  # moto has no sesv2 GetAccount
    _clear_caches()


def bounce(address: str) -> dict[str, Any]:
    """SNS's event for SES's notice of a permanent bounce, as the mail-events function receives it."""
    notice = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address}],
        },
        "mail": {"destination": [address]},
    }
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(notice)}}]}


def exercise(admin: Client, recorder: Recorder, drain: Callable[[], Any], table: str) -> None:
    """Every route and schedule of the template, and every kind of change the aggregator handles."""

    def ok(method: str, path: str, body: Any = None, status: int | None = None, **kw: Any) -> Any:
        reply = admin.call(method, path, body, **kw)
        good = reply.status == status if status else 200 <= reply.status < 300
        assert good, f"{method} {path}: {reply.status} {reply.text}"
        return reply.json if reply.headers.get("content-type", "").startswith("application/json") else None

    p, last_week = "/v1/programs/sprint", datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    past = last_week.strftime("%G-W%V")  # its ISO week, as a period key
    ok("PUT", p, SPRINT)
    ok("PUT", f"{p}/roster", ROSTER, content_type="text/csv", query="dry_run=true")
    ok("PUT", f"{p}/roster", ROSTER, content_type="text/csv")
    rows = [{"id": f"s-{who}", "participant": who, "values": {"calls": 3, "nps": 10}} for who in ("ann", "bob", "di")]
    rows.append({"id": "s-old", "participant": "cy", "at": last_week.isoformat(), "values": {"calls": 2}})
    ok("POST", f"{p}/submissions", rows)
    drain()
    ok("PATCH", f"{p}/participants/ann", {"team": "Blue"})  # a move
    drain()
    late = {"id": "s-late", "participant": "ann", "at": last_week.isoformat(), "values": {"calls": 4}}
    ok("POST", f"{p}/submissions", [late])  # a late score for the week before the move
    ok("POST", f"{p}/submissions", [late])  # a duplicate
    token = ok("POST", f"{p}/tokens/submit")["token"]
    form = urlencode({"participant": "bob", "calls": "1", "token": token})
    ok("POST", f"{p}/submissions", form, key="", content_type="application/x-www-form-urlencoded")
    ok("POST", f"{p}/submissions", "id,participant,calls\ncsv-1,cy,5\ncsv-2,bob,1\n", content_type="text/csv")
    ok("POST", f"{p}/submissions", [{"id": "fix", "participant": "cy", "voids": "csv-1", "values": {"calls": 6}}])
    ok("POST", f"{p}/submissions/s-bob/void", {"participant": "bob", "reason": "typo"})
    drain()
    ok("DELETE", f"{p}/participants/di")  # a deactivation
    ok("PUT", f"{p}/participants/eve", {"name": "Eve", "team": "Green", "division": "South"})
    drain()

    def forget_mirror(participant: str) -> None:
        """A participant listed before membership mirrors existed: marking them writes the mirror (BatchWriteItem)."""
        key = {"pk": {"S": f"O#acme#PROG#sprint#P#{participant}"}, "sk": {"S": "M"}}
        boto3.client("dynamodb").delete_item(TableName=table, Key=key)
        drain()

    def new_rules(per_unit: int) -> None:  # the aggregator marks every membership (UpdateItem)
        calls = {"key": "calls", "points": {"per_unit": per_unit}}
        ok("PUT", p, {**SPRINT, "metrics": [calls, *SPRINT["metrics"][1:]]})
        drain()

    new_rules(2)
    forget_mirror("bob")
    new_rules(3)
    forget_mirror("cy")
    for schedule in schedules_from_template(TEMPLATE):  # as EventBridge would invoke them
        handler = load_function(ROOT, TEMPLATE, schedule.function, {"PodiumTable": table, **REFS})
        event = schedule.event_payload(datetime.now(UTC), "us-east-1")
        recorder.wrap(schedule.function, handler)(event, LambdaContext(schedule.function))
        drain()
    ok("PUT", "/v1/programs/relay", RELAY)
    ok("PUT", "/v1/programs/relay/roster", ROSTER, content_type="text/csv")
    ok("POST", "/v1/programs/relay/submissions", [{"participant": "ann", "values": {"response": 30}}])
    drain()
    for program in ("sprint", "relay"):
        for period in ("", f"period={past}"):
            for board in ("program", "participants", "division/north", "team/blue"):
                ok("GET", f"/v1/programs/{program}/boards/{board}", query=period)
            ok("GET", f"/v1/programs/{program}/participants/ann/scorecard", query=period)
    ok("GET", "/v1/programs")
    ok("GET", p)
    ok("GET", f"{p}/roster")
    read = ok("POST", f"{p}/tokens/read")["token"]
    pages = "/p/acme/sprint"  # unlisted: with an API key in the header, and with the read token in the URL
    for page in ("", "/everyone", "/division/north", "/team/blue", "/participant/ann", "/tv", "/widget"):
        ok("GET", pages + page)
        ok("GET", pages + page, key="", query=f"t={read}")
    ok("GET", f"{pages}/board.json", key="", query=f"board=division:north&t={read}")
    ok("GET", f"{pages}/widget.js", key="")
    ok("GET", f"{pages}/form", key="", query=f"t={token}")
    ok("GET", "/", key="")
    ok("GET", "/v1", key="")
    ok("GET", "/p/acme", key="", status=404)  # no public program
    key = ok("POST", "/v1/keys", {"name": "ci", "scopes": ["read"]})["id"]
    ok("GET", "/v1/keys")
    ok("DELETE", f"/v1/keys/{key}")
    ok("GET", "/v1/openapi.json")
    ok("GET", "/v1/no-such-thing", status=404)  # the $default route

    # Bulletins: a final one (digests claimed, sent, recorded), its previews, an unsubscribe, then one with no
    # news (quiet) and a draft; a bounce reported by SES through SNS.
    made = ok("POST", f"{p}/bulletins", {"status": "final"}, status=201)
    # Without the stream (on moto) there are no standings: nothing to tell but the post (quiet_post).
    assert made["summary"]["posts"]["hook"]["state"] == "failed", made
    summary = made["summary"]
    assert made["state"] == "quiet" if made["news"] is False else summary["digests"]["sent"] == 3, summary
    b = f"{p}/bulletins/{made['id']}"
    ok("GET", f"{p}/bulletins")
    ok("GET", b)
    ok("GET", f"{b}/post")
    ok("GET", f"{b}/card.png")
    ok("GET", f"{b}/digests/ann")
    link = re.search(r"/u/(\S+)", admin.call("GET", f"{b}/digests/ann", query="format=text").text)
    assert link is not None
    ok("GET", f"/u/{link.group(1)}", key="")
    form = "application/x-www-form-urlencoded"
    ok("POST", f"/u/{link.group(1)}", "List-Unsubscribe=One-Click", key="", content_type=form)
    assert ok("POST", f"{p}/bulletins", {"status": "final"}, status=201)["state"] == "quiet"
    ok("POST", f"{p}/bulletins", {"status": "draft"}, status=201)
    handler = load_function(ROOT, TEMPLATE, "MailEventsFunction", {"PodiumTable": table, **REFS})
    recorder.wrap("MailEventsFunction", handler)(bounce("bob@example.org"), LambdaContext("MailEventsFunction"))


def check(recorder: Recorder, functions: list[str]) -> None:
    problems = [m for f in functions for m in mismatches(f, grants(TEMPLATE, f), recorder.calls[f])]
    assert not problems, "IAM policies in template.yaml differ from what the code calls:\n" + "\n".join(problems)


def test_each_http_and_scheduled_function_calls_exactly_what_it_is_granted(
    admin: Client, recorder: Recorder, backend: str, mail: None
) -> None:
    exercise(admin, recorder, lambda: None, backend)
    unsent = {r.route_key for r in routes_from_template(TEMPLATE)} - recorder.routes
    assert not unsent, f"the exercise must send every route of template.yaml; add requests for {sorted(unsent)}"
    check(recorder, NOT_STREAMED)


@pytest.mark.integration
def test_the_stream_function_calls_exactly_what_it_is_granted(
    admin: Client, recorder: Recorder, stream: Any, backend: str, mail: None
) -> None:
    (function,) = STREAM_FUNCTIONS
    stream.consumer = recorder.wrap(function, stream.consumer)
    exercise(admin, recorder, stream.drain, backend)
    assert not stream.parked, stream.parked
    check(recorder, [function, *NOT_STREAMED])


def test_every_function_with_a_dynamodb_grant_is_exercised() -> None:
    """A function invoked some other way would have its grants go unchecked: the exercise must learn to call it."""
    functions = [n for n, r in TEMPLATE["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"]
    unchecked = {f for f in functions if grants(TEMPLATE, f)} - {*NOT_STREAMED, *STREAM_FUNCTIONS}
    assert not unchecked, f"test_iam.py does not exercise {sorted(unchecked)}: invoke it in exercise()"


def test_the_check_names_the_function_and_the_action_to_add_or_remove() -> None:
    """The check itself: the real policies read as expected, and a changed one fails with the fix in its message."""
    assert grants(TEMPLATE, "BoardsFunction")[f"{TABLE}/index/gsi1"] >= {"dynamodb:Query"}
    assert f"{TABLE}/index/gsi1" not in grants(TEMPLATE, "IngestFunction")
    granted = {TABLE: {"dynamodb:GetItem", "dynamodb:Scan"}, f"{TABLE}/index/*": {"dynamodb:Query"}}
    calls = {Call("dynamodb:GetItem"), Call("dynamodb:PutItem"), Call("dynamodb:GetItem", "gsi1")}
    assert mismatches("F", granted, calls) == [
        "F calls dynamodb:GetItem on ${PodiumTable.Arn}/index/gsi1 but is not granted it: add it",
        "F calls dynamodb:PutItem on ${PodiumTable.Arn} but is not granted it: add it",
        "F is granted dynamodb:Query but never calls it: remove it",
        "F is granted dynamodb:Scan but never calls it: remove it",
    ]
    assert mismatches("F", {TABLE: {"dynamodb:Query"}}, {Call("dynamodb:Query", "gsi1")}) == [
        "F calls dynamodb:Query on ${PodiumTable.Arn}/index/gsi1 but is not granted it: add it"
    ]
    both = {TABLE: {"dynamodb:Query"}, f"{TABLE}/index/gsi1": {"dynamodb:Query"}}
    assert mismatches("F", both, {Call("dynamodb:Query")}) == [
        "F is granted ${PodiumTable.Arn}/index/gsi1 but never queries that index: remove it"
    ]
    with pytest.raises(AssertionError, match="F: unsupported policy"):
        grants({"Resources": {"F": {"Properties": {"Policies": ["AmazonDynamoDBFullAccess"]}}}}, "F")
