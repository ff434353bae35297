"""The channel adapters against the fake services (podium_cli.local.channels), which answer and refuse as the real
APIs document: each kind's payload, the retries and what they count, the address guard, and a missing secret."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from podium.adapters.channels import (
    HttpRequest,
    HttpResponse,
    channel_for,
    little_text,
    multipart,
    stdlib_http,
    x_text,
    x_weight,
)
from podium.domain.announcements import Announcement, CardRow, Image
from podium.domain.program import ChannelConfig, ChannelKind
from podium.services.ports import ChannelFailed, SecretMissing
from podium_cli.local.channels import FakeChannels, fake_channels, unescaped_reserved, x_weighted_length
from podium_cli.local.outbox import Outbox

TOKEN = "x-user-token-abc"
LI_TOKEN = "li-access-token-xyz"
SIGNING = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
AUTHOR = "urn:li:organization:2414183"
BOARD = "https://podium.example/o/acme/p/contest?period=2026-W49"


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


CARD = Image(png(), alt="Top 3 of the week: Dana Ruiz 1,250 pts, Li Wei 1,100 pts, Sam Okafor 990 pts")


def announcement(**changes: Any) -> Announcement:
    fields: dict[str, Any] = {
        "key": "acme/contest/20261207T0800Z-schedule/team-chat",
        "program": "Q4 Sales Contest",
        "period": "week of 30 Nov 2026",
        "headline": "Chicago leads the program; Dana Ruiz is top of the week",
        "lines": ("Li Wei climbed 4 places", "Sam Okafor earned the Closer badge"),
        "rows": (
            CardRow(1, "Dana Ruiz", 1250, 2, "Chicago"),
            CardRow(2, "Li Wei", 1100.5, 4),
            CardRow(3, "Sam <Okafor> & co", 990, None),
        ),
        "url": BOARD,
        "images": (CARD,),
        "data": {"bulletin": "20261207T0800Z-schedule", "period": "2026-W49"},
    }
    return Announcement(**{**fields, **changes})


class Secrets:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.read: list[str] = []

    def get(self, name: str) -> str:
        self.read.append(name)
        if name not in self.values:
            raise SecretMissing(f"There is no parameter {name} in SSM Parameter Store.")
        return self.values[name]


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeChannels]:
    with fake_channels() as server:
        yield server


@pytest.fixture
def env(fake: FakeChannels) -> dict[str, str]:
    return {"PODIUM_ALLOW_LOOPBACK_CHANNELS": "1", "PODIUM_X_API_URL": fake.url, "PODIUM_LINKEDIN_API_URL": fake.url}


@pytest.fixture
def secrets(fake: FakeChannels) -> Secrets:
    return Secrets(
        {
            "/podium/slack": f"{fake.url}/slack/T000/B000/XXXXSECRET",
            "/podium/teams": f"{fake.url}/teams/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG",
            "/podium/x": TOKEN,
            "/podium/linkedin": LI_TOKEN,
            "/podium/hook": SIGNING,
        }
    )


CONFIGS = {
    ChannelKind.SLACK: ChannelConfig("team-chat", ChannelKind.SLACK, "/podium/slack"),
    ChannelKind.TEAMS: ChannelConfig("teams", ChannelKind.TEAMS, "/podium/teams"),
    ChannelKind.X: ChannelConfig("x", ChannelKind.X, "/podium/x"),
    ChannelKind.LINKEDIN: ChannelConfig("linkedin", ChannelKind.LINKEDIN, "/podium/linkedin", author=AUTHOR),
    ChannelKind.WEBHOOK: ChannelConfig("hook", ChannelKind.WEBHOOK, "/podium/hook", url=""),
}


def post(
    kind: ChannelKind,
    secrets: Secrets,
    env: Mapping[str, str],
    waits: Waits | None = None,
    config: ChannelConfig | None = None,
    **changes: Any,
) -> Any:
    channel = channel_for(config or CONFIGS[kind], secrets, sleep=waits if waits is not None else Waits(), env=env)
    return channel.post(announcement(**changes))


def hook(fake: FakeChannels, path: str = "/hooks/receiver") -> ChannelConfig:
    return ChannelConfig("hook", ChannelKind.WEBHOOK, "/podium/hook", url=f"{fake.url}{path}")


# --- each kind, as its API documents -------------------------------------------------------------------------------


def test_slack_gets_block_kit_with_a_fallback_and_a_button_to_the_board(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    delivery = post(ChannelKind.SLACK, secrets, env)

    (request,) = fake.accepted
    assert request.route == "/slack/T000/B000/XXXXSECRET"
    assert request.header("Content-Type").startswith("application/json")
    message = request.json()
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "context", "actions"]  # no image block
    header, section, context, actions = message["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Q4 Sales Contest · week of 30 Nov 2026"}
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].splitlines() == [
        "*Chicago leads the program; Dana Ruiz is top of the week*",
        "1. *Dana Ruiz* 1,250 pts ▲2 · Chicago",
        "2. *Li Wei* 1,100.5 pts ▲4",
        "3. *Sam &lt;Okafor&gt; &amp; co* 990 pts new",  # &, < and > are Slack's markup
    ]
    assert [e["text"] for e in context["elements"]] == ["Li Wei climbed 4 places", "Sam Okafor earned the Closer badge"]
    (button,) = actions["elements"]
    assert (button["type"], button["url"], button["text"]["text"]) == ("button", BOARD, "View the board")
    assert message["text"].startswith("Q4 Sales Contest, week of 30 Nov 2026: Chicago leads")
    assert (delivery.channel, delivery.reference, delivery.attempts) == ("team-chat", "", 1)


def test_teams_gets_one_adaptive_card_in_the_workflow_envelope(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    delivery = post(ChannelKind.TEAMS, secrets, env)

    (request,) = fake.accepted
    assert request.path.endswith("/invoke?sig=SECRETSIG")
    message = request.json()
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["$schema"], card["type"], card["version"]) == (
        "http://adaptivecards.io/schemas/adaptive-card.json",
        "AdaptiveCard",
        "1.4",
    )
    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    assert texts[:3] == [
        "Q4 Sales Contest",
        "week of 30 Nov 2026",
        "Chicago leads the program; Dana Ruiz is top of the week",
    ]
    (facts,) = [e["facts"] for e in card["body"] if e["type"] == "FactSet"]
    assert facts[0] == {"title": "1. Dana Ruiz", "value": "1,250 pts ▲2 · Chicago"}
    assert facts[2] == {"title": "3. Sam <Okafor> & co", "value": "990 pts new"}
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "View the board", "url": BOARD}]
    assert delivery.reference.startswith("0858")  # the workflow run, from x-ms-workflow-run-id


def test_x_uploads_the_card_sets_its_alt_text_then_posts_with_its_media_id(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    delivery = post(ChannelKind.X, secrets, env)

    upload, metadata, tweet = fake.accepted
    assert [r.route for r in fake.accepted] == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]
    assert all(r.header("Authorization") == f"Bearer {TOKEN}" for r in fake.accepted)
    assert upload.header("Content-Type").startswith("multipart/form-data; boundary=")
    (media_id,) = fake.media
    assert fake.media[media_id] == CARD.png  # the PNG arrived whole, as the `media` part
    assert b'name="media_category"\r\n\r\ntweet_image\r\n' in upload.body
    assert metadata.json() == {"id": media_id, "metadata": {"alt_text": {"text": CARD.alt}}}
    body = tweet.json()
    assert body["media"] == {"media_ids": [media_id]}
    assert body["text"].endswith(f"\n{BOARD}")
    assert body["text"].startswith("Q4 Sales Contest, week of 30 Nov 2026: Chicago leads the program")
    assert x_weighted_length(body["text"]) <= 280
    assert delivery.reference in fake.tweets
    assert delivery.attempts == 1


def test_x_without_a_picture_posts_text_only(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    post(ChannelKind.X, secrets, env, images=())
    (tweet,) = fake.accepted
    assert tweet.route == "/2/tweets"
    assert "media" not in tweet.json()


def cards(count: int) -> tuple[Image, ...]:
    """The top 10's card and `count - 1` division cards, each its own PNG, alt text and signed link."""
    boards = ["participants", *(f"division/d{i}" for i in range(1, count))]
    return tuple(
        Image(
            png(4 + i, 3),
            alt=f"Leaderboard {i}: 1. Team {i}, 40 pts",
            board=board,
            title="Top 10" if i == 0 else f"Division {i}",
            url=f"https://podium.example/v1/programs/contest/bulletins/b1/card.png?board={board}&link=signed{i}",
        )
        for i, board in enumerate(boards)
    )


