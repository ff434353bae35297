"""Fake chat and social APIs on one loopback port, for the channel adapters' tests and the local stack.

One ThreadingHTTPServer on 127.0.0.1 answers as the real services document, and refuses what they would refuse
with a 400 and an error body like theirs:

- `/slack/…`: an incoming webhook. JSON with `text` or `blocks`; 1 to 50 blocks of known types within Slack's
  limits (an image block: an image_url of at most 3000 characters and an alt_text of 1 to 2000). 200 `ok`; errors
  are plain text (`invalid_blocks`, `no_text`), as Slack's are.
- `/teams/…`: a Teams workflow. The message envelope with one Adaptive Card attachment; an Image element needs
  a url. 202, no body.
- `/2/media/upload`, `/2/media/metadata`, `/2/tweets`: X API v2 with a Bearer token. A multipart upload with
  `media` and `media_category`; a post of at most 280 characters as X weighs them, naming 1 to 4 distinct media
  ids the fake gave out. 200 / 201 with `{"data": …}`.
- `/rest/images?action=initializeUpload`, the upload URL it hands out (`/linkedin-upload/…`, PUT), `/rest/posts`:
  LinkedIn with `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`; a post's images (one as `media`, 2 to
  20 distinct ones as `multiImage`) must have been registered and uploaded; its commentary may hold no unescaped
  reserved character (LinkedIn would cut the post there). 201 with the post's URN in `x-restli-id`.
- `/hooks/…`: any generic webhook; kept, checked by nothing (tests verify signatures as receivers do).

`script(path, [500, (429, {"Retry-After": "1"}), 200])` answers a path's next requests in that order (a 2xx means
"answer as usual"); `requests` is everything received, `accepted` what was answered 2xx as usual. With an outbox,
each accepted request is kept there too (`Outbox.record_post`), with the pictures it carries: the bytes of each
one uploaded (X's media, LinkedIn's images; a tweet or a LinkedIn post carries those it names), the URL of each
one Slack or Teams would fetch. In the body an uploaded picture is described (type, size, SHA-256), since the
outbox stores bodies as text.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import secrets
import struct
import sys
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from podium_cli.local.outbox import Outbox, Picture

Answer = int | tuple[int, Mapping[str, str]] | tuple[int, Mapping[str, str], bytes]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SLACK_BLOCKS = frozenset(
    {"header", "section", "context", "actions", "divider", "image", "rich_text", "markdown", "table", "video"}
)
CARD_ELEMENTS = frozenset(
    {
        "TextBlock",
        "Image",
        "RichTextBlock",
        "FactSet",
        "ColumnSet",
        "Container",
        "ImageSet",
        "ActionSet",
        "Table",
        "Media",
    }
)
CARD_ACTIONS = frozenset({"Action.OpenUrl", "Action.Submit", "Action.ShowCard", "Action.ToggleVisibility"})
MEDIA_CATEGORIES = frozenset({"tweet_image", "tweet_gif", "tweet_video", "dm_image", "dm_gif", "dm_video"})
AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
LINKEDIN_VERSION = re.compile(r"^20\d{2}(0[1-9]|1[0-2])(\.\d{2})?$")
VISIBILITIES = frozenset({"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"})
URL = re.compile(r"https?://\S+", re.IGNORECASE)
LITTLE_RESERVED = frozenset("\\|{}@[]()<>#*_~")


# --- X's weights, as twitter-text v3 counts ------------------------------------------------------------------------

X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
EMOJI_STARTS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F1E6, 0x1F1FF))
EMOJI_JOINERS = frozenset({0x200D, 0xFE0F, 0x20E3}) | frozenset(range(0x1F3FB, 0x1F400))


def x_weighted_length(text: str) -> int:
    """Twitter-text v3's weighted length, written apart from the adapter's so the two check each other: NFC; each
    URL 23; an emoji sequence (joined by ZWJ, with a variation selector or skin tone) 2; otherwise 1 for the light
    ranges and 2 for the rest."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in URL.finditer(text):
        total += _weigh(text[position : match.start()]) + 23
        position = match.end()
    return total + _weigh(text[position:])


def _weigh(text: str) -> int:
    total, index = 0, 0
    while index < len(text):
        point = ord(text[index])
        if any(low <= point <= high for low, high in EMOJI_STARTS):
            index += 1
            while index < len(text) and (
                ord(text[index]) in EMOJI_JOINERS or (ord(text[index - 1]) == 0x200D and ord(text[index]) > 0x2000)
            ):
                index += 1
            total += 2
            continue
        total += 1 if any(low <= point <= high for low, high in X_LIGHT) else 2
        index += 1
    return total


