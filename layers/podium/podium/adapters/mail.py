"""The Mailer port on Amazon SES v2: one raw MIME message per digest, so its List-Unsubscribe headers go with it.

Messages carry the configuration set (bounce and complaint events reach the mail-events function through SNS)
and tags naming the program and bulletin. The send rate is the account's (GetAccount's MaxSendRate) unless
PODIUM_SES_MAX_SEND_RATE says otherwise; if the account cannot be read, one a second, SES's sandbox rate.

The MIME is written by hand (`mime`): the email package's EmailMessage took about 2 ms a digest, ten times the
rendering, and a big program sends tens of thousands. What it writes is the same message: multipart/alternative,
a text and an HTML part, UTF-8, quoted-printable, CRLF. Only a non-ASCII address goes through the email package.
"""

from __future__ import annotations

import binascii
import os
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cached_property, lru_cache
from typing import Any

from podium.services.ports import Email, MailRejected

THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException", "MaxSendingRateExceeded"}
SANDBOX_RATE = 1.0
# RFC 5322's hard limit on a line, CRLF aside. Headers are folded only past it: folded at 78, a long
# List-Unsubscribe URL, which has no space to fold at, would need an RFC 2047 word, and no mail client reads a
# link in that (RFC 8058's one-click wants the raw <https://…>).
MAX_LINE = 998
# Written here from the email itself, so not taken from `Email.headers` too (a second From is not a message).
OWN_HEADERS = frozenset({"from", "to", "subject", "date", "mime-version", "content-type", "content-transfer-encoding"})
ADDRESSES = frozenset({"from", "to", "cc", "reply-to", "sender"})

HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322's ftext: printable ASCII but the colon
# A line break in a value would start a header (or the body) of the caller's choosing: header injection.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?")  # text a reader would decode as RFC 2047, if sent as it is
# RFC 2047 encoded words, Q encoding, at most 75 characters each: "=?utf-8?q?" + text + "?=".
WORD_START, WORD_END = "=?utf-8?q?", "?="
WORD_TEXT = 75 - len(WORD_START) - len(WORD_END)
BLANK_AT_BREAK = re.compile(rb"=(?:20|09)\n")  # quoted-printable's encoded blank at the end of a line
Q_AS_IS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")

TEXT_PART = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
HTML_PART = b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'


def mime(email: Email) -> bytes:
    """The message as SES sends it: a text part and an HTML alternative, UTF-8, with the email's own headers.
    Every line is 7-bit and ends in CRLF; a header value with a line break in it raises ValueError."""
    # Quoted-printable never writes "=_" (an "=" is followed by two hex digits or the line's end), so a boundary
    # with it in cannot turn up in a part, and the parts need no search for it.
    boundary = f"=_{secrets.token_hex(16)}".encode("ascii")
    lines = [
        address_header("From", email.sender),
        address_header("To", email.to),
        header("Subject", email.subject),
        f"Date: {format_datetime(datetime.now(UTC))}",  # "+0000": RFC 5322 counts "GMT" obsolete
    ]
    for name, value in email.headers.items():
        if name.lower() in OWN_HEADERS:
            raise ValueError(f"{name} is written from the email itself, not from its headers")
        lines.append(address_header(name, value) if name.lower() in ADDRESSES else header(name, value))
    lines.append("MIME-Version: 1.0")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary.decode("ascii")}"')
    delimiter = b"\r\n--" + boundary
    return b"".join(
        (
            "\r\n".join(lines).encode("ascii"),
            b"\r\n\r\n--",
            boundary,
            b"\r\n",
            TEXT_PART,
            quoted_printable(email.text),
            delimiter,
            b"\r\n",
            HTML_PART,
            quoted_printable(email.html),
            delimiter,
            b"--\r\n",
        )
    )


