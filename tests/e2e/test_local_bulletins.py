"""End to end over HTTP: bulletins on `podium local`. A final bulletin mails each participant their own numbers
(the numbers `podium score` computes), with a one-click unsubscribe that the next bulletin honours; it posts to
Slack (the fake service) and to a receiver's webhook, signed as Standard Webhooks says; with no new scores it
sends nothing; and a stack SIGKILLed half-way through 1,000 digests, started again, sends nobody two, and says
how many are in doubt."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from e2e_stack import RunningStack, create_org, running_stack, start_stack, wait_for
from podium.domain.periods import period_of
from podium.domain.program import program_from_dict
from podium.domain.text import number

pytestmark = pytest.mark.e2e

HOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def program(pid: str, *, hook_url: str = "", slack: bool = False) -> dict[str, Any]:
    channels: list[dict[str, str]] = []
    if slack:
        channels.append({"name": "relay-slack", "kind": "slack", "secret": f"/podium/prod/{pid}/slack"})
    if hook_url:
        channels.append(
            {"name": "relay-hook", "kind": "webhook", "secret": f"/podium/prod/{pid}/hook", "url": hook_url}
        )
    return {
        "id": pid,
        "name": "Relay <Challenge>",
        "timezone": "UTC",
        "period": "week",
        "week_start": "monday",
        "visibility": "public",
        "metrics": [
            {"key": "laps", "label": "Laps run", "points": {"per_unit": 2}, "team_rollup": "sum"},
            {"key": "kind", "label": "Kind words", "points": {"per_unit": 0.5}, "team_rollup": "mean"},
        ],
        "bulletins": {"channels": channels},
    }


def roster(count: int) -> str:
    lines = ["id,name,email,team,division"]
    for i in range(count):
        team = f"Team {i % 10}"
        lines.append(f"p{i:04d},Runner {i:04d},runner{i:04d}@example.org,{team},{'East' if i % 2 else 'West'}")
    return "\n".join(lines) + "\n"


class Receiver:
    """A webhook receiver on loopback, as a customer would run one: it keeps each request's raw body and
    headers, to verify the signature as the receiver's library does."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/podium-events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[RunningStack]:
    yield from running_stack(tmp_path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def put_secret(stack: RunningStack, name: str, value: str) -> None:
    """What an operator does once per channel: the secret in SSM (the local stack's moto)."""
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.local.state["moto_endpoint"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def this_period(doc: dict[str, Any]) -> str:
    p = program_from_dict(doc)
    return period_of(datetime.now(UTC), p.period, p.tz, p.week_start).key


def set_up(stack: RunningStack, doc: dict[str, Any], participants: int) -> None:
    pid = doc["id"]
    assert stack.json("PUT", f"/v1/programs/{pid}", doc)[0] == 200
    status, _, body = stack.call("PUT", f"/v1/programs/{pid}/roster", roster(participants).encode(), "text/csv")
    assert status == 200, body


def submit(stack: RunningStack, pid: str, rows: list[dict[str, Any]]) -> None:
    at = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    for start in range(0, len(rows), 250):
        chunk = [{**r, "at": at} for r in rows[start : start + 250]]
        status, body = stack.json("POST", f"/v1/programs/{pid}/submissions", chunk)
        assert status == 200 and body["accepted"] == len(chunk), body


def standings(stack: RunningStack, pid: str) -> dict[str, dict[str, Any]]:
    status, body = stack.json("GET", f"/v1/programs/{pid}/boards/participants")
    assert status == 200, body
    return {s["id"]: s for s in body["standings"]}


def settled(stack: RunningStack, pid: str, want: dict[str, float]) -> dict[str, dict[str, Any]]:
    """The participants' board once it shows every expected total (the stream has caught up)."""

    def ready() -> dict[str, dict[str, Any]] | None:
        board = standings(stack, pid)
        return board if all(board.get(p, {}).get("points") == v for p, v in want.items()) else None

    return wait_for(ready, timeout=180)


def publish(stack: RunningStack, pid: str, doc: dict[str, Any]) -> dict[str, Any]:
    status, body = stack.json("POST", f"/v1/programs/{pid}/bulletins", {"status": "final", "period": this_period(doc)})
    assert status in (201, 202), body
    return dict(body)


def emails(stack: RunningStack, subject_has: str) -> list[EmailMessage]:
    status, listing = stack.json("GET", "/outbox.json")
    assert status == 200
    found = []
    for entry in listing["entries"]:
        if entry["kind"] == "email" and subject_has in entry["subject"]:
            status, _, raw = stack.call("GET", f"/outbox/{entry['files']['eml']}")
            assert status == 200
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
    return found


def posts(stack: RunningStack, path_start: str) -> list[dict[str, Any]]:
    status, listing = stack.json("GET", "/outbox.json")
    assert status == 200
    return [e for e in listing["entries"] if e["kind"] == "post" and e["path"].startswith(path_start)]


def test_a_final_bulletin_mails_everyone_posts_signed_and_honours_one_click_unsubscribe(
    local_stack: RunningStack, receiver: Receiver
) -> None:
    doc = program("relay", hook_url=receiver.url, slack=True)
    put_secret(local_stack, "/podium/prod/relay/slack", f"{local_stack.local.state['channels_url']}/slack/T1/B1/relay")
    put_secret(local_stack, "/podium/prod/relay/hook", HOOK_SECRET)
    set_up(local_stack, doc, 12)
    rows = [{"id": f"s{i}", "participant": f"p{i:04d}", "values": {"laps": i + 1, "kind": i % 3}} for i in range(12)]
    submit(local_stack, "relay", rows)
    board = settled(local_stack, "relay", {f"p{i:04d}": 2 * (i + 1) + 0.5 * (i % 3) for i in range(12)})

    made = publish(local_stack, "relay", doc)
    assert made["state"] == "sent", made
    assert made["summary"]["digests"] == {"sent": 12}
    assert {name: post["state"] for name, post in made["summary"]["posts"].items()} == {
        "relay-slack": "sent",
        "relay-hook": "sent",
    }

    # One email each, with their own rank and points (the board's, which `podium score` agrees with), both parts,
    # and RFC 8058's one-click headers.
    mail = emails(local_stack, "Relay <Challenge>")
    assert sorted(str(m["To"]) for m in mail) == sorted(f"runner{i:04d}@example.org" for i in range(12))
    for message in mail:
        who = re.search(r"runner(\d{4})@", str(message["To"]))
        assert who is not None
        line = board[f"p{who.group(1)}"]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"Rank: #{line['rank']} of 12" in text, text
        assert f"Points: {number(line['points'])}" in text, text
        assert "Relay &lt;Challenge&gt;" in html and "<Challenge>" not in html
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert str(message["List-Unsubscribe"]).startswith(f"<{local_stack.url}/u/")

    # Slack got Block Kit at the fake service; the receiver got one signed event that verifies.
    (slack,) = posts(local_stack, "/slack/T1/B1/relay")
    # Slack's mrkdwn would read "<…>" as a link: the fallback text escapes it as Slack documents.
    assert slack["body"]["blocks"] and "Relay &lt;Challenge&gt;" in slack["body"]["text"]
    ((headers, body),) = receiver.received
    event = Webhook(HOOK_SECRET).verify(body, headers)
    assert event["type"] == "bulletin.published"
    assert headers["webhook-id"].endswith(f"/relay/{made['id']}/relay-hook")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)

    # No new scores: nothing is sent, nothing is posted.
    quiet = publish(local_stack, "relay", doc)
    assert quiet["state"] == "quiet" and len(emails(local_stack, "Relay <Challenge>")) == 12
    assert len(receiver.received) == 1

    # One click (what a mail client posts) stops p0003's digests; a GET only asks.
    leaver = next(m for m in mail if "runner0003@" in str(m["To"]))
    link = str(leaver["List-Unsubscribe"]).strip("<>").removeprefix(local_stack.url)
    status, _, page = local_stack.call("GET", link, key="")
    assert status == 200 and b"<form" in page
    status, _, answer = local_stack.call(
        "POST", link, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded", key=""
    )
    assert (status, answer) == (200, b"unsubscribed\n")
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    status, _, _ = local_stack.call(
        "POST", tampered, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded", key=""
    )
    assert status == 400

    submit(local_stack, "relay", [{"id": "late", "participant": "p0000", "values": {"laps": 40}}])
    settled(local_stack, "relay", {"p0000": 82.0})
    again = publish(local_stack, "relay", doc)
    assert again["state"] == "sent" and again["summary"]["digests"] == {"opted_out": 1, "sent": 11}
    counted = Counter(str(m["To"]) for m in emails(local_stack, "Relay <Challenge>"))
    assert counted["runner0003@example.org"] == 1
    assert all(n == 2 for to, n in counted.items() if to != "runner0003@example.org")
    assert len(receiver.received) == 2


def test_a_stack_killed_mid_bulletin_sends_nobody_two_and_reports_what_is_in_doubt(tmp_path: Path) -> None:
    count = 1000
    data = tmp_path / "podium"
    stack = start_stack(data)
    key = create_org(stack, "e2e")
    stack.key = key
    doc = program("crash")
    set_up(stack, doc, count)
    submit(
        stack,
        "crash",
        [{"id": f"s{i}", "participant": f"p{i:04d}", "values": {"laps": 1 + i % 50}} for i in range(count)],
    )
    settled(stack, "crash", {f"p{i:04d}": 2.0 * (1 + i % 50) for i in range(count)})
    outbox = data / "outbox"

    def sent_so_far() -> int:
        return len(list(outbox.glob("*-email-*.eml")))

    # The request runs until the stack dies under it; SIGKILL once a quarter of the digests are out.
    def make_bulletin() -> None:
        with contextlib.suppress(OSError):  # the connection dies with the stack
            stack.json("POST", "/v1/programs/crash/bulletins", {"status": "final", "period": this_period(doc)})

    caller = threading.Thread(target=make_bulletin, daemon=True)
    caller.start()
    wait_for(lambda: sent_so_far() >= count // 4, timeout=300, every=0.05)
    stack.local.kill()
    before = sent_so_far()
    assert before < count, "the bulletin finished before the kill: nothing was tested"

    stack = start_stack(data)
    stack.key = key
    try:
        (bulletin,) = stack.json("GET", "/v1/programs/crash/bulletins")[1]["bulletins"]
        assert bulletin["state"] == "sending"
        # The schedule's run (every 5 minutes when deployed) finishes what was started.
        fired: list[int] = []
        threading.Thread(target=lambda: fired.append(stack.call("POST", "/_local/fire/PublishFunction")[0])).start()
        finished = wait_for(
            lambda: (
                (b := stack.json("GET", f"/v1/programs/crash/bulletins/{bulletin['id']}")[1])["state"] == "sent" and b
            ),
            timeout=300,
        )
        assert wait_for(lambda: fired, timeout=60) == [200]
    finally:
        stack.local.stop()

    to: Counter[str] = Counter()
    for eml in outbox.glob("*-email-*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        to[str(message["To"])] += 1
    assert max(to.values()) == 1, [a for a, n in to.items() if n > 1]
    digests = finished["summary"]["digests"]
    missing = count - len(to)
    # A digest claimed but not known to be sent when the stack died is "in doubt": never sent again, and counted.
    assert digests.get("sent", 0) + digests.get("in_doubt", 0) == count, digests
    assert missing <= digests.get("in_doubt", 0) <= 8, (missing, digests)
    assert before < len(to)


class Images(HTMLParser):
    """The <img> tags of a page, their attributes as the browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.found.append({k: v or "" for k, v in attrs})


def test_the_outbox_shows_each_post_with_the_cards_it_carried(local_stack: RunningStack) -> None:
    doc = program("cards")
    doc["bulletins"]["channels"] = [
        {"name": "cards-x", "kind": "x", "secret": "/podium/prod/cards/x"},
        {"name": "cards-in", "kind": "linkedin", "secret": "/podium/prod/cards/in", "author": "urn:li:organization:7"},
        {"name": "cards-slack", "kind": "slack", "secret": "/podium/prod/cards/slack"},
        {"name": "cards-teams", "kind": "teams", "secret": "/podium/prod/cards/teams"},
    ]
    fakes = local_stack.local.state["channels_url"]
    for name, value in [
        ("x", "x-token"),
        ("in", "li-token"),
        ("slack", f"{fakes}/slack/T1/B1/cards"),
        ("teams", f"{fakes}/teams/workflows/cards/invoke?sig=s"),
    ]:
        put_secret(local_stack, f"/podium/prod/cards/{name}", value)
    set_up(local_stack, doc, 12)
    submit(
        local_stack,
        "cards",
        [{"id": f"c{i}", "participant": f"p{i:04d}", "values": {"laps": i + 1}} for i in range(12)],
    )
    settled(local_stack, "cards", {f"p{i:04d}": 2.0 * (i + 1) for i in range(12)})
    made = publish(local_stack, "cards", doc)
    assert {name: p["state"] for name, p in made["summary"]["posts"].items()} == dict.fromkeys(
        ("cards-x", "cards-in", "cards-slack", "cards-teams"), "sent"
    ), made

    # The cards, as the card route draws them: the top 10, then the two divisions in rank order.
    status, post = local_stack.json("GET", f"/v1/programs/cards/bulletins/{made['id']}/post")
    assert status == 200 and len(post["images"]) == 3, post
    card = f"/v1/programs/cards/bulletins/{made['id']}/card.png"
    drawn = {}
    for image in post["images"]:
        status, _, png = local_stack.call("GET", f"{card}?{urlencode({'board': image['board']})}")
        assert status == 200 and png.startswith(b"\x89PNG")
        drawn[hashlib.sha256(png).hexdigest()] = png

    status, _, page = local_stack.call("GET", "/outbox", key="")
    assert status == 200
    images = Images()
    images.feed(page.decode())
    assert images.found and all(i["alt"] or "/outbox/picture-" in i["src"] for i in images.found)
    for image in images.found:
        status, headers, body = local_stack.call("GET", image["src"], key="")  # what the browser fetches
        assert status == 200 and {k.lower(): v for k, v in headers.items()}["content-type"] == "image/png"
        assert hashlib.sha256(body).hexdigest() in drawn, image  # each one is a card the bulletin drew
    # X and LinkedIn were sent the three cards' bytes, kept as uploaded; Slack and Teams name their links.
    (tweet,) = posts(local_stack, "/2/tweets")
    (linkedin,) = posts(local_stack, "/rest/posts")
    for entry in (tweet, linkedin):
        assert [p["sha256"] for p in entry["pictures"]] == list(drawn), entry["pictures"]
        assert [p["alt"] for p in entry["pictures"]] == [i["alt"] for i in post["images"]]
    uploads = posts(local_stack, "/2/media/upload")
    assert sorted(u["body"]["media"]["sha256"] for u in uploads) == sorted(drawn)
    for path in ("/slack/T1/B1/cards", "/teams/workflows/cards/invoke"):
        (entry,) = posts(local_stack, path)
        assert [p["url"] for p in entry["pictures"]] == [i["url"] for i in post["images"]]
        sources = [i["src"] for i in images.found]
        assert all(p["url"].removeprefix(local_stack.url) in sources for p in entry["pictures"])