def unescaped_reserved(text: str) -> str | None:
    """The first character of LinkedIn's little-text markup left unescaped (outside URLs), or None."""
    for part in URL.split(text):
        escaped = False
        for char in part:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in LITTLE_RESERVED:
                return char
    return None


# --- what was received ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def route(self) -> str:
        return urlsplit(self.path).path


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def _json(status: int, payload: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers)


def _text(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), {}, "text/html")


class FakeChannels:
    """The fake services. Use `fake_channels()`, or `start()` and `stop()`."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox
        self.requests: list[ReceivedRequest] = []
        self.accepted: list[ReceivedRequest] = []
        self.media: dict[str, bytes] = {}  # X media ids given out, and their bytes
        self.alt_texts: dict[str, str] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes | None] = {}  # LinkedIn image URNs registered; their bytes once uploaded
        self.uploads: dict[str, str] = {}  # upload token -> image URN
        self.posts: dict[str, dict[str, Any]] = {}  # LinkedIn post URNs -> the post
        self._scripts: dict[str, list[Answer]] = {}
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake channels are not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeChannels:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-channels", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def script(self, path: str, answers: Sequence[Answer]) -> None:
        """Answer the next requests to `path` (with or without its query) with these statuses, in order; a 2xx is
        answered as usual. `(429, {"Retry-After": "1"})` adds headers; a third item replaces the error body."""
        with self._lock:
            self._scripts.setdefault(path, []).extend(answers)

    def received(self, route: str) -> list[ReceivedRequest]:
        """What came to a path (without its query), in order."""
        return [r for r in self.requests if r.route == route]

    # --- answering -----------------------------------------------------------------------------------------------

    def answer(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self._next_scripted(request)
        if scripted is not None:
            return scripted
        reply = self._route(request)
        if 200 <= reply.status < 300:
            with self._lock:
                self.accepted.append(request)
            self._keep(request, reply)
        return reply

    def _next_scripted(self, request: ReceivedRequest) -> Reply | None:
        for key in (request.path, request.route):
            queue = self._scripts.get(key)
            if queue:
                answer = queue.pop(0)
                status, headers, body = _unpack(answer)
                if 200 <= status < 300:
                    return None
                return Reply(status, body if body is not None else _error_body(request.route, status), headers)
        return None

    def _route(self, request: ReceivedRequest) -> Reply:
        route, method = request.route, request.method
        if route.startswith("/slack/") and method == "POST":
            return self._slack(request)
        if route.startswith("/teams/") and method == "POST":
            return self._teams(request)
        if route.startswith("/hooks/") and method == "POST":
            return Reply(204)
        if route == "/2/media/upload" and method == "POST":
            return self._x_upload(request)
        if route == "/2/media/metadata" and method == "POST":
            return self._x_metadata(request)
        if route == "/2/tweets" and method == "POST":
            return self._x_tweet(request)
        if route == "/rest/images" and method == "POST":
            return self._linkedin_images(request)
        if route.startswith("/linkedin-upload/") and method == "PUT":
            return self._linkedin_upload(request)
        if route == "/rest/posts" and method == "POST":
            return self._linkedin_post(request)
        return _json(404, {"error": {"code": "not_found", "message": f"no fake service at {method} {route}"}})

    # Slack --------------------------------------------------------------------------------------------------------

    def _slack(self, request: ReceivedRequest) -> Reply:
        try:
            message = request.json()
        except ValueError:
            return _text(400, "invalid_payload")
        if not isinstance(message, dict):
            return _text(400, "invalid_payload")
        text, blocks = message.get("text"), message.get("blocks")
        if not text and not blocks:
            return _text(400, "no_text")
        if blocks is not None and _slack_blocks_problem(blocks):
            return _text(400, "invalid_blocks")
        return _text(200, "ok")

    # Teams --------------------------------------------------------------------------------------------------------

    def _teams(self, request: ReceivedRequest) -> Reply:
        try:
            problem = _teams_problem(request.json())
        except ValueError:
            problem = "The request content is not valid JSON."
        if problem:
            return _json(400, {"error": {"code": "InvalidRequestContent", "message": problem}})
        return Reply(202, b"", {"x-ms-workflow-run-id": f"0858{next(self._ids)}CU00"})

    # X ------------------------------------------------------------------------------------------------------------

    def _x_problem(self, request: ReceivedRequest) -> Reply | None:
        scheme, _, token = request.header("Authorization").partition(" ")
        if scheme != "Bearer" or not token.strip():
            return _json(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
        return None

    def _x_upload(self, request: ReceivedRequest) -> Reply:
        if (refused := self._x_problem(request)) is not None:
            return refused
        fields = _multipart(request.header("Content-Type"), request.body)
        media, category = fields.get("media", b""), fields.get("media_category", b"").decode()
        if not media:
            return _x_invalid("media: the media field is required")
        if category not in MEDIA_CATEGORIES:
            return _x_invalid(f"media_category: {category!r} is not one of {sorted(MEDIA_CATEGORIES)}")
        if fields.get("media_type", b"image/png") == b"image/png" and not media.startswith(PNG_SIGNATURE):
            return _x_invalid("media: the file is not a PNG image")
        media_id = str(next(self._ids))
        width, height = _png_size(media)
        with self._lock:
            self.media[media_id] = media
        image = {"image_type": "image/png", "w": width, "h": height}
        data = {"id": media_id, "media_key": f"3_{media_id}", "size": len(media), "image": image}
        return _json(200, {"data": {**data, "expires_after_secs": 86400}})

    def _x_metadata(self, request: ReceivedRequest) -> Reply:
        if (refused := self._x_problem(request)) is not None:
            return refused
        try:
            body = request.json()
            media_id, alt = str(body["id"]), body["metadata"]["alt_text"]["text"]
        except (ValueError, KeyError, TypeError):
            return _x_invalid("the body must be {id, metadata: {alt_text: {text}}}")
        if media_id not in self.media:
            return _x_invalid(f"id: media {media_id} was not uploaded")
        if not isinstance(alt, str) or len(alt) > 1000:
            return _x_invalid("metadata.alt_text.text: at most 1000 characters")
        with self._lock:
            self.alt_texts[media_id] = alt
        return _json(200, {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}})

    def _x_tweet(self, request: ReceivedRequest) -> Reply:
        if (refused := self._x_problem(request)) is not None:
            return refused
        try:
            body = request.json()
        except ValueError:
            return _x_invalid("the body is not JSON")
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _x_invalid("text: a post needs text or media")
        if (weight := x_weighted_length(text)) > 280:
            return _x_invalid(f"text: the post is {weight} characters as X counts them; the most is 280")
        media = body.get("media")
        ids = media.get("media_ids") if isinstance(media, dict) else [] if media is None else None
        if not isinstance(ids, list) or (media is not None and not 1 <= len(ids) <= 4):
            return _x_invalid("media.media_ids: 1 to 4 media ids, as strings")
        if not all(isinstance(i, str) for i in ids):
            return _x_invalid("media.media_ids: 1 to 4 media ids, as strings")
        if len(set(ids)) != len(ids):
            return _x_invalid("media.media_ids: each media id once")
        if unknown := [i for i in ids if i not in self.media]:
            return _x_invalid(f"media.media_ids: {unknown} were not uploaded")
        tweet_id = str(next(self._ids))
        with self._lock:
            self.tweets[tweet_id] = body
        return _json(201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}})

    # LinkedIn -----------------------------------------------------------------------------------------------------

    def _linkedin_problem(self, request: ReceivedRequest) -> Reply | None:
        if not request.header("Authorization").startswith("Bearer ") or not request.header("Authorization")[7:]:
            return _json(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        version = request.header("LinkedIn-Version")
        if not version:
            return _json(
                400,
                {
                    "status": 400,
                    "code": "VERSION_MISSING",
                    "message": "A version must be present. Please specify a version by adding the "
                    "LinkedIn-Version header.",
                },
            )
        if not LINKEDIN_VERSION.fullmatch(version):
            return _json(
                426,
                {"status": 426, "code": "NONEXISTENT_VERSION", "message": f"Requested version {version} is not active"},
            )
        if request.header("X-Restli-Protocol-Version") != "2.0.0":
            return _linkedin_invalid("X-Restli-Protocol-Version: 2.0.0 is required")
        return None

    def _linkedin_images(self, request: ReceivedRequest) -> Reply:
        if (refused := self._linkedin_problem(request)) is not None:
            return refused
        if parse_qs(urlsplit(request.path).query).get("action") != ["initializeUpload"]:
            return _linkedin_invalid("action=initializeUpload is required")
        try:
            owner = request.json()["initializeUploadRequest"]["owner"]
        except (ValueError, KeyError, TypeError):
            return _linkedin_invalid("/initializeUploadRequest/owner :: field is required but not found")
        if not isinstance(owner, str) or not AUTHOR.fullmatch(owner):
            return _linkedin_invalid(f"/initializeUploadRequest/owner :: {owner!r} is not a person or organization")
        token = secrets.token_urlsafe(12)
        urn = f"urn:li:image:D4E10AQ{secrets.token_hex(6)}"
        with self._lock:
            self.images[urn], self.uploads[token] = None, urn
        value = {
            "uploadUrlExpiresAt": 1_800_000_000_000,
            "uploadUrl": f"{self.url}/linkedin-upload/{token}",
            "image": urn,
        }
        return _json(200, {"value": value})

    def _linkedin_upload(self, request: ReceivedRequest) -> Reply:
        urn = self.uploads.get(request.route.removeprefix("/linkedin-upload/"))
        if urn is None:
            return _text(404, "Not Found")
        if not request.body:
            return _linkedin_invalid("the upload is empty")
        with self._lock:
            self.images[urn] = request.body
        return Reply(201)

    def _linkedin_post(self, request: ReceivedRequest) -> Reply:
        if (refused := self._linkedin_problem(request)) is not None:
            return refused
        try:
            post = request.json()
        except ValueError:
            return _linkedin_invalid("the body is not JSON")
        problem = _linkedin_post_problem(post, self.images)
        if problem:
            return _linkedin_invalid(problem)
        urn = f"urn:li:share:{next(self._ids)}"
        with self._lock:
            self.posts[urn] = post
        return Reply(201, b"", {"x-restli-id": urn, "x-linkedin-id": urn})

    # the outbox ---------------------------------------------------------------------------------------------------

    def _keep(self, request: ReceivedRequest, reply: Reply) -> None:
        if self.outbox is None:
            return
        headers = {**request.headers, "X-Podium-Destination": _destination(request.route)}
        body = request.body
        content_type = request.header("Content-Type")
        if content_type.startswith("multipart/"):
            fields = _multipart(content_type, body)
            body = json.dumps({k: _describe(v) for k, v in fields.items()}).encode()
            headers["Content-Type"] = "application/json"
        elif not content_type.startswith(("application/json", "text/")) and body:
            body = json.dumps({"upload": _describe(body)}).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.outbox.record_post(request.method, request.path, headers, body, self._pictures(request))
        except OSError as error:  # the caller's post succeeded; only the copy failed
            print(f"fake channels: could not keep a post in the outbox: {error!r}", file=sys.stderr)

    def _pictures(self, request: ReceivedRequest) -> list[Picture]:
        """The pictures an accepted request carries: the bytes uploaded, or named by the post (by their ids, as the
        fake kept them), or the URLs Slack and Teams would fetch."""
        route = request.route
        try:
            if route == "/2/media/upload":
                media = _multipart(request.header("Content-Type"), request.body).get("media", b"")
                return [Picture(data=media)]
            if route.startswith("/linkedin-upload/"):
                return [Picture(data=request.body)]
            if route == "/2/tweets":
                ids = (request.json().get("media") or {}).get("media_ids") or []
                return [Picture(self.alt_texts.get(i, ""), self.media[i]) for i in ids]
            if route == "/rest/posts":
                content = request.json().get("content") or {}
                named = [content["media"]] if "media" in content else content.get("multiImage", {}).get("images", [])
                return [Picture(str(m.get("altText", "")), self.images.get(m["id"]) or b"") for m in named]
            if route.startswith("/slack/"):
                blocks = request.json().get("blocks") or []
                return [Picture(b["alt_text"], url=b["image_url"]) for b in blocks if b.get("type") == "image"]
            if route.startswith("/teams/"):
                cards = [a["content"]["body"] for a in request.json()["attachments"]]
                return [Picture(str(i.get("altText", "")), url=i["url"]) for body in cards for i in _card_images(body)]
        except (ValueError, KeyError, TypeError, AttributeError):  # a shape the checks let through: no pictures
            return []
        return []


def _unpack(answer: Answer) -> tuple[int, Mapping[str, str], bytes | None]:
    if isinstance(answer, int):
        return answer, {}, None
    if len(answer) == 2:
        return answer[0], answer[1], None
    return answer[0], answer[1], answer[2]


def _error_body(route: str, status: int) -> bytes:
    if route.startswith("/slack/"):
        return {429: b"rate_limited", 500: b"internal_error", 503: b"service_unavailable"}.get(status, b"error")
    return json.dumps({"status": status, "title": _phrase(status), "detail": f"fake {status} from {route}"}).encode()


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _x_invalid(message: str) -> Reply:
    return _json(
        400,
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def _linkedin_invalid(message: str) -> Reply:
    return _json(
        400,
        {
            "status": 400,
            "code": "INVALID_REQUEST",
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": message,
        },
    )


def _slack_blocks_problem(blocks: Any) -> str | None:
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return "blocks: 1 to 50"
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in SLACK_BLOCKS:
            return "an unknown block"
        kind, text = block["type"], block.get("text") or {}
        if kind == "header" and (text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150):
            return "header: plain_text of 1 to 150 characters"
        if kind == "section" and (text.get("type") not in ("plain_text", "mrkdwn") or len(text.get("text", "")) > 3000):
            return "section: text of at most 3000 characters"
        if kind == "context" and not 0 < len(block.get("elements") or []) <= 10:
            return "context: 1 to 10 elements"
        if kind == "image" and (problem := _slack_image_problem(block)):
            return problem
        if kind == "actions":
            for element in block.get("elements") or []:
                label = element.get("text") or {}
                if element.get("type") == "button" and (
                    label.get("type") != "plain_text" or not 0 < len(label.get("text", "")) <= 75
                ):
                    return "button: plain_text of 1 to 75 characters"
    return None


def _slack_image_problem(block: Mapping[str, Any]) -> str | None:
    url, alt, caption = block.get("image_url"), block.get("alt_text"), block.get("title")
    if not isinstance(url, str) or not _fetchable(url) or len(url) > 3000:
        return "image: an image_url Slack can fetch (https), of at most 3000 characters"
    if not isinstance(alt, str) or not 0 < len(alt) <= 2000:
        return "image: alt_text of 1 to 2000 characters"
    if caption is not None and (
        not isinstance(caption, dict) or caption.get("type") != "plain_text" or len(caption.get("text", "")) > 2000
    ):
        return "image: a title is plain_text of at most 2000 characters"
    return None


def _fetchable(url: str) -> bool:
    """An https URL, or http on loopback (the local stack's card route), as the adapters allow."""
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    return bool(parts.hostname) and (parts.scheme == "https" or loopback)


def _card_images(elements: Any) -> Iterator[Mapping[str, Any]]:
    """Every Image element of an Adaptive Card's body, in containers and image sets too."""
    for element in elements if isinstance(elements, list) else []:
        if not isinstance(element, dict):
            continue
        if element.get("type") == "Image":
            yield element
        for inner in ("items", "images", "columns"):
            yield from _card_images(element.get(inner))


def _teams_problem(message: Any) -> str | None:
    if not isinstance(message, dict) or message.get("type") != "message":
        return 'The request body must be a message: {"type": "message", "attachments": [...]}.'
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "The message has no attachments."
    for attachment in attachments:
        if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
            return "Each attachment's contentType must be application/vnd.microsoft.card.adaptive."
        card = attachment.get("content") or {}
        if card.get("type") != "AdaptiveCard" or not card.get("version"):
            return "The attachment's content must be an AdaptiveCard with a version."
        body = card.get("body")
        if not isinstance(body, list) or not body:
            return "The card has no body."
        for element in body:
            if element.get("type") not in CARD_ELEMENTS:
                return f"Unknown card element {element.get('type')!r}."
            if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
                return "A TextBlock needs text."
            if element["type"] == "FactSet" and not all(
                isinstance(f.get("title"), str) and isinstance(f.get("value"), str) for f in element.get("facts", [])
            ):
                return "Each fact needs a title and a value."
        for image in _card_images(body):
            url = image.get("url")
            if not isinstance(url, str) or not (_fetchable(url) or url.startswith("data:image/")):
                return "An Image needs a url: https, or a data URI."
            if not isinstance(image.get("altText", ""), str):
                return "An Image's altText is text."
        for action in card.get("actions") or []:
            if action.get("type") not in CARD_ACTIONS:
                return f"Unknown card action {action.get('type')!r}."
            if action["type"] == "Action.OpenUrl" and not str(action.get("url", "")).startswith(
                ("https://", "http://")
            ):
                return "Action.OpenUrl needs a url."
    return None


def _linkedin_post_problem(post: Any, images: Mapping[str, bytes | None]) -> str | None:
    if not isinstance(post, dict):
        return "the body must be an object"
    author = post.get("author")
    if not isinstance(author, str) or not AUTHOR.fullmatch(author):
        return "/author :: a person or organization URN is required"
    commentary = post.get("commentary", "")
    if not isinstance(commentary, str) or len(commentary) > 3000:
        return "/commentary :: text of at most 3000 characters"
    if (char := unescaped_reserved(commentary)) is not None:
        return f"/commentary :: {char!r} is reserved in little text and not escaped (LinkedIn would cut the post there)"
    if post.get("visibility") not in VISIBILITIES:
        return "/visibility :: one of PUBLIC, CONNECTIONS, LOGGED_IN, CONTAINER"
    distribution = post.get("distribution") or {}
    if distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
        return "/distribution/feedDistribution :: MAIN_FEED or NONE"
    if post.get("lifecycleState") != "PUBLISHED":
        return "/lifecycleState :: PUBLISHED"
    content = post.get("content")
    if content is None:
        return None
    if not isinstance(content, dict) or len(content) != 1 or next(iter(content)) not in ("media", "multiImage"):
        return "/content :: one of media or multiImage (this fake knows no other content)"
    if "media" in content:
        return _linkedin_image_problem(content["media"], "/content/media", images)
    multi = content["multiImage"]
    shown = multi.get("images") if isinstance(multi, dict) else None
    if not isinstance(shown, list) or not 2 <= len(shown) <= 20:
        return "/content/multiImage/images :: 2 to 20 images"
    for i, image in enumerate(shown):
        if problem := _linkedin_image_problem(image, f"/content/multiImage/images/{i}", images):
            return problem
    if len({image["id"] for image in shown}) != len(shown):
        return "/content/multiImage/images :: each image once"
    return None


def _linkedin_image_problem(media: Any, path: str, images: Mapping[str, bytes | None]) -> str | None:
    if not isinstance(media, dict):
        return f"{path} :: an object with an id"
    urn = media.get("id")
    if not isinstance(urn, str) or urn not in images:
        return f"{path}/id :: {urn!r} is not an image registered by this member or organization"
    if images[urn] is None:
        return f"{path}/id :: {urn} has not been uploaded"
    if not isinstance(media.get("altText", ""), str) or len(media.get("altText", "")) > 4086:
        return f"{path}/altText :: text of at most 4086 characters"
    return None


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    if not content_type.startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload
    return fields


def _png_size(data: bytes) -> tuple[int, int]:
    if data.startswith(PNG_SIGNATURE) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 0, 0


def _describe(data: bytes) -> Any:
    """A field for the outbox: text as it is, a picture (or other bytes) as what it is."""
    if not data.startswith(PNG_SIGNATURE):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode()
    width, height = _png_size(data)
    kind = f"image/png {width}×{height}" if width else "binary"
    return {"content": kind, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _destination(route: str) -> str:
    for prefix, name in (
        ("/slack/", "slack"),
        ("/teams/", "teams"),
        ("/hooks/", "webhook"),
        ("/2/media/", "x (media)"),
        ("/2/tweets", "x"),
        ("/rest/images", "linkedin (image)"),
        ("/linkedin-upload/", "linkedin (upload)"),
        ("/rest/posts", "linkedin"),
    ):
        if route.startswith(prefix):
            return name
    return route


def _handler(fake: FakeChannels) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "PodiumFakeChannels"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = ReceivedRequest(self.command, self.path, dict(self.headers.items()), body)
            try:
                reply = fake.answer(request)
            except Exception as error:  # a bug in the fake: a 500 the test will see, not a hung client
                reply = _json(500, {"error": {"code": "fake_error", "message": repr(error)}})
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.body or reply.status not in (204, 304):
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_POST = do_PUT = do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a line per request is noise in a test's output and the stack's terminal

    return Handler


@contextlib.contextmanager
def fake_channels(outbox: Outbox | None = None) -> Iterator[FakeChannels]:
    """The fake services on a free loopback port, for the length of the block."""
    fake = FakeChannels(outbox).start()
    try:
        yield fake
    finally:
        fake.stop()