def quoted_printable(text: str) -> bytes:
    """A part's body: UTF-8, quoted-printable, CRLF; lines of at most 76 characters, ending in a line break.

    binascii writes a line break as the text has it and passes a lone CR through as it is, so every break is
    made a LF first and each LF a CRLF after. It encodes "=", bytes past 127, controls, trailing blanks and a
    line that is only "." (which SMTP would take for the end of the message), and breaks lines past 76 with a
    soft "=" but for one case, mended in `_within_76`."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"  # as the email package does: the part's last line ends, and the delimiter's CRLF follows
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if b"=20\n" in encoded or b"=09\n" in encoded:
        encoded = _within_76(encoded)
    return encoded.replace(b"\n", b"\r\n")


def _within_76(encoded: bytes) -> bytes:
    # binascii counts a blank before a line break as one character and encodes it ("=20") only at the break, so
    # such a line may be 78 long. A soft break before that "=20" makes it two lines of at most 76.
    pieces, start = [], 0
    for blank in BLANK_AT_BREAK.finditer(encoded):
        at = blank.start()
        if at + 3 - (encoded.rfind(b"\n", 0, at) + 1) > 76:
            pieces += [encoded[start:at], b"=\n"]
            start = at
    return b"".join([*pieces, encoded[start:]])


def header(name: str, value: str) -> str:
    """An unstructured header's line: ASCII as it is, folded at a space only past MAX_LINE; from the first word
    with anything else in it, RFC 2047 encoded words."""
    checked(name, value)
    if value.isascii() and not ENCODED_WORD.search(value):
        return folded(name, value.split(" "))
    words = value.split(" ")
    plain = next(i for i, word in enumerate(words) if not word.isascii() or ENCODED_WORD.search(word))
    # The space between the last plain word and the first encoded one is kept by a reader; those between
    # encoded words are not, so the spaces after `plain` go inside the words, as "_".
    return folded(name, [*words[:plain], *encoded_words(" ".join(words[plain:]))])


def address_header(name: str, value: str) -> str:
    """An address header's line. An ASCII one is written as it is; a non-ASCII one (a display name, rarely an
    address) is the email package's, which knows where in an address RFC 2047 words may go."""
    checked(name, value)
    if value.isascii():
        return folded(name, value.split(" "))
    return _address_header(name, value)


@lru_cache(maxsize=256)  # the sender is the same in every message
def _address_header(name: str, value: str) -> str:
    from email import policy

    smtp = policy.SMTP.clone(max_line_length=MAX_LINE)
    folded_line: str = smtp.header_factory(name, value).fold(policy=smtp)
    return folded_line.rstrip("\r\n")


def checked(name: str, value: str) -> None:
    if not HEADER_NAME.fullmatch(name):
        raise ValueError(f"not a header name: {name!r}")
    if CONTROL.search(value):
        raise ValueError(f"a line break or control character in the {name} header: {value[:60]!r}")


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8, Q), each at most 75 characters and none splitting a character."""
    words: list[str] = []
    word: list[str] = []
    size = 0
    for char in text:
        if char in Q_AS_IS:
            q = char
        elif char == " ":
            q = "_"
        else:
            q = "".join(f"={byte:02X}" for byte in char.encode("utf-8"))
        if size + len(q) > WORD_TEXT:
            words.append(f"{WORD_START}{''.join(word)}{WORD_END}")
            word, size = [], 0
        word.append(q)
        size += len(q)
    words.append(f"{WORD_START}{''.join(word)}{WORD_END}")
    return words


def folded(name: str, words: list[str]) -> str:
    """`name: words` joined by spaces on one line, or, past MAX_LINE, on several: each fold is a CRLF before a
    space, which a reader takes out again (RFC 5322 2.2.3). A word too long for a line of its own raises."""
    line = f"{name}: {' '.join(words)}"
    if len(line) <= MAX_LINE:
        return line
    lines, current = [], f"{name}:"
    for word in words:
        if len(current) + 1 + len(word) > MAX_LINE and current.strip():
            lines.append(current)
            current = ""
        current += f" {word}"
        if len(current) > MAX_LINE:
            raise ValueError(f"the {name} header has a word longer than {MAX_LINE} characters")
    lines.append(current)
    return "\r\n".join(lines)


class SesMailer:
    def __init__(
        self,
        region: str,
        configuration_set: str = "",
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.region, self.configuration_set, self.endpoint = region, configuration_set, endpoint
        self.env = os.environ if env is None else env

    @cached_property
    def client(self) -> Any:
        import boto3

        return boto3.client("sesv2", region_name=self.region, endpoint_url=self.endpoint)

    def send(self, email: Email) -> str:
        from botocore.exceptions import ClientError

        try:
            raw = mime(email)
        except ValueError as error:  # this message cannot be written (a line break in a header): the run goes on
            raise MailRejected(f"not sent: {error}") from None
        request: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in email.tags.items()],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            reply = self.client.send_email(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            raise MailRejected(f"SES refused it: {code} {message}".strip(), throttled=code in THROTTLED) from None
        return str(reply.get("MessageId", ""))

    def max_send_rate(self) -> float:
        configured = self.env.get("PODIUM_SES_MAX_SEND_RATE", "").strip()
        if configured:
            return float(configured)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            quota = self.client.get_account().get("SendQuota", {})
        except (ClientError, BotoCoreError):
            return SANDBOX_RATE
        return float(quota.get("MaxSendRate") or SANDBOX_RATE)
