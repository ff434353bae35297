"""What Podium would have sent, kept on this machine: emails through SES and posts to channels.

SES is moto's server, in this process on a loopback port, for the functions' SES and SES v2 clients
(AWS_ENDPOINT_URL_SES / _SESV2). moto checks each request as SES would and answers it; a thin layer in front
keeps what it accepted: the request itself, since moto stores only one body part of a simple email (the HTML or
the text, not both). Each email is saved as a `.eml` with an `.html` preview; each channel post (a request to
the stack's /outbox/channels/…) as JSON. SES refuses senders that are not verified: the layer verifies each
sender through SES's own VerifyEmailIdentity just before passing the send on, so a function needs no set-up.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import hashlib
import io
import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SES_V2_SEND = "/v2/email/outbound-emails"
REDACTED_HEADERS = ("authorization", "proxy-authorization")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CONTENT_TYPES = {
    ".eml": "message/rfc822",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
}
# What a kept picture is, by its first bytes: only these are kept as files (and served as images).
PICTURE_KINDS = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"))
# A preview shows what a person would read: the email's own styles, no scripts, nothing fetched from outside.
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Picture:
    """A picture a post carries: its bytes as they were uploaded (X, LinkedIn), or the URL it names for the service
    to fetch (Slack, Teams)."""

    alt: str = ""
    data: bytes = b""
    url: str = ""


class Outbox:
    """A folder of what was sent: `<stamp>-email-<id>.{json,eml,html}`, `<stamp>-post-<id>.json`, and the pictures
    posts uploaded, `picture-<sha256>.png` (each kept once, however many posts carry it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def record_email(self, raw: bytes, api: str, message_id: str, envelope: list[str]) -> dict[str, Any]:
        message = parse_email(raw)
        base = self._base("email")
        record = {
            "kind": "email",
            "at": _now(),
            "api": api,
            "message_id": message_id,
            "from": str(message["From"] or ""),
            "to": _addresses(message, "To") or envelope,
            "cc": _addresses(message, "Cc"),
            "bcc": _addresses(message, "Bcc"),
            "envelope": envelope,
            "subject": str(message["Subject"] or ""),
            "files": {"json": f"{base}.json", "eml": f"{base}.eml", "html": f"{base}.html"},
        }
        (self.folder / f"{base}.eml").write_bytes(raw)
        (self.folder / f"{base}.html").write_text(preview_page(message, record))
        self._write(base, {**record, "summary": record["subject"]})
        return record

    def record_post(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, pictures: Sequence[Picture] = ()
    ) -> dict[str, Any]:
        base = self._base("post")
        content = _body(body, headers.get("Content-Type", ""))
        destination = headers.get("X-Podium-Destination", "")
        record = {
            "kind": "post",
            "at": _now(),
            "method": method,
            "path": path,
            "destination": destination,
            "to": [destination or path],
            "headers": {k: "[redacted]" if k.lower() in REDACTED_HEADERS else v for k, v in headers.items()},
            "body": content,
            "summary": _first_line(content),
            "pictures": [self._keep_picture(p) for p in pictures],
            "files": {"json": f"{base}.json"},
        }
        self._write(base, record)
        return record

    def _keep_picture(self, picture: Picture) -> dict[str, Any]:
        kept: dict[str, Any] = {"alt": picture.alt}
        if picture.url:
            kept["url"] = picture.url
        if picture.data:
            digest = hashlib.sha256(picture.data).hexdigest()
            kept.update(bytes=len(picture.data), sha256=digest)
            suffix = next((s for magic, s in PICTURE_KINDS if picture.data.startswith(magic)), None)
            if suffix is not None:  # anything else is described, never served
                name = f"picture-{digest}{suffix}"
                if not (self.folder / name).exists():
                    temporary = self.folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
                    temporary.write_bytes(picture.data)
                    temporary.replace(self.folder / name)
                kept["file"] = name
        return kept

    def entries(self) -> list[dict[str, Any]]:
        """Everything sent, newest first."""
        records = []
        for file in self.folder.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):  # one being written right now
                records.append(json.loads(file.read_text()))
        return sorted(records, key=lambda r: (r.get("at", ""), r["files"]["json"]), reverse=True)

    def file(self, name: str) -> Path | None:
        """An outbox file by its bare name; anything else (other folders, `..`, encoded slashes) is refused."""
        if not SAFE_NAME.fullmatch(name) or ".." in name:
            return None
        path = (self.folder / name).resolve()
        if path.parent != self.folder.resolve() or not path.is_file():
            return None
        return path

    def _base(self, kind: str) -> str:
        return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{kind}-{uuid.uuid4().hex[:8]}"

    def _write(self, base: str, record: Mapping[str, Any]) -> None:
        temporary = self.folder / f".{base}.tmp"  # the listing never reads half a record
        temporary.write_text(json.dumps(record, indent=1, default=str))
        temporary.replace(self.folder / f"{base}.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _addresses(message: EmailMessage, header: str) -> list[str]:
    return [address for _, address in getaddresses([str(v) for v in message.get_all(header, [])]) if address]


def _body(body: bytes, content_type: str) -> Any:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip().startswith(("{", "[")):
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


def _first_line(content: Any) -> str:
    text = content.get("text", "") if isinstance(content, dict) else ""  # Slack and Teams put the message in text
    text = str(text or (content if isinstance(content, str) else json.dumps(content)))
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:160]