def test_x_uploads_the_first_four_cards_each_with_its_alt_text_and_posts_their_ids_in_order(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    six = cards(6)
    delivery = post(ChannelKind.X, secrets, env, images=six)

    uploads = fake.received("/2/media/upload")
    assert len(uploads) == 4 and len(fake.received("/2/media/metadata")) == 4
    (tweet,) = fake.received("/2/tweets")
    media_ids = tweet.json()["media"]["media_ids"]
    assert [fake.media[i] for i in media_ids] == [c.png for c in six[:4]]  # the top 10 first, then divisions
    assert [fake.alt_texts[i] for i in media_ids] == [c.alt for c in six[:4]]
    assert delivery.reference in fake.tweets and delivery.attempts == 1


def test_x_with_several_cards_never_uploads_one_twice_when_a_step_is_retried(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/2/media/upload", [200, 503, 200])  # the second card's upload fails once
    fake.script("/2/tweets", [500, 201])
    waits = Waits()
    post(ChannelKind.X, secrets, env, waits, images=cards(3))
    assert len(fake.received("/2/media/upload")) == 4 and len(fake.media) == 3
    assert len(fake.tweets) == 1 and waits == [1.0, 1.0]


def test_x_names_the_card_whose_upload_failed(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    fake.script("/2/media/upload", [200, 400])
    with pytest.raises(ChannelFailed, match="X media upload 2 of 3: HTTP 400"):
        post(ChannelKind.X, secrets, env, images=cards(3))
    assert not fake.received("/2/tweets")


def test_linkedin_posts_several_cards_as_one_multi_image_post(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    three = cards(3)
    delivery = post(ChannelKind.LINKEDIN, secrets, env, images=three)

    assert len(fake.received("/rest/images")) == 3
    assert len([r for r in fake.requests if r.method == "PUT"]) == 3
    (created,) = fake.received("/rest/posts")
    content = created.json()["content"]
    assert list(content) == ["multiImage"]
    shown = content["multiImage"]["images"]
    assert [fake.images[i["id"]] for i in shown] == [c.png for c in three]
    assert [i["altText"] for i in shown] == [c.alt for c in three]
    assert delivery.reference in fake.posts


def test_linkedin_with_one_card_posts_it_as_media(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    post(ChannelKind.LINKEDIN, secrets, env, images=cards(1))
    (created,) = fake.received("/rest/posts")
    assert list(created.json()["content"]) == ["media"]


def test_slack_names_each_linked_card_in_an_image_block_before_the_button(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    three = (*cards(3), Image(png(), alt="no public URL", board="division/d9"))  # a card with no link: left out
    post(ChannelKind.SLACK, secrets, env, images=three)

    (request,) = fake.accepted
    blocks = request.json()["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "context", "image", "image", "image", "actions"]
    images = [b for b in blocks if b["type"] == "image"]
    assert [b["image_url"] for b in images] == [c.url for c in three[:3]]
    assert [b["alt_text"] for b in images] == [c.alt for c in three[:3]]
    assert [b["title"] for b in images] == [{"type": "plain_text", "text": c.title} for c in three[:3]]


def test_teams_shows_each_linked_card_as_an_image(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    three = cards(3)
    post(ChannelKind.TEAMS, secrets, env, images=three)

    (request,) = fake.accepted
    body = request.json()["attachments"][0]["content"]["body"]
    images = [e for e in body if e["type"] == "Image"]
    assert [(e["url"], e["altText"], e["size"]) for e in images] == [(c.url, c.alt, "Stretch") for c in three]
    assert body[-1]["type"] == "Image"  # after the facts and the lines


def test_x_keeps_the_url_and_cuts_long_names_to_280_as_x_counts(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    # GIVEN CJK (2 each), emoji, a long program name and a URL far longer than the 23 X counts for it
    long_url = "https://podium.example/o/acme/p/" + "a" * 200
    delivery = post(
        ChannelKind.X,
        secrets,
        env,
        program="全国営業コンテスト" * 8,
        headline="🏆 " + "東京チームが首位に立ちました" * 6,
        lines=tuple(f"第{i}位 👨‍👩‍👧 {'名前' * 10}" for i in range(10)),
        url=long_url,
    )
    text = fake.tweets[delivery.reference]["text"]
    assert text.endswith(f"\n{long_url}")  # the URL whole, on its own line
    assert x_weighted_length(text) <= 280 and x_weight(text) <= 280
    assert len(text) > 280  # more characters than 280: the URL counts 23
    assert text.splitlines()[0].endswith("…")  # the headline did not fit, so it was cut and no line followed
    assert len(text.splitlines()) == 2


def test_x_keeps_lines_in_order_until_the_next_does_not_fit() -> None:
    lines = tuple(f"line {i} " + "x" * 40 for i in range(10))
    text = x_text(announcement(lines=lines))
    kept = text.splitlines()[1:-1]
    assert kept == list(lines[: len(kept)]) and 0 < len(kept) < len(lines)
    assert x_weight(text) <= 280 < x_weight(text + "\n" + lines[len(kept)])


@settings(max_examples=200, deadline=None)
@given(
    program=st.text(min_size=1, max_size=120),
    headline=st.text(max_size=400),
    lines=st.lists(st.text(max_size=120), max_size=8),
    path=st.text(alphabet="abcdefghij0123456789-_/", max_size=300),
)
def test_any_x_text_fits_and_ends_with_the_board_url(program: str, headline: str, lines: list[str], path: str) -> None:
    url = f"https://podium.example/{path}"
    text = x_text(announcement(program=program, headline=headline, lines=tuple(lines), url=url))
    assert text.endswith(f"\n{url}")
    # The adapter's count is never under X's (written apart, in the fake), and fits.
    assert x_weighted_length(text) <= x_weight(text) <= 280


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("a" * 280, 280),
        ("日" * 140, 280),
        ("https://example.com/" + "x" * 100, 23),
        ("Ok 👍", 5),
        ("café", 4),
        ("— “quoted” ‘x’ ′", 16),  # U+2014 dash and curly quotes weigh 1
    ],
)
def test_x_weights_as_twitter_text_v3(text: str, weight: int) -> None:
    assert x_weight(text) == weight
    assert x_weighted_length(text) == weight


def test_linkedin_registers_uploads_then_posts_the_image_urn(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    delivery = post(ChannelKind.LINKEDIN, secrets, env)

    init, upload, created = fake.accepted
    assert init.path == "/rest/images?action=initializeUpload"
    assert init.json() == {"initializeUploadRequest": {"owner": AUTHOR}}
    for request in (init, created):
        assert request.header("Authorization") == f"Bearer {LI_TOKEN}"
        assert request.header("X-Restli-Protocol-Version") == "2.0.0"
        assert len(request.header("LinkedIn-Version")) == 6 and request.header("LinkedIn-Version").isdigit()
    assert upload.method == "PUT" and upload.route.startswith("/linkedin-upload/")
    (urn,) = fake.images
    assert fake.images[urn] == CARD.png
    body = created.json()
    assert body == {
        "author": AUTHOR,
        "commentary": little_text(announcement().text),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "content": {"media": {"title": "Q4 Sales Contest · week of 30 Nov 2026", "id": urn, "altText": CARD.alt}},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert delivery.reference in fake.posts and delivery.reference.startswith("urn:li:share:")


def test_linkedin_commentary_escapes_little_text_but_not_urls(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    url = "https://podium.example/b?token=ab_cd~e#top"
    post(
        ChannelKind.LINKEDIN,
        secrets,
        env,
        headline="Team (Chicago) #1 @ 1_000 pts [*] <3 {x} |~\\",
        url=url,
        images=(),
    )
    (created,) = fake.accepted
    commentary = created.json()["commentary"]
    assert "Team \\(Chicago\\) \\#1 \\@ 1\\_000 pts \\[\\*\\] \\<3 \\{x\\} \\|\\~\\\\" in commentary
    assert commentary.endswith(f"\n{url}")  # still a link
    assert unescaped_reserved(commentary) is None
    assert "content" not in created.json()


def test_linkedin_needs_an_author(secrets: Secrets, env: dict[str, str]) -> None:
    config = ChannelConfig("linkedin", ChannelKind.LINKEDIN, "/podium/linkedin")
    with pytest.raises(ChannelFailed, match="author") as failed:
        post(ChannelKind.LINKEDIN, secrets, env, config=config)
    assert failed.value.attempts == 0


def test_a_webhook_is_signed_as_standard_webhooks_says(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    delivery = post(ChannelKind.WEBHOOK, secrets, env, config=hook(fake))

    (request,) = fake.accepted
    event = Webhook(SIGNING).verify(request.body, request.headers)  # raises if the signature is wrong
    assert request.header("webhook-id") == "acme/contest/20261207T0800Z-schedule/team-chat"
    assert abs(int(request.header("webhook-timestamp")) - time.time()) < 60
    assert request.header("webhook-signature").startswith("v1,")
    assert event["type"] == "bulletin.published"
    assert datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert event["data"] == {
        "bulletin": "20261207T0800Z-schedule",
        "period": "2026-W49",
        "headline": announcement().headline,
        "text": announcement().text,
        "url": BOARD,
    }
    assert delivery.reference == request.header("webhook-id")


def test_a_webhook_signed_with_another_secret_does_not_verify(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    post(ChannelKind.WEBHOOK, secrets, env, config=hook(fake))
    (request,) = fake.accepted
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(other).verify(request.body, request.headers)


def test_a_retried_webhook_keeps_its_id_and_is_signed_again(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/hooks/receiver", [503, 200])
    ticks = iter([1_800_000_000.0, 1_800_000_000.0, 1_800_000_003.0])
    channel = channel_for(hook(fake), secrets, sleep=Waits(), env=env, clock=lambda: next(ticks))
    delivery = channel.post(announcement())

    first, second = fake.requests
    assert first.header("webhook-id") == second.header("webhook-id") == delivery.reference
    assert (first.header("webhook-timestamp"), second.header("webhook-timestamp")) == ("1800000000", "1800000003")
    assert first.body == second.body
    assert delivery.attempts == 2


# --- retries -------------------------------------------------------------------------------------------------------


def test_a_500_then_a_429_then_success_posts_once_after_the_waits_asked(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/slack/T000/B000/XXXXSECRET", [500, (429, {"Retry-After": "1"}), 200])
    waits = Waits()
    delivery = post(ChannelKind.SLACK, secrets, env, waits)

    assert len(fake.requests) == 3
    assert len(fake.accepted) == 1
    assert delivery.attempts == 3
    assert waits == [1.0, 1.0]  # the backoff's first second, then what Retry-After said


def test_a_service_failing_every_time_fails_after_five_tries_with_growing_waits(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/slack/T000/B000/XXXXSECRET", [500] * 10)
    waits = Waits()
    with pytest.raises(ChannelFailed) as failed:
        post(ChannelKind.SLACK, secrets, env, waits)
    assert (failed.value.attempts, failed.value.status) == (5, 500)
    assert "gave up after 5 tries" in failed.value.reason and "internal_error" in failed.value.reason
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert len(fake.requests) == 5 and not fake.accepted


def test_a_400_fails_at_once_with_a_snippet_of_the_answer(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/slack/T000/B000/XXXXSECRET", [(400, {}, b"invalid_payload")])
    waits = Waits()
    with pytest.raises(ChannelFailed) as failed:
        post(ChannelKind.SLACK, secrets, env, waits)
    assert (failed.value.attempts, failed.value.status) == (1, 400)
    assert failed.value.reason == "Slack: HTTP 400 Bad Request: invalid_payload"
    assert "XXXXSECRET" not in str(failed.value)  # the webhook URL is a secret
    assert waits == [] and len(fake.requests) == 1


def test_a_redirect_is_not_followed(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    fake.script("/hooks/receiver", [(302, {"Location": "http://169.254.169.254/latest/meta-data/"})])
    with pytest.raises(ChannelFailed) as failed:
        post(ChannelKind.WEBHOOK, secrets, env, config=hook(fake))
    assert failed.value.status == 302 and len(fake.requests) == 1


def test_a_429_asking_more_than_the_cap_fails_without_waiting(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/2/tweets", [(429, {"x-rate-limit-reset": "1800000900"})])
    waits = Waits()
    channel = channel_for(CONFIGS[ChannelKind.X], secrets, sleep=waits, env=env, clock=lambda: 1_800_000_000.0)
    with pytest.raises(ChannelFailed) as failed:
        channel.post(announcement(images=()))
    assert failed.value.status == 429 and failed.value.attempts == 1
    assert "rate limited until 2027-01-15T08:15:00Z" in failed.value.reason
    assert waits == []


def test_rate_limit_headers_in_seconds_an_http_date_and_epoch_are_honoured(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 7, UTC), usegmt=True)
    fake.script(
        "/2/tweets",
        [
            (429, {"Retry-After": "3"}),
            (429, {"Retry-After": date}),
            (429, {"x-rate-limit-reset": str(int(now) + 12)}),
            201,
        ],
    )
    waits = Waits()
    channel = channel_for(CONFIGS[ChannelKind.X], secrets, sleep=waits, env=env, clock=lambda: now)
    delivery = channel.post(announcement(images=()))
    assert waits == [3.0, 7.0, 12.0]
    assert delivery.attempts == 4


def test_x_never_uploads_twice_when_only_the_post_is_retried(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/2/tweets", [503, 201])
    waits = Waits()
    delivery = post(ChannelKind.X, secrets, env, waits)

    assert len(fake.received("/2/media/upload")) == 1
    assert len(fake.received("/2/tweets")) == 2
    assert len(fake.tweets) == 1 and len(fake.media) == 1
    assert delivery.attempts == 2  # the post's own tries; the upload before it is not counted
    assert waits == [1.0]


def test_x_posts_without_alt_text_if_the_metadata_call_fails(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/2/media/metadata", [403])
    delivery = post(ChannelKind.X, secrets, env)
    assert delivery.reference in fake.tweets and not fake.alt_texts


def test_x_upload_failing_fails_the_post_and_names_the_step(
    fake: FakeChannels, secrets: Secrets, env: dict[str, str]
) -> None:
    fake.script("/2/media/upload", [(400, {}, b'{"errors":[{"message":"media: bad"}]}')])
    with pytest.raises(ChannelFailed, match="X media upload: HTTP 400 Bad Request") as failed:
        post(ChannelKind.X, secrets, env)
    assert "media: bad" in failed.value.reason
    assert not fake.received("/2/tweets")


def test_linkedin_retries_only_the_post(fake: FakeChannels, secrets: Secrets, env: dict[str, str]) -> None:
    fake.script("/rest/posts", [500, 502, 201])
    delivery = post(ChannelKind.LINKEDIN, secrets, env)
    assert len(fake.received("/rest/images")) == 1
    assert len([r for r in fake.requests if r.method == "PUT"]) == 1
    assert len(fake.received("/rest/posts")) == 3 and len(fake.posts) == 1
    assert delivery.attempts == 3


def test_connection_errors_are_retried(secrets: Secrets, env: dict[str, str]) -> None:
    calls: list[HttpRequest] = []

    def flaky(request: HttpRequest) -> HttpResponse:
        calls.append(request)
        if len(calls) < 3:
            raise ConnectionRefusedError(111, "Connection refused")
        return HttpResponse(200, {}, b"ok")

    waits = Waits()
    slack = ChannelConfig("team-chat", ChannelKind.SLACK, "/podium/slack")
    delivery = channel_for(slack, secrets, http=flaky, sleep=waits, env=env).post(announcement())
    assert (delivery.attempts, waits, len(calls)) == (3, [1.0, 2.0], 3)
    assert all(c.timeout == 10.0 for c in calls)


def test_a_certificate_that_does_not_verify_fails_at_once(secrets: Secrets, env: dict[str, str]) -> None:
    def bad_certificate(request: HttpRequest) -> HttpResponse:
        error = ssl.SSLCertVerificationError(1, "certificate verify failed")
        error.verify_message = "Hostname mismatch"
        raise error

    waits = Waits()
    channel = channel_for(CONFIGS[ChannelKind.SLACK], secrets, http=bad_certificate, sleep=waits, env=env)
    with pytest.raises(ChannelFailed, match="certificate was refused \\(Hostname mismatch\\)") as failed:
        channel.post(announcement())
    assert failed.value.attempts == 1 and waits == []


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            stdlib_http(HttpRequest("POST", f"http://127.0.0.1:{port}/slack/x", {}, b"{}", timeout=0.3))
        assert time.monotonic() - started < 2


# --- addresses -----------------------------------------------------------------------------------------------------


def never(request: HttpRequest) -> HttpResponse:
    raise AssertionError(f"nothing should have been sent to {request.url}")


@pytest.mark.parametrize(
    ("url", "flag"),
    [
        ("http://169.254.169.254/latest/meta-data/", "1"),  # the metadata service, even with the flag
        ("https://169.254.169.254/latest/meta-data/", ""),
        ("https://10.0.0.1/hook", ""),
        ("https://10.0.0.1/hook", "1"),
        ("https://[fd00:ec2::254]/", ""),
        ("https://[::ffff:127.0.0.1]/", ""),
        ("https://100.64.0.1/", ""),
        ("http://203.0.113.9/hook", ""),  # not https
        ("http://8.8.8.8/hook", "1"),  # the flag allows http to 127.0.0.1 only
        ("https://127.0.0.1:8443/hook", ""),  # loopback without the flag
        ("ftp://example.com/hook", "1"),
        ("https://user:pw@example.com/hook", "1"),
    ],
)
def test_private_and_plain_http_addresses_are_refused(url: str, flag: str, secrets: Secrets) -> None:
    config = ChannelConfig("hook", ChannelKind.WEBHOOK, "/podium/hook", url=url)
    env = {"PODIUM_ALLOW_LOOPBACK_CHANNELS": flag} if flag else {}
    channel = channel_for(config, secrets, http=never, sleep=Waits(), env=env, resolve=lambda h, p: ["93.184.215.14"])
    with pytest.raises(ChannelFailed, match=r"refused|not an https URL|user name") as failed:
        channel.post(announcement())
    assert failed.value.attempts == 0


def test_the_fake_on_loopback_is_refused_without_the_flag(fake: FakeChannels, secrets: Secrets) -> None:
    with pytest.raises(ChannelFailed, match="not an https URL") as failed:
        post(ChannelKind.SLACK, secrets, {})
    assert "XXXXSECRET" not in failed.value.reason and "Slack webhook URL in /podium/slack" in failed.value.reason
    assert not fake.requests


@pytest.mark.parametrize("answers", [["10.1.2.3"], ["93.184.215.14", "192.168.1.9"], ["127.0.0.1"]])
def test_a_host_resolving_to_a_private_address_is_refused(answers: list[str], secrets: Secrets) -> None:
    config = ChannelConfig("hook", ChannelKind.WEBHOOK, "/podium/hook", url="https://hooks.example.net/in")
    channel = channel_for(config, secrets, http=never, sleep=Waits(), env={}, resolve=lambda h, p: answers)
    with pytest.raises(ChannelFailed, match="private, loopback"):
        channel.post(announcement())


def test_a_public_host_is_connected_at_the_address_that_was_checked(secrets: Secrets) -> None:
    sent: list[HttpRequest] = []

    def capture(request: HttpRequest) -> HttpResponse:
        sent.append(request)
        return HttpResponse(204)

    config = ChannelConfig("hook", ChannelKind.WEBHOOK, "/podium/hook", url="https://hooks.example.net/in")
    resolved = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    channel_for(config, secrets, http=capture, sleep=Waits(), env={}, resolve=lambda h, p: resolved).post(
        announcement()
    )
    assert [(r.url, r.address) for r in sent] == [("https://hooks.example.net/in", "93.184.215.14")]


def test_an_upload_url_off_linkedin_gets_no_token(secrets: Secrets) -> None:
    sent: list[HttpRequest] = []

    def linkedin(request: HttpRequest) -> HttpResponse:
        sent.append(request)
        value = {"uploadUrl": "https://collector.example.org/upload", "image": "urn:li:image:C4E10AQ"}
        return HttpResponse(200, {}, json.dumps({"value": value}).encode())

    env = {"PODIUM_LINKEDIN_API_URL": "https://api.linkedin.com"}
    channel = channel_for(
        CONFIGS[ChannelKind.LINKEDIN],
        secrets,
        http=linkedin,
        sleep=Waits(),
        env=env,
        resolve=lambda h, p: ["93.184.215.14"],
    )
    with pytest.raises(ChannelFailed, match="off LinkedIn"):
        channel.post(announcement())
    assert [r.url for r in sent] == ["https://api.linkedin.com/rest/images?action=initializeUpload"]


# --- secrets -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_a_missing_secret_fails_the_post_with_its_name(
    kind: ChannelKind, fake: FakeChannels, env: dict[str, str]
) -> None:
    config = hook(fake) if kind is ChannelKind.WEBHOOK else CONFIGS[kind]
    with pytest.raises(ChannelFailed) as failed:
        channel_for(config, Secrets({}), sleep=Waits(), env=env).post(announcement())
    assert config.secret in failed.value.reason and "missing" in failed.value.reason
    assert failed.value.attempts == 0 and failed.value.channel == config.name
    assert not fake.requests


def test_the_secret_is_read_when_posting_not_when_the_channel_is_built(secrets: Secrets, env: dict[str, str]) -> None:
    channel_for(CONFIGS[ChannelKind.X], secrets, env=env)
    assert secrets.read == []


def test_a_parameter_store_failure_is_a_failed_post(env: dict[str, str]) -> None:
    class Broken:
        def get(self, name: str) -> str:
            raise RuntimeError("endpoint unreachable")

    with pytest.raises(ChannelFailed, match="could not be read: RuntimeError"):
        channel_for(CONFIGS[ChannelKind.X], Broken(), env=env).post(announcement())


@pytest.mark.parametrize("value", ["", "   ", "not-base64!!", "whsec_c2hvcnQ="])
def test_a_webhook_secret_that_is_not_a_signing_secret_is_refused(
    value: str, fake: FakeChannels, env: dict[str, str]
) -> None:
    with pytest.raises(ChannelFailed, match=r"empty|not a signing secret"):
        channel_for(hook(fake), Secrets({"/podium/hook": value}), env=env).post(announcement())
    assert not fake.requests


# --- the fakes refuse what the real services refuse ----------------------------------------------------------------


def send(
    fake: FakeChannels, method: str, path: str, body: bytes, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return stdlib_http(HttpRequest(method, f"{fake.url}{path}", dict(headers or {}), body, timeout=5))


LI_HEADERS = {"Authorization": "Bearer t", "LinkedIn-Version": "202610", "X-Restli-Protocol-Version": "2.0.0"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "says"),
    [
        ("POST", "/slack/a", b'{"username": "x"}', {}, 400, "no_text"),
        ("POST", "/slack/a", b'{"blocks": [{"type": "banner"}]}', {}, 400, "invalid_blocks"),
        ("POST", "/teams/a", b'{"type": "message", "attachments": []}', {}, 400, "no attachments"),
        ("POST", "/2/tweets", b'{"text": "hi"}', {}, 401, "Unauthorized"),
        ("POST", "/2/tweets", json.dumps({"text": "日" * 141}).encode(), {"Authorization": "Bearer t"}, 400, "282"),
        (
            "POST",
            "/2/tweets",
            b'{"text": "hi", "media": {"media_ids": ["42"]}}',
            {"Authorization": "Bearer t"},
            400,
            "not uploaded",
        ),
        ("POST", "/rest/posts", b"{}", {"Authorization": "Bearer t"}, 400, "VERSION_MISSING"),
        (
            "POST",
            "/rest/posts",
            json.dumps(
                {
                    "author": AUTHOR,
                    "commentary": "Chicago (again)",
                    "visibility": "PUBLIC",
                    "distribution": {"feedDistribution": "MAIN_FEED"},
                    "lifecycleState": "PUBLISHED",
                }
            ).encode(),
            LI_HEADERS,
            400,
            "reserved",
        ),
        (
            "POST",
            "/rest/posts",
            json.dumps(
                {
                    "author": AUTHOR,
                    "commentary": "hi",
                    "visibility": "PUBLIC",
                    "lifecycleState": "PUBLISHED",
                    "distribution": {"feedDistribution": "MAIN_FEED"},
                    "content": {"media": {"id": "urn:li:image:nope"}},
                }
            ).encode(),
            LI_HEADERS,
            400,
            "not an image registered",
        ),
    ],
)
def test_the_fakes_refuse_bad_payloads_like_the_real_apis(
    fake: FakeChannels, method: str, path: str, body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    answer = send(fake, method, path, body, {"Content-Type": "application/json", **headers})
    assert answer.status == status
    assert says in answer.body.decode()
    assert not fake.accepted


def uploaded_to_linkedin(fake: FakeChannels, count: int) -> list[str]:
    urns = []
    for i in range(count):
        init = send(
            fake,
            "POST",
            "/rest/images?action=initializeUpload",
            json.dumps({"initializeUploadRequest": {"owner": AUTHOR}}).encode(),
            LI_HEADERS,
        )
        value = init.json()["value"]
        assert send(fake, "PUT", value["uploadUrl"].removeprefix(fake.url), png(4 + i)).status == 201
        urns.append(value["image"])
    return urns


def linkedin_post(content: Any) -> bytes:
    return json.dumps(
        {
            "author": AUTHOR,
            "commentary": "hi",
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "content": content,
        }
    ).encode()


@pytest.mark.parametrize(
    ("images", "says"),
    [
        (lambda urns: [{"id": urns[0]}], "2 to 20 images"),
        (lambda urns: [{"id": urns[0]}] * 21, "2 to 20 images"),
        (lambda urns: [{"id": urns[0]}, {"id": urns[0]}], "each image once"),
        (lambda urns: [{"id": urns[0]}, {"id": "urn:li:image:nope"}], "images/1/id :: 'urn:li:image:nope' is not"),
        (lambda urns: [{"id": urns[0]}, {"id": urns[1], "altText": "x" * 4087}], "images/1/altText"),
    ],
)
def test_the_linkedin_fake_refuses_multi_image_posts_as_the_posts_api_does(
    fake: FakeChannels, images: Any, says: str
) -> None:
    urns = uploaded_to_linkedin(fake, 2)
    answer = send(fake, "POST", "/rest/posts", linkedin_post({"multiImage": {"images": images(urns)}}), LI_HEADERS)
    assert answer.status == 400 and says in answer.body.decode(), answer.body
    assert not fake.posts
    both = {"media": {"id": urns[0]}, "multiImage": {"images": [{"id": u} for u in urns]}}
    answer = send(fake, "POST", "/rest/posts", linkedin_post(both), LI_HEADERS)
    assert answer.status == 400 and "one of media or multiImage" in answer.body.decode()


def uploaded_to_x(fake: FakeChannels, count: int) -> list[str]:
    ids = []
    for i in range(count):
        form, content_type = multipart(
            [("media", "c.png", "image/png", png(4 + i)), ("media_category", "", "", b"tweet_image")]
        )
        answer = send(
            fake, "POST", "/2/media/upload", form, {"Authorization": "Bearer t", "Content-Type": content_type}
        )
        ids.append(answer.json()["data"]["id"])
    return ids


@pytest.mark.parametrize(
    ("media_ids", "says"),
    [
        (lambda ids: ids, "1 to 4 media ids"),  # five
        (lambda ids: [], "1 to 4 media ids"),
        (lambda ids: [ids[0], ids[0]], "each media id once"),
        (lambda ids: [int(ids[0])], "as strings"),
    ],
)
def test_the_x_fake_refuses_more_than_four_or_repeated_media_as_x_does(
    fake: FakeChannels, media_ids: Any, says: str
) -> None:
    ids = uploaded_to_x(fake, 5)
    body = json.dumps({"text": "hi", "media": {"media_ids": media_ids(ids)}}).encode()
    answer = send(fake, "POST", "/2/tweets", body, {"Authorization": "Bearer t", "Content-Type": "application/json"})
    assert answer.status == 400 and says in answer.body.decode(), answer.body
    assert not fake.tweets


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ({"type": "image", "image_url": "https://podium.example/c.png"}, "alt_text"),
        ({"type": "image", "image_url": "https://podium.example/c.png", "alt_text": ""}, "alt_text"),
        ({"type": "image", "image_url": "http://podium.example/c.png", "alt_text": "x"}, "image_url"),
        ({"type": "image", "image_url": "https://podium.example/" + "c" * 3000, "alt_text": "x"}, "image_url"),
        (
            {
                "type": "image",
                "image_url": "https://podium.example/c.png",
                "alt_text": "x",
                "title": {"type": "mrkdwn"},
            },
            "title",
        ),
    ],
)
def test_the_slack_fake_refuses_image_blocks_slack_would_refuse(fake: FakeChannels, block: Any, says: str) -> None:
    answer = send(fake, "POST", "/slack/a", json.dumps({"text": "hi", "blocks": [block]}).encode())
    assert (answer.status, answer.body) == (400, b"invalid_blocks")
    from podium_cli.local.channels import _slack_blocks_problem

    assert says in (_slack_blocks_problem([block]) or "")


def test_the_teams_fake_refuses_an_image_without_a_url(fake: FakeChannels) -> None:
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "Container", "items": [{"type": "Image"}]}]}
    message = {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    }
    answer = send(fake, "POST", "/teams/a", json.dumps(message).encode())
    assert answer.status == 400 and "An Image needs a url" in answer.body.decode()


def test_a_linkedin_post_naming_an_image_not_yet_uploaded_is_refused(fake: FakeChannels) -> None:
    init = send(
        fake,
        "POST",
        "/rest/images?action=initializeUpload",
        json.dumps({"initializeUploadRequest": {"owner": AUTHOR}}).encode(),
        LI_HEADERS,
    )
    urn = init.json()["value"]["image"]
    created = json.dumps(
        {
            "author": AUTHOR,
            "commentary": "hi",
            "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "content": {"media": {"id": urn}},
        }
    ).encode()
    answer = send(fake, "POST", "/rest/posts", created, LI_HEADERS)
    assert answer.status == 400 and "has not been uploaded" in answer.body.decode()


# --- the outbox ----------------------------------------------------------------------------------------------------


def test_posts_to_the_fakes_are_kept_in_the_outbox_with_pictures_described(tmp_path: Path, secrets: Secrets) -> None:
    outbox = Outbox(tmp_path / "outbox")
    with fake_channels(outbox) as server:
        env = {"PODIUM_ALLOW_LOOPBACK_CHANNELS": "1", "PODIUM_X_API_URL": server.url}
        values = {**secrets.values, "/podium/slack": f"{server.url}/slack/T000/B000/XXXXSECRET"}
        channel_for(CONFIGS[ChannelKind.X], Secrets(values), sleep=Waits(), env=env).post(announcement())
        channel_for(CONFIGS[ChannelKind.SLACK], Secrets(values), sleep=Waits(), env=env).post(announcement())

    entries = sorted(outbox.entries(), key=lambda e: e["files"]["json"])  # in the order they came
    assert [e["destination"] for e in entries] == ["x (media)", "x (media)", "x", "slack"]
    upload = entries[0]["body"]
    assert upload["media_category"] == "tweet_image"
    assert upload["media"] == {"content": "image/png 4×3", "bytes": len(CARD.png), "sha256": upload["media"]["sha256"]}
    assert entries[0]["headers"]["Authorization"] == "[redacted]"
    assert entries[2]["body"]["text"].endswith(BOARD)
    assert entries[3]["summary"].startswith("Q4 Sales Contest, week of 30 Nov 2026")


def test_the_outbox_page_shows_each_post_with_its_payload_and_pictures_served_as_uploaded(
    tmp_path: Path, secrets: Secrets
) -> None:
    from html.parser import HTMLParser
    from types import SimpleNamespace

    from podium_cli.local.outbox import outbox_page
    from podium_cli.local.stack import _outbox_file

    stack = "http://127.0.0.1:8765"
    three = tuple(replace(c, url=c.url.replace("https://podium.example", stack)) for c in cards(3))
    elsewhere = replace(three[2], url="https://podium.example/elsewhere.png?board=division/d2")
    outbox = Outbox(tmp_path / "outbox")
    with fake_channels(outbox) as server:
        env = {
            "PODIUM_ALLOW_LOOPBACK_CHANNELS": "1",
            "PODIUM_X_API_URL": server.url,
            "PODIUM_LINKEDIN_API_URL": server.url,
        }
        values = {**secrets.values, "/podium/slack": f"{server.url}/slack/T0/B0/S"}
        for kind, images in [
            (ChannelKind.X, three),
            (ChannelKind.LINKEDIN, three),
            (ChannelKind.SLACK, (*three[:2], elsewhere)),
        ]:
            channel_for(CONFIGS[kind], Secrets(values), sleep=Waits(), env=env).post(announcement(images=images))
        uploaded = [r.body for r in server.accepted if r.route.startswith("/linkedin-upload/")]

    class Images(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                self.found.append(dict(attrs))

    page = outbox_page(outbox, [], stack)
    parser = Images()
    parser.feed(page)
    sources = [str(i["src"]) for i in parser.found]
    kept = [s for s in sources if s.startswith("/outbox/")]
    # Each uploaded card, on the upload's row and on the post's that names it (X: 3 uploads and 1 tweet;
    # LinkedIn: 3 uploads and 1 post), served from what the fake kept, byte for byte.
    assert len(kept) == 12
    served: set[bytes] = set()
    for src in kept:
        status, headers, body = _outbox_file(SimpleNamespace(outbox=outbox), src.removeprefix("/outbox/"))  # type: ignore[arg-type]
        assert (status, headers["content-type"], headers["x-content-type-options"]) == (200, "image/png", "nosniff")
        served.add(body)
    assert served == {c.png for c in three} == set(uploaded)
    # The tweet's and the LinkedIn post's rows show each card with the alt text it was given: one file for both.
    for card in three:
        shown = {str(i["src"]) for i in parser.found if i["alt"] == card.alt and str(i["src"]).startswith("/outbox/")}
        assert len(shown) == 1
        assert _outbox_file(SimpleNamespace(outbox=outbox), shown.pop().removeprefix("/outbox/"))[2] == card.png  # type: ignore[arg-type]
    # Slack's pictures are its links: shown when on this stack, named (not fetched) when elsewhere.
    assert [s for s in sources if not s.startswith("/outbox/")] == [c.url.removeprefix(stack) for c in three[:2]]
    assert "not fetched here" in page and "https://podium.example/elsewhere.png?board=division/d2" in page
    assert "<summary>Payload</summary>" in page and "&#34;multiImage&#34;" in page
