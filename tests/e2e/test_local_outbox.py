"""End to end: a template function with a Schedule event, fired with `podium local fire`, sends an email through
SES v2 and posts to Slack; nothing leaves the machine, and both are listed at /outbox and /outbox.json."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import e2e_stack
from e2e_stack import PODIUM, RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

SUBJECT = "Your week <script>alert(1)</script>"
DIGEST = """
import json
import os
import urllib.request

import boto3


def handler(event, context):
    sent = boto3.client("sesv2").send_email(
        FromEmailAddress="Podium <digest@podium.example>",
        Destination={"ToAddresses": ["ann@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": SUBJECT},
                "Body": {"Text": {"Data": "Hello Ann\\nYou lead."}, "Html": {"Data": "<p>Hello <b>Ann</b></p>"}},
            }
        },
    )
    post = urllib.request.Request(
        os.environ["PODIUM_CHANNEL_OUTBOX"] + "/slack",
        data=json.dumps({"text": "Ann leads the board"}).encode(),
        headers={"Content-Type": "application/json", "X-Podium-Destination": "slack:#sales"},
        method="POST",
    )
    with urllib.request.urlopen(post) as reply:
        slack = json.loads(reply.read())
    return {"message_id": sent["MessageId"], "slack": slack, "event": event}
""".replace("SUBJECT", repr(SUBJECT))

SCHEDULED_FUNCTION = """
  DigestFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/digest/
      Handler: app.handler
      Events:
        Weekly:
          Type: Schedule
          Properties:
            Schedule: cron(0 8 ? * MON *)

Outputs:"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's template and functions, plus a function with a schedule."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(e2e_stack.ROOT / "functions", root / "functions")
    template = (e2e_stack.ROOT / "template.yaml").read_text().replace("\nOutputs:", SCHEDULED_FUNCTION, 1)
    (root / "template.yaml").write_text(template)
    (root / "functions" / "digest").mkdir()
    (root / "functions" / "digest" / "app.py").write_text(DIGEST)
    return root


@pytest.fixture(scope="module")
def stack(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("podium"), root=repo)
    try:
        yield running
    finally:
        stop_stack(running)


def fire(repo: Path, data: Path, function: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PODIUM, "local", "fire", function, "--data", str(data)], cwd=repo, capture_output=True, text=True, check=False
    )


def test_a_fired_schedule_sends_an_email_and_a_post_that_land_in_the_outbox(stack: RunningStack, repo: Path) -> None:
    fired = fire(repo, stack.data_dir, "DigestFunction")
    assert fired.returncode == 0, fired.stderr
    returned = json.loads(fired.stdout)
    assert (returned["event"]["source"], returned["event"]["detail-type"]) == ("aws.events", "Scheduled Event")
    assert returned["slack"] == {"ok": True}

    status, listing = stack.json("GET", "/outbox.json")
    assert status == 200
    assert "DigestFunction" in [s["function"] for s in listing["schedules"]]
    (email,) = [e for e in listing["entries"] if e["kind"] == "email"]
    (post,) = [e for e in listing["entries"] if e["kind"] == "post"]
    assert (email["subject"], email["to"], email["message_id"]) == (
        SUBJECT,
        ["ann@example.com"],
        returned["message_id"],
    )
    assert (post["destination"], post["body"]) == ("slack:#sales", {"text": "Ann leads the board"})

    status, _, raw = stack.call("GET", "/outbox/" + email["files"]["eml"])
    assert status == 200
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert (message["Subject"], message["To"]) == (SUBJECT, "ann@example.com")
    html = message.get_body(("html",))
    assert html is not None and "<b>Ann</b>" in html.get_content()

    status, _, preview = stack.call("GET", "/outbox/" + email["files"]["html"])
    assert status == 200 and b"Hello Ann" in preview
    status, _, post_json = stack.call("GET", "/outbox/" + post["files"]["json"])
    assert status == 200 and json.loads(post_json)["destination"] == "slack:#sales"

    status, _, page = stack.call("GET", "/outbox")
    assert status == 200
    assert b"Your week &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert b"<script>alert" not in page
    assert b"slack:#sales" in page and email["files"]["eml"].encode() in page


def test_firing_a_function_without_a_schedule_lists_the_ones_with_one(stack: RunningStack, repo: Path) -> None:
    fired = fire(repo, stack.data_dir, "IngestFunction")
    assert fired.returncode == 2
    assert "IngestFunction has no schedule" in fired.stderr and "DigestFunction" in fired.stderr


def test_files_outside_the_outbox_are_refused(stack: RunningStack) -> None:
    parts = urlsplit(stack.url)
    for path in ("/outbox/../stack.json", "/outbox/..%2fstack.json", "/outbox/%2e%2e/stack.json"):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        connection.request("GET", path)  # sent as written: no client tidies the dots away
        reply = connection.getresponse()
        assert (path, reply.status) == (path, 404)
        assert b"dynamodb_endpoint" not in reply.read()
        connection.close()


def test_fire_without_a_running_stack_says_so(repo: Path, tmp_path: Path) -> None:
    fired = fire(repo, tmp_path / "nothing-here", "DigestFunction")
    assert fired.returncode == 2
    assert "no local stack is running" in fired.stderr


def test_other_sites_cannot_reach_the_stack_or_its_keyless_actions(stack: RunningStack) -> None:
    parts = urlsplit(stack.url)

    def send(method: str, path: str, headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        connection.request(method, path, body=b"{}", headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status

    # A page on a domain rebound to 127.0.0.1 sends its own name as Host: it reads nothing.
    assert send("GET", "/outbox.json", {"Host": "evil.example:80"}) == 403
    assert send("GET", "/v1/openapi.json", {"Host": f"evil.example:{parts.port}"}) == 403
    # A page on another site may post to this port from the browser: not to fire a function or fake a post.
    cross_site = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    assert send("POST", "/_local/fire/DigestFunction", cross_site) == 403
    assert send("POST", "/outbox/channels/slack", {"Sec-Fetch-Site": "cross-site"}) == 403
    assert send("GET", "/outbox.json", {"Host": f"localhost:{parts.port}"}) == 200