# --- emails --------------------------------------------------------------------------------------------------


def parse_email(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # the default policy: an EmailMessage


def simple_email(
    sender: str,
    destination: Mapping[str, list[str]],
    reply_to: list[str],
    subject: str,
    text: str | None,
    html: str | None,
) -> bytes:
    """The MIME message SES builds from a simple send: a text part and an HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses"), ("Bcc", "BccAddresses")):
        if destination.get(key):
            message[header] = ", ".join(destination[key])
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="podium_cli.local")
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return message.as_bytes()


@dataclass(frozen=True)
class SendRequest:
    api: str  # what the function called, e.g. "sesv2 SendEmail (Simple)"
    sender: str  # the address SES checks
    raw: bytes  # the message as it would go out
    envelope: list[str]  # recipients given beside the message (raw sends)


def send_request(path: str, body: bytes) -> SendRequest | None:
    """An SES or SES v2 send, read from its HTTP request; None for anything else."""
    if path.rstrip("/") == SES_V2_SEND:
        return _v2_send(json.loads(body or b"{}"))
    if path in ("", "/") and body:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}
        if form.get("Action") == "SendEmail":
            return _v1_simple(form)
        if form.get("Action") == "SendRawEmail":
            raw = base64.b64decode(form.get("RawMessage.Data", ""))
            return _raw("ses SendRawEmail", form.get("Source"), raw, _members(form, "Destinations"))
    return None


def _v1_simple(form: Mapping[str, str]) -> SendRequest:
    sender = form.get("Source", "")
    destination = {key: _members(form, f"Destination.{key}") for key in ("ToAddresses", "CcAddresses", "BccAddresses")}
    raw = simple_email(
        sender,
        destination,
        _members(form, "ReplyToAddresses"),
        form.get("Message.Subject.Data", ""),
        form.get("Message.Body.Text.Data"),
        form.get("Message.Body.Html.Data"),
    )
    return SendRequest("ses SendEmail", _address(sender), raw, [])


def _v2_send(request: Mapping[str, Any]) -> SendRequest | None:
    content = request.get("Content", {})
    destination = request.get("Destination", {})
    if "Raw" in content:
        recipients = [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(key, [])]
        raw = base64.b64decode(content["Raw"]["Data"])
        return _raw("sesv2 SendEmail (Raw)", request.get("FromEmailAddress"), raw, recipients)
    if "Simple" not in content:
        return None  # templates: moto does not send them either
    simple = content["Simple"]
    sender = str(request.get("FromEmailAddress", ""))
    raw = simple_email(
        sender,
        destination,
        list(request.get("ReplyToAddresses", [])),
        simple.get("Subject", {}).get("Data", ""),
        simple.get("Body", {}).get("Text", {}).get("Data"),
        simple.get("Body", {}).get("Html", {}).get("Data"),
    )
    return SendRequest("sesv2 SendEmail (Simple)", _address(sender), raw, [])


def _raw(api: str, source: str | None, raw: bytes, envelope: list[str]) -> SendRequest:
    sender = source or str(parse_email(raw)["From"] or "")
    return SendRequest(api, _address(sender), raw, envelope)


def _members(form: Mapping[str, str], prefix: str) -> list[str]:
    """A query-protocol list (`Prefix.member.1`, `Prefix.member.2`, …) in order."""
    pattern = re.compile(rf"{re.escape(prefix)}\.member\.(\d+)")
    numbered = [(int(m.group(1)), value) for key, value in form.items() if (m := pattern.fullmatch(key))]
    return [value for _, value in sorted(numbered)]


LOCAL_TEMPLATES = ("podium_cli.local",)


def _address(sender: str) -> str:
    return parseaddr(sender)[1]


def preview_page(message: EmailMessage, record: Mapping[str, Any]) -> str:
    from podium.adapters.pages import render

    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return render(
        "outbox_email.html",
        packages=LOCAL_TEMPLATES,
        record=record,
        html=html.get_content() if html is not None else None,
        text=text.get_content() if text is not None else None,
    )


# --- SES on moto ---------------------------------------------------------------------------------------------


class SesCapture:
    """WSGI layer in front of moto: verifies each sender, passes the request on, keeps what SES accepted."""

    def __init__(self, app: WsgiApp, outbox: Outbox) -> None:
        self.app = app
        self.outbox = outbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            request = send_request(environ.get("PATH_INFO", ""), body)
        except Exception:  # a malformed send: moto answers it as SES would, and there is nothing to keep
            request = None
        if request is not None and request.sender:
            self._verify(environ, request.sender)
        statuses: list[str] = []

        def keep_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        reply = self._call(environ, body, keep_status)
        if request is not None and statuses and statuses[0].startswith("200"):
            self._keep(request, reply)
        return [reply]

    def _call(self, environ: dict[str, Any], body: bytes, start_response: Callable[..., Any]) -> bytes:
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        chunks = self.app(environ, start_response)
        try:
            return b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()

    def _verify(self, environ: dict[str, Any], sender: str) -> None:
        """VerifyEmailIdentity, signed like the send, so moto files it under the same account and region."""
        body = urlencode({"Action": "VerifyEmailIdentity", "Version": "2010-12-01", "EmailAddress": sender}).encode()
        verify = {
            **environ,
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        }
        self._call(verify, body, lambda *args: None)

    def _keep(self, request: SendRequest, reply: bytes) -> None:
        found = re.search(rb'<MessageId>([^<]+)</MessageId>|"MessageId"\s*:\s*"([^"]+)"', reply)
        message_id = next((g.decode() for g in found.groups() if g), "") if found else ""
        try:
            self.outbox.record_email(request.raw, request.api, message_id, request.envelope)
        except Exception as error:  # the function's send succeeded; only our copy failed
            print(f"outbox: could not save an email ({request.api}): {error!r}", file=sys.stderr)


@contextlib.contextmanager
def ses_server(outbox: Outbox) -> Iterator[str]:
    """moto's SES and SES v2 on a free loopback port, every accepted email kept in `outbox`. Yields its URL."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any) -> None:
            pass  # an access line per email is noise in the stack's terminal

    app = SesCapture(DomainDispatcherApplication(create_backend_app), outbox)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="ses", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


# --- the page ------------------------------------------------------------------------------------------------


OUTBOX_PAGE_ROWS = 300  # the newest; one bulletin of the demo is 230 digests and its posts


def outbox_page(outbox: Outbox, schedules: list[dict[str, Any]], origin: str = "") -> str:
    """The listing, newest first: each email with its preview, each post with its payload and its pictures. A
    picture a post names by URL is shown only if it is on `origin` (this stack): the page fetches nothing from
    another site."""
    from podium.adapters.pages import render

    entries = outbox.entries()
    return render(
        "outbox.html",
        packages=LOCAL_TEMPLATES,
        entries=[_on_page(e, origin) for e in entries[:OUTBOX_PAGE_ROWS]],
        total=len(entries),
        schedules=schedules,
        folder=outbox.folder,
    )


def _on_page(entry: dict[str, Any], origin: str) -> dict[str, Any]:
    if entry.get("kind") != "post":
        return entry
    images, elsewhere = [], []
    for picture in entry.get("pictures") or []:
        if picture.get("file"):
            images.append({"src": f"/outbox/{picture['file']}", "alt": picture.get("alt", "")})
        elif picture.get("url"):
            src = _same_origin(str(picture["url"]), origin)
            if src:
                images.append({"src": src, "alt": picture.get("alt", "")})
            else:
                elsewhere.append(str(picture["url"]))
    request = {"method": entry.get("method"), "path": entry.get("path"), "headers": entry.get("headers", {})}
    payload = json.dumps({**request, "body": entry.get("body")}, indent=1, ensure_ascii=False)
    return {**entry, "images": images, "elsewhere": elsewhere, "payload": payload}


def _same_origin(url: str, origin: str) -> str:
    """`url` as a path on `origin` (127.0.0.1 or localhost, the same port), or "" if it is anywhere else."""
    if not origin:
        return ""
    try:
        parts, own = urlsplit(url), urlsplit(origin)
        port, own_port = parts.port, own.port
    except ValueError:
        return ""
    if parts.scheme != own.scheme or parts.hostname not in ("127.0.0.1", "localhost") or port != own_port:
        return ""
    # One leading slash: "//host/…" would be another site's address, relative to the page.
    return "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
