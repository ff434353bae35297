"""Signed, expiring tokens for links in emails: an unsubscribe link works without signing in, for one participant
of one program, and only until it expires.

A token is the base64url of its fields and expiry, a dot, and a truncated HMAC-SHA256 of them under a key only
the functions can read (Secrets Manager). The fields are not secret (they are ids); the signature is what makes
the token worth anything, and it is checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime

SIGNATURE_BYTES = 16


class BadToken(Exception):
    """A token that was not made by Podium for this purpose, was altered, or has expired."""


def sign(key: bytes, purpose: str, fields: Sequence[str], expires: datetime) -> str:
    body = _b64(json.dumps([purpose, *fields, int(expires.timestamp())], separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def verify(key: bytes, purpose: str, token: str, now: datetime) -> list[str]:
    """The token's fields, if `key` signed it for `purpose` and it has not expired."""
    body, _, signature = token.partition(".")
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        valid = hmac.compare_digest(given, _mac(key, body))
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) if valid else None
    except (ValueError, TypeError):
        raise BadToken("this link is not one Podium made") from None
    if not valid or not isinstance(data, list) or len(data) < 2 or data[0] != purpose:
        raise BadToken("this link is not one Podium made")
    if not isinstance(data[-1], int) or data[-1] < now.timestamp():
        raise BadToken("this link has expired")
    if not all(isinstance(f, str) for f in data[1:-1]):
        raise BadToken("this link is not one Podium made")
    return list(data[1:-1])


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
