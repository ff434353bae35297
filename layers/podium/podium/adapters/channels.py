"""The Channel port for each kind a program file names: Slack and Teams webhooks, X, LinkedIn and signed webhooks.

Each adapter shapes the announcement as its API documents it and sends it with `http.client` (the layer carries no
HTTP library): one injectable function, so tests can swap the transport; the fake servers in
`podium_cli.local.channels` answer as the real APIs do.

- Retries: a 429 waits what `Retry-After` (seconds or an HTTP date) or `x-rate-limit-reset` (epoch seconds) asks,
  if that is at most MAX_WAIT; 5xx, 408 and connection errors back off 1, 2, 4, 8 s. At most MAX_ATTEMPTS tries
  a step; any other status fails at once. A post of several steps (X's uploads then its tweet, LinkedIn's images
  then its post) never repeats a step that succeeded; the publisher's claim on each post keeps a run that is retried
  from posting it again.
- Pictures: X and LinkedIn are sent each card's bytes (as many as each takes, from the top 10); Slack and Teams
  take pictures by URL only, so they are given each card's signed link, which they fetch.
- `attempts` (on a Delivery or a ChannelFailed) counts the tries of the last step made: the post itself, or the
  step that failed. 0 means nothing was sent (a missing secret, a refused address).
- Addresses: https only, and never a private, loopback, link-local or metadata address (checked on every request,
  and the connection made to the address checked). PODIUM_ALLOW_LOOPBACK_CHANNELS=1 lets http and 127.0.0.1
  through, for tests and the local stack. Redirects are not followed.
- Slack's and Teams' URLs are secrets: no reason given here ever holds them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import re
import secrets as random
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from podium.domain.announcements import Announcement, CardRow, Image
from podium.domain.program import ChannelConfig, ChannelKind
from podium.services.ports import Channel, ChannelFailed, Delivery, SecretMissing, Secrets

MAX_ATTEMPTS = 5
BACKOFF = (1.0, 2.0, 4.0, 8.0)  # seconds before the 2nd, 3rd, 4th and 5th try
MAX_WAIT = 30.0  # the longest one wait may be; a 429 asking for more fails the post
TIMEOUT = 10.0  # seconds for each request, from connecting to the last byte of the answer
MAX_ANSWER = 1 << 20  # bytes of an answer read; the rest is not needed to judge it
SNIPPET = 200  # characters of an error body kept in a reason

X_API = "https://api.x.com"
LINKEDIN_API = "https://api.linkedin.com"
# LinkedIn's versioned APIs take a month (YYYYMM); each is served for about a year after its release.
LINKEDIN_VERSION = "202610"
LINKEDIN_HOSTS = ("linkedin.com", "licdn.com")  # where an upload URL LinkedIn hands back may point

X_MAX_WEIGHT = 280
X_URL_WEIGHT = 23
X_ALT_TEXT = 1000
X_IMAGES = 4  # POST /2/tweets takes 1 to 4 media ids
SLACK_HEADER = 150
SLACK_SECTION = 3000
SLACK_BUTTON = 75
SLACK_ALT_TEXT = 2000  # an image block's alt_text and its title's text
SLACK_IMAGE_URL = 3000
SLACK_IMAGES = 10  # image blocks, beside the message's 4 others (Slack takes 50 blocks)
TEAMS_IMAGES = 10  # Image elements in the card
LINKEDIN_COMMENTARY = 3000
LINKEDIN_ALT_TEXT = 4086
LINKEDIN_IMAGES = 20  # one image is `media`; 2 to 20 are a `multiImage` post
USER_AGENT = "Podium (+bulletins)"


# --- transport ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    timeout: float = TIMEOUT
    # The address the URL's host was checked to resolve to: the connection goes there, so a second DNS answer
    # cannot point it elsewhere. Empty for a transport that does its own resolving (a test's).
    address: str = ""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


# Sends one request and returns the answer, whatever its status; raises OSError (or http.client.HTTPException)
# when no answer came: refused, reset, timed out.
Http = Callable[[HttpRequest], HttpResponse]
Resolve = Callable[[str, int], Sequence[str]]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the URL's host for SNI and the certificate."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address, self._tls = address, context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def stdlib_http(request: HttpRequest) -> HttpResponse:
    """The transport: http.client, no redirects, the whole exchange within the request's timeout."""
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    address = request.address or host
    connection: http.client.HTTPConnection
    if secure:
        connection = _PinnedHTTPSConnection(host, port, address, request.timeout, ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(address, port, timeout=request.timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Host": parts.netloc.rpartition("@")[2],
        "User-Agent": USER_AGENT,
        "Content-Length": str(len(request.body)),
        **request.headers,
    }
    deadline = time.monotonic() + request.timeout
    try:
        connection.request(request.method, target, body=request.body, headers=headers)
        answer = connection.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size < MAX_ANSWER:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no whole answer within {request.timeout:g} s")
            chunk = answer.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return HttpResponse(answer.status, {k.lower(): v for k, v in answer.getheaders()}, b"".join(chunks))
    finally:
        connection.close()


def system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# --- addresses ---------------------------------------------------------------------------------------------------


class Refused(Exception):
    """A URL no channel may be sent to."""


class Unresolved(Exception):
    """A host DNS could not resolve right now (worth another try)."""


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def checked_address(url: str, env: Mapping[str, str], resolve: Resolve, what: str) -> str:
    """The address to connect to for `url`, once it is known to be a public one over https (or, with
    PODIUM_ALLOW_LOOPBACK_CHANNELS=1, 127.0.0.1 over http or https). `what` names the URL in a reason: a URL that
    is a secret is never shown."""
    loopback_allowed = env.get("PODIUM_ALLOW_LOOPBACK_CHANNELS", "") == "1"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise Refused(f"{what} is not a URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise Refused(f"{what} is not an https URL")
    port = port or (443 if parts.scheme == "https" else 80)
    if parts.username or parts.password:
        raise Refused(f"{what} holds a user name or password")
    literal = _ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [a for a in (_ip(found) for found in resolve(host, port)) if a is not None]
        except (OSError, UnicodeError) as error:
            raise Unresolved(f"{what}: its host could not be resolved ({error})") from None
        if not addresses:
            raise Unresolved(f"{what}: its host resolved to no address")
    loopback = loopback_allowed and all(a == LOOPBACK for a in addresses)
    if parts.scheme != "https" and not loopback:
        raise Refused(f"{what} is not an https URL")
    if not loopback and not all(_public(a) for a in addresses):
        raise Refused(f"{what} points at a private, loopback, link-local or metadata address, which is refused")
    return str(addresses[0])


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global excludes private, loopback, link-local (169.254.169.254, the instance metadata service), shared
    # (100.64/10), reserved and documentation ranges, and fd00:ec2::254 (a unique local address).
    return address.is_global and not address.is_multicast


# --- retries -----------------------------------------------------------------------------------------------------


@dataclass
class Sender:
    """Sends one step of a post with retries, as MAX_ATTEMPTS, BACKOFF and MAX_WAIT say."""

    channel: str
    http: Http
    sleep: Callable[[float], None]
    env: Mapping[str, str]
    resolve: Resolve
    clock: Callable[[], float]
    attempts: int = 0  # the tries of the last step sent

    def send(self, step: str, build: Callable[[], HttpRequest], what: str, secret_url: bool = False) -> HttpResponse:
        """The 2xx answer to the request `build` makes (it is called for every try: a signature can be fresh);
        ChannelFailed otherwise. `step` names the step in a reason ("media upload"); `what` names the URL."""
        self.attempts = 0
        reason, status = "", None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.attempts = attempt
            request = build()
            try:
                address = checked_address(request.url, self.env, self.resolve, what)
                response = self.http(_with_address(request, address))
            except Refused as refused:  # before anything was sent on this try
                raise ChannelFailed(self.channel, f"{step}: {refused}", attempts=attempt - 1) from None
            except ssl.SSLCertVerificationError as error:  # the same certificate on every try: no use retrying
                reason = f"{step}: the server's certificate was refused ({error.verify_message or error})"
                raise ChannelFailed(self.channel, reason, attempts=attempt) from None
            except (Unresolved, OSError, http.client.HTTPException) as error:
                reason, status = f"{step}: no answer ({_describe(error, request.url if secret_url else '')})", None
                wait = BACKOFF[min(attempt, len(BACKOFF)) - 1]
            else:
                if 200 <= response.status < 300:
                    return response
                status = response.status
                reason = f"{step}: {_status_reason(response)}"
                if response.status == 429:
                    wait = self._rate_limit_wait(response, attempt, step)
                elif response.status >= 500 or response.status == 408:
                    wait = BACKOFF[min(attempt, len(BACKOFF)) - 1]
                else:
                    raise ChannelFailed(self.channel, reason, attempts=attempt, status=status)
            if attempt < MAX_ATTEMPTS:
                self.sleep(wait)
        raise ChannelFailed(self.channel, f"{reason} (gave up after {MAX_ATTEMPTS} tries)", MAX_ATTEMPTS, status)

    def _rate_limit_wait(self, response: HttpResponse, attempt: int, step: str) -> float:
        now = self.clock()
        until = _retry_after(response.header("retry-after"), now)
        if until is None:
            reset = response.header("x-rate-limit-reset").strip()
            until = float(reset) if reset.isdigit() else None
        if until is None:
            return BACKOFF[min(attempt, len(BACKOFF)) - 1]
        wait = max(0.0, until - now)
        if wait > MAX_WAIT:
            when = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            raise ChannelFailed(
                self.channel,
                f"{step}: rate limited until {when} ({wait:.0f} s from now; a run waits at most {MAX_WAIT:.0f} s)",
                attempts=attempt,
                status=429,
            )
        return wait


def _with_address(request: HttpRequest, address: str) -> HttpRequest:
    return HttpRequest(request.method, request.url, request.headers, request.body, request.timeout, address)


def _retry_after(value: str, now: float) -> float | None:
    """The moment a Retry-After header names (delay-seconds or an HTTP date), as epoch seconds."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return now + float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _status_reason(response: HttpResponse) -> str:
    snippet = " ".join(response.body[: SNIPPET * 4].decode("utf-8", errors="replace").split())[:SNIPPET]
    phrase = http.client.responses.get(response.status, "")
    return f"HTTP {response.status} {phrase}".rstrip() + (f": {snippet}" if snippet else "")


def _describe(error: BaseException, secret_url: str) -> str:
    text = str(error) or type(error).__name__
    if secret_url:
        text = text.replace(secret_url, "[the secret URL]")
    return f"{type(error).__name__}: {text}"[:SNIPPET]


# --- text --------------------------------------------------------------------------------------------------------


def format_points(points: float) -> str:
    return f"{points:,.0f}" if float(points).is_integer() else f"{points:,.1f}"


def movement(row: CardRow) -> str:
    if row.movement is None:
        return "new"
    if row.movement > 0:
        return f"▲{row.movement}"
    if row.movement < 0:
        return f"▼{-row.movement}"
    return "="


def title(announcement: Announcement) -> str:
    return f"{announcement.program} · {announcement.period}"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis if cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


# X counts characters by weight (twitter-text's configuration v3): 1 for code points in these ranges, 2 for the
# rest (CJK, most emoji), 23 for any URL, after NFC normalisation. Emoji sequences (a flag, a family joined by
# ZWJs) count 2 on X; here each of their code points counts, so a text that fits here fits on X.
X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
X_EMOJI_IN_LIGHT = frozenset({0x00A9, 0x00AE})  # © and ®: X's emoji parser counts them as emoji (2)
URL = re.compile(r"https?://\S+", re.IGNORECASE)
# Text X may link as a bare domain ("podium.example"): counted 23 if that is more than its own weight.
BARE_DOMAIN = re.compile(r"(?<![\w@.])(?:[\w-]+\.)+[A-Za-z]{2,}(?:/\S*)?(?![\w])")


def x_weight(text: str) -> int:
    """The length of `text` as X counts it (or a little more, never less)."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in URL.finditer(text):
        total += _bare_weight(text[position : match.start()]) + X_URL_WEIGHT
        position = match.end()
    return total + _bare_weight(text[position:])


def _bare_weight(text: str) -> int:
    total, position = 0, 0
    for match in BARE_DOMAIN.finditer(text):
        total += _code_point_weight(text[position : match.start()]) + max(
            X_URL_WEIGHT, _code_point_weight(match.group())
        )
        position = match.end()
    return total + _code_point_weight(text[position:])


def _code_point_weight(text: str) -> int:
    return sum(
        1 if any(low <= ord(c) <= high for low, high in X_LIGHT) and ord(c) not in X_EMOJI_IN_LIGHT else 2 for c in text
    )


def x_text(announcement: Announcement) -> str:
    """The post in X's 280: the headline, as many lines as fit (in order), and the board's URL, always."""
    tail = f"\n{announcement.url}" if announcement.url else ""
    budget = X_MAX_WEIGHT - x_weight(tail)
    first = f"{announcement.program}, {announcement.period}: {announcement.headline}"
    if x_weight(first) > budget:
        first = _fit(first, budget - x_weight("…")) + "…"
    kept = [first]
    for line in announcement.lines:
        if x_weight("\n".join([*kept, line])) > budget:
            break
        kept.append(line)
    return "\n".join(kept) + tail


def _fit(text: str, budget: int) -> str:
    """The longest start of `text` that weighs at most `budget`."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if x_weight(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip()


# LinkedIn's commentary is "little" text: these characters are markup unless escaped with a backslash, and an
# unescaped one can cut the post short there. URLs are left as they are, so that they still link.
LITTLE_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def little_text(text: str) -> str:
    parts, position = [], 0
    for match in URL.finditer(text):
        parts.append(LITTLE_RESERVED.sub(r"\\\1", text[position : match.start()]))
        parts.append(match.group())
        position = match.end()
    parts.append(LITTLE_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(parts)


def slack_escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup: escaped as its documentation asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the channels ------------------------------------------------------------------------------------------------


class _Channel:
    def __init__(
        self,
        config: ChannelConfig,
        secrets: Secrets,
        sender: Sender,
        env: Mapping[str, str],
        clock: Callable[[], float],
    ) -> None:
        self.name = config.name
        self.config, self.secrets, self.sender, self.env, self.clock = config, secrets, sender, env, clock

    def secret(self) -> str:
        name = self.config.secret
        try:
            value = self.secrets.get(name).strip()
        except SecretMissing as missing:
            raise ChannelFailed(self.name, f"its secret is missing: {missing}", attempts=0) from None
        except Exception as error:  # the parameter store failed: the post is not sent, and the reason says why
            raise ChannelFailed(self.name, f"its secret {name} could not be read: {error!r}"[:300], 0) from None
        if not value:
            raise ChannelFailed(self.name, f"its secret {name} is empty", attempts=0)
        return value

    def delivered(self, reference: str) -> Delivery:
        return Delivery(channel=self.name, reference=reference, attempts=self.sender.attempts)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


JSON = {"Content-Type": "application/json; charset=utf-8"}


class SlackChannel(_Channel):
    """An incoming webhook: Block Kit blocks with a plain-text fallback. Incoming webhooks cannot upload files: the
    cards go as image blocks naming their signed links, which Slack fetches (none without a public URL). The button
    opens the board."""

    def post(self, announcement: Announcement) -> Delivery:
        url = self.secret()
        body = _json(slack_message(announcement))
        what = f"the Slack webhook URL in {self.config.secret}"
        self.sender.send("Slack", lambda: HttpRequest("POST", url, JSON, body), what, secret_url=True)
        return self.delivered("")


def slack_message(announcement: Announcement) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title(announcement), SLACK_HEADER)}}
    ]
    rows = [
        f"{row.rank}. *{slack_escape(row.name)}* {format_points(row.points)} pts {movement(row)}"
        + (f" · {slack_escape(row.detail)}" if row.detail else "")
        for row in announcement.rows
    ]
    section = f"*{slack_escape(announcement.headline)}*"
    for row in rows:
        if len(section) + 1 + len(row) > SLACK_SECTION:
            break
        section += "\n" + row
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(section, SLACK_SECTION)}})
    if announcement.lines:
        facts = [{"type": "mrkdwn", "text": clip(slack_escape(line), SLACK_SECTION)} for line in announcement.lines]
        blocks.append({"type": "context", "elements": facts[:10]})
    for image in linked(announcement.images, SLACK_IMAGE_URL)[:SLACK_IMAGES]:
        block: dict[str, Any] = {
            "type": "image",
            "image_url": image.url,
            "alt_text": clip(image.alt or image.title or title(announcement), SLACK_ALT_TEXT),
        }
        if image.title:
            block["title"] = {"type": "plain_text", "text": clip(image.title, SLACK_ALT_TEXT)}
        blocks.append(block)
    if announcement.url:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "View the board"},
            "url": announcement.url,
            "action_id": "podium-board",
        }
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": clip(slack_escape(announcement.text), SLACK_SECTION), "blocks": blocks}


def linked(images: Sequence[Image], longest: int = 2048) -> list[Image]:
    """The cards a service can fetch by URL: those with a link, of at most `longest` characters."""
    return [image for image in images if image.url and len(image.url) <= longest]


class TeamsChannel(_Channel):
    """A Teams workflow ("Post to a channel when a webhook request is received"): one Adaptive Card, its cards as
    Image elements naming their signed links (Teams fetches them; none without a public URL)."""

    def post(self, announcement: Announcement) -> Delivery:
        url = self.secret()
        body = _json(teams_message(announcement))
        what = f"the Teams workflow URL in {self.config.secret}"
        answer = self.sender.send("Teams", lambda: HttpRequest("POST", url, JSON, body), what, secret_url=True)
        return self.delivered(answer.header("x-ms-workflow-run-id"))


def teams_message(announcement: Announcement) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": announcement.program, "size": "Large", "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": announcement.period, "isSubtle": True, "spacing": "None", "wrap": True},
        {"type": "TextBlock", "text": announcement.headline, "wrap": True},
    ]
    if announcement.rows:
        facts = [
            {
                "title": f"{row.rank}. {row.name}",
                "value": f"{format_points(row.points)} pts {movement(row)}"
                + (f" · {row.detail}" if row.detail else ""),
            }
            for row in announcement.rows
        ]
        body.append({"type": "FactSet", "facts": facts})
    body.extend({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in announcement.lines)
    body.extend(
        {"type": "Image", "url": image.url, "altText": image.alt or image.title, "size": "Stretch", "spacing": "Medium"}
        for image in linked(announcement.images)[:TEAMS_IMAGES]
    )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if announcement.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "View the board", "url": announcement.url}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


class XChannel(_Channel):
    """X API v2 with an OAuth 2.0 user token: each card (up to X_IMAGES, from the top 10) uploaded
    (`POST /2/media/upload`) and its alt text set (`POST /2/media/metadata`; a failure there does not stop the
    post), then the post naming them in order (`POST /2/tweets`)."""

    def post(self, announcement: Announcement) -> Delivery:
        token = self.secret()
        base = self.env.get("PODIUM_X_API_URL", "").rstrip("/") or X_API
        auth = {"Authorization": f"Bearer {token}"}
        payload: dict[str, Any] = {"text": x_text(announcement)}
        images = announcement.images[:X_IMAGES]
        media_ids = [self._upload(base, auth, image, i, len(images)) for i, image in enumerate(images, 1)]
        if media_ids:
            payload["media"] = {"media_ids": media_ids}
        body = _json(payload)
        answer = self.sender.send(
            "X post", lambda: HttpRequest("POST", f"{base}/2/tweets", {**auth, **JSON}, body), X_WHAT
        )
        return self.delivered(str(_data(answer).get("id", "")))

    def _upload(self, base: str, auth: dict[str, str], image: Image, number: int, of: int) -> str:
        """The media id of one card, uploaded with its alt text."""
        step = "X media upload" + (f" {number} of {of}" if of > 1 else "")
        form, content_type = multipart(
            [
                ("media", "card.png", "image/png", image.png),
                ("media_category", "", "", b"tweet_image"),
                ("media_type", "", "", b"image/png"),
            ]
        )
        headers = {**auth, "Content-Type": content_type}
        answer = self.sender.send(step, lambda: HttpRequest("POST", f"{base}/2/media/upload", headers, form), X_WHAT)
        media_id = str(_data(answer).get("id") or _data(answer).get("media_id_string") or "")
        if not media_id:
            raise ChannelFailed(self.name, f"{step}: the answer named no media id", self.sender.attempts)
        if image.alt:
            metadata = _json({"id": media_id, "metadata": {"alt_text": {"text": clip(image.alt, X_ALT_TEXT)}}})
            # The picture goes out without its alt text rather than not at all.
            with contextlib.suppress(ChannelFailed):
                self.sender.send(
                    "X media metadata",
                    lambda: HttpRequest("POST", f"{base}/2/media/metadata", {**auth, **JSON}, metadata),
                    X_WHAT,
                )
        return media_id


X_WHAT = "the X API URL (PODIUM_X_API_URL)"


def _data(answer: HttpResponse) -> dict[str, Any]:
    try:
        data = answer.json().get("data")
    except (ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def multipart(parts: Sequence[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """multipart/form-data of (name, filename, content type, content) parts; the body and its Content-Type."""
    boundary = f"podium-{random.token_hex(16)}"
    chunks: list[bytes] = []
    for name, filename, content_type, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        chunks += [head.encode(), b"\r\n", content, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class LinkedInChannel(_Channel):
    """LinkedIn's Posts API as the member or organisation `author`: each card registered
    (`POST /rest/images?action=initializeUpload`) and uploaded to the URL LinkedIn gives, then the post: one card
    as its `media`, two to LINKEDIN_IMAGES as a `multiImage` post, each with its alt text."""

    def post(self, announcement: Announcement) -> Delivery:
        token = self.secret()
        author = self.config.author
        if not author:
            raise ChannelFailed(self.name, "a LinkedIn channel needs an author (urn:li:organization:…)", attempts=0)
        base = self.env.get("PODIUM_LINKEDIN_API_URL", "").rstrip("/") or LINKEDIN_API
        version = self.env.get("PODIUM_LINKEDIN_VERSION", "").strip() or LINKEDIN_VERSION
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": "2.0.0",
            **JSON,
        }
        post: dict[str, Any] = {
            "author": author,
            "commentary": _little_clip(announcement.text, LINKEDIN_COMMENTARY),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        images = announcement.images[:LINKEDIN_IMAGES]
        urns = [self._upload(base, headers, token, author, image, i, len(images)) for i, image in enumerate(images, 1)]
        alts = [clip(image.alt, LINKEDIN_ALT_TEXT) for image in images]
        if len(urns) == 1:
            post["content"] = {"media": {"title": title(announcement), "id": urns[0], "altText": alts[0]}}
        elif urns:
            post["content"] = {
                "multiImage": {"images": [{"id": u, "altText": a} for u, a in zip(urns, alts, strict=True)]}
            }
        body = _json(post)
        answer = self.sender.send(
            "LinkedIn post", lambda: HttpRequest("POST", f"{base}/rest/posts", headers, body), LINKEDIN_WHAT
        )
        return self.delivered(answer.header("x-restli-id") or answer.header("x-linkedin-id"))

    def _upload(
        self, base: str, headers: dict[str, str], token: str, author: str, image: Image, number: int, of: int
    ) -> str:
        """The image URN of one card, registered and uploaded."""
        step = "LinkedIn image" + (f" {number} of {of}" if of > 1 else "")
        init = _json({"initializeUploadRequest": {"owner": author}})
        answer = self.sender.send(
            f"{step} registration",
            lambda: HttpRequest("POST", f"{base}/rest/images?action=initializeUpload", headers, init),
            LINKEDIN_WHAT,
        )
        value = _value(answer)
        upload_url, urn = str(value.get("uploadUrl", "")), str(value.get("image", ""))
        if not upload_url or not urn:
            raise ChannelFailed(
                self.name, f"{step} registration: no uploadUrl or image in the answer", self.sender.attempts
            )
        if not _linkedin_host(upload_url, base):
            raise ChannelFailed(self.name, "LinkedIn gave an upload URL off LinkedIn; not sent", attempts=0)
        upload = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        self.sender.send(
            f"{step} upload",
            lambda: HttpRequest("PUT", upload_url, upload, image.png),
            "the upload URL LinkedIn gave",
            secret_url=True,
        )
        return urn


LINKEDIN_WHAT = "the LinkedIn API URL (PODIUM_LINKEDIN_API_URL)"


def _value(answer: HttpResponse) -> dict[str, Any]:
    try:
        value = answer.json().get("value")
    except (ValueError, AttributeError):
        return {}
    return value if isinstance(value, dict) else {}


def _linkedin_host(url: str, base: str) -> bool:
    """Whether the token may go to `url`: LinkedIn's own hosts, or the API's host as configured (a fake's)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == (urlsplit(base).hostname or "").lower() or any(
        host == domain or host.endswith(f".{domain}") for domain in LINKEDIN_HOSTS
    )


def _little_clip(text: str, limit: int) -> str:
    """The text escaped, at most `limit` characters, never cut inside an escape."""
    escaped = little_text(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2 == 1:  # an odd run of backslashes at the end: half an escape
        cut = cut[:-1]
    return cut + "…"


class WebhookChannel(_Channel):
    """Any URL, signed per Standard Webhooks: `webhook-id` is the announcement's key (the same on every try, so a
    receiver can drop a repeat), `webhook-timestamp` the moment of the try, `webhook-signature` v1,HMAC-SHA256."""

    def post(self, announcement: Announcement) -> Delivery:
        key = signing_key(self.secret(), self.name, self.config.secret)
        url = self.config.url
        if not url:
            raise ChannelFailed(self.name, "a webhook channel needs a url", attempts=0)
        event = {
            "type": "bulletin.published",
            "timestamp": datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "data": {
                **announcement.data,
                "headline": announcement.headline,
                "text": announcement.text,
                "url": announcement.url,
            },
        }
        body = _json(event)
        message_id = announcement.key

        def build() -> HttpRequest:
            timestamp = str(int(self.clock()))
            headers = {
                **JSON,
                "webhook-id": message_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": sign(key, message_id, timestamp, body),
            }
            return HttpRequest("POST", url, headers, body)

        host = urlsplit(url).hostname or "?"
        self.sender.send("webhook", build, f"the webhook URL (host {host})")
        return self.delivered(message_id)


def signing_key(secret: str, channel: str, name: str) -> bytes:
    """The HMAC key in a Standard Webhooks secret: base64 after the `whsec_` prefix."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        raise ChannelFailed(channel, f"the secret {name} is not a signing secret (whsec_ then base64)", attempts=0)
    return key


def sign(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


ChannelType = Callable[[ChannelConfig, Secrets, Sender, Mapping[str, str], Callable[[], float]], Channel]
KINDS: dict[ChannelKind, ChannelType] = {
    ChannelKind.SLACK: SlackChannel,
    ChannelKind.TEAMS: TeamsChannel,
    ChannelKind.X: XChannel,
    ChannelKind.LINKEDIN: LinkedInChannel,
    ChannelKind.WEBHOOK: WebhookChannel,
}


def channel_for(
    config: ChannelConfig,
    secrets: Secrets,
    *,
    http: Http | None = None,
    sleep: Callable[[float], None] = time.sleep,
    env: Mapping[str, str] = os.environ,
    resolve: Resolve = system_resolve,
    clock: Callable[[], float] = time.time,
) -> Channel:
    """The channel a program file configures. Nothing is read or sent until its `post`; every failure there is a
    ChannelFailed."""
    sender = Sender(config.name, http or stdlib_http, sleep, env, resolve, clock)
    return KINDS[config.kind](config, secrets, sender, env, clock)
