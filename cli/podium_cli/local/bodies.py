"""A request body as API Gateway (HTTP API) reads one: by Content-Length or in chunks (Transfer-Encoding: chunked),
at most 10 MB. A body that cannot be read is refused with a 4xx and the reason, never a dropped connection or a
read that waits for bytes that will not come.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit for an HTTP API: 10 MB
MAX_LINE = 8192  # a chunk's size line, or a trailer line
MAX_TRAILERS = 100
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BodyError(Exception):
    """The body cannot be read: answer `status` with `code` and this message, then close the connection (what is
    left of the body is unread)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def read_body(
    content_lengths: Sequence[str], transfer_encodings: Sequence[str], stream: Readable, limit: int = MAX_BODY
) -> bytes | None:
    """The body of a request whose headers had these Content-Length and Transfer-Encoding values (every field of
    each, in order), read from `stream`; None when there is none."""
    if transfer_encodings:
        codings = [c.strip().lower() for value in transfer_encodings for c in value.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise BodyError(
                400, "unsupported_transfer_encoding", f"Transfer-Encoding {', '.join(codings)!r}: only chunked is read"
            )
        if content_lengths:
            # RFC 9112 §6.3: both at once may be an attempt at request smuggling; refuse rather than pick one.
            raise BodyError(400, "bad_content_length", "Content-Length and Transfer-Encoding cannot both be sent")
        return _read_chunked(stream, limit) or None
    length = _content_length(content_lengths, limit)
    if not length:
        return None
    body = stream.read(length)
    if len(body) < length:
        raise BodyError(400, "incomplete_body", f"the body ended after {len(body)} of {length} bytes")
    return body


def _content_length(values: Sequence[str], limit: int) -> int:
    fields = [part.strip() for value in values for part in value.split(",")]
    if not fields:
        return 0
    if not all(_DIGITS.fullmatch(f) for f in fields):
        shown = ", ".join(fields)[:100]
        raise BodyError(400, "bad_content_length", f"Content-Length must be a number of bytes, not {shown!r}")
    values_given = {f.lstrip("0") or "0" for f in fields}
    if len(values_given) > 1:
        raise BodyError(400, "bad_content_length", "Content-Length is given more than once, with different values")
    (value,) = values_given
    if len(value) > len(str(limit)) or int(value) > limit:
        raise BodyError(413, "body_too_large", f"the body is larger than {limit} bytes")
    return int(value)


def _read_chunked(stream: Readable, limit: int) -> bytes:
    body = bytearray()
    while True:
        line = _line(stream, "a chunk size")
        size_text = line.split(b";", 1)[0].strip()  # chunk extensions are allowed and ignored
        if not _HEX.fullmatch(size_text):
            raise BodyError(400, "bad_chunked_body", f"a chunk size must be hexadecimal, not {size_text[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyError(413, "body_too_large", f"the body is larger than {limit} bytes")
        chunk = stream.read(size)
        if len(chunk) < size:
            raise BodyError(400, "incomplete_body", "the body ended inside a chunk")
        body += chunk
        if _line(stream, "the end of a chunk").strip():
            raise BodyError(400, "bad_chunked_body", "a chunk is longer than its size says")
    for _ in range(MAX_TRAILERS):
        if not _line(stream, "a trailer").strip():
            return bytes(body)
    raise BodyError(400, "bad_chunked_body", f"more than {MAX_TRAILERS} trailer fields")


def _line(stream: Readable, what: str) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BodyError(400, "bad_chunked_body", f"{what} is longer than {MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise BodyError(400, "incomplete_body", f"the body ended before {what}")
    return line
