"""API keys and public program tokens: random, shown once, stored as a hash, scoped, revocable.

Formats (underscore-separated so a double-click selects the whole token):
- API key:        `pdk_{org}_{key_id}_{secret}`            — scopes admin, submit, read; belongs to one org.
- program token:  `pdt_{org}_{program}_{scope}_{secret}`   — submit or read, for one program; rotatable.

The secret is 256 random bits, so a plain SHA-256 of it is a safe thing to store (no slow hash needed: there is
nothing to guess). Ids in the token let a request be checked with one GetItem, under its own org's key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from podium.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, Unauthenticated
from podium.domain.program import PROGRAM_ID
from podium.services.ports import ApiKey, Org, Scope, Store

ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # use with fullmatch
KEY_ID = re.compile(r"[0-9a-f]{12}")  # use with fullmatch; what issue_key makes
KEY_PREFIX = "pdk"
TOKEN_PREFIX = "pdt"  # noqa: S105 - a prefix, not a secret
PUBLIC_SCOPES = (Scope.SUBMIT, Scope.READ)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an org, what they may do, and (for a program token) the one program they may touch."""

    org: str
    scopes: frozenset[Scope]
    by: str  # the key id, or `token:{program}:{scope}`, recorded on what they write
    program: str | None = None

    def allows(self, scope: Scope, program: str | None = None) -> bool:
        if self.program is not None and program != self.program:
            return False
        return Scope.ADMIN in self.scopes or scope in self.scopes

    def require(self, scope: Scope, program: str | None = None) -> None:
        """Refuse unless the principal may act with `scope` (on `program`, for what belongs to one program).

        A program token acts on its own program only: what belongs to the whole org (keys, the list of programs)
        is forbidden to it, and another program is not found, so the token learns nothing about it.
        """
        if self.program is not None:
            if program is None:
                raise Forbidden("a program token acts on its own program only; use an API key")
            if program != self.program:
                raise NotFound(f"no program {program!r}")
        if not self.allows(scope, program):
            raise Forbidden(f"this key lacks the {scope.value!r} scope")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32).replace("_", "-")


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once, never stored


def issue_key(org: str, name: str, scopes: frozenset[Scope], now: datetime) -> IssuedKey:
    key_id = secrets.token_hex(6)  # matches KEY_ID
    secret = new_secret()
    key = ApiKey(org=org, id=key_id, name=name, scopes=scopes, secret_hash=hash_secret(secret), created_at=now)
    return IssuedKey(key, f"{KEY_PREFIX}_{org}_{key_id}_{secret}")


def program_token(org: str, program: str, scope: Scope) -> tuple[str, str]:
    """A new public token for a program: (token, hash to store)."""
    secret = new_secret()
    return f"{TOKEN_PREFIX}_{org}_{program}_{scope.value}_{secret}", hash_secret(secret)


def authenticate(store: Store, authorization: str | None) -> Principal:
    """The principal behind an `Authorization: Bearer …` header (or a bare token from a form field)."""
    if not authorization:
        raise Unauthenticated("send an API key or program token as `Authorization: Bearer <key>`")
    token = authorization.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if token.startswith(KEY_PREFIX + "_"):
        return _from_key(store, token)
    if token.startswith(TOKEN_PREFIX + "_"):
        return _from_program_token(store, token)
    raise Unauthenticated("that is not a Podium key or token")


def _from_key(store: Store, token: str) -> Principal:
    parts = token.split("_", 3)
    # Checked before any lookup: an id DynamoDB cannot take as a key would be a 500, not a 401.
    if len(parts) != 4 or not ORG_ID.fullmatch(parts[1]) or not KEY_ID.fullmatch(parts[2]):
        raise Unauthenticated("that key is malformed")
    _, org, key_id, secret = parts
    key = store.get_key(org, key_id)
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthenticated("that key is not valid")
    if key.revoked_at is not None:
        raise Unauthenticated("that key was revoked")
    return Principal(org=org, scopes=key.scopes, by=f"key:{key_id}")


def token_parts(token: str) -> tuple[str, str, str, str] | None:
    """A program token's (org, program, scope, secret), or None when it is not one."""
    parts = token.split("_", 4)
    if (
        len(parts) != 5
        or parts[0] != TOKEN_PREFIX
        or not ORG_ID.fullmatch(parts[1])
        or not PROGRAM_ID.fullmatch(parts[2])
        or parts[3] not in {s.value for s in PUBLIC_SCOPES}
    ):
        return None
    return parts[1], parts[2], parts[3], parts[4]


def secret_matches(expected: str | None, secret: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected or "", hash_secret(secret))


def _from_program_token(store: Store, token: str) -> Principal:
    parts = token_parts(token)
    if parts is None:
        raise Unauthenticated("that token is malformed")
    org, program, scope, secret = parts
    record = store.get_program(org, program)
    if not secret_matches((record.token_hashes if record else {}).get(scope), secret):
        raise Unauthenticated("that token is not valid (it may have been rotated)")
    return Principal(org=org, scopes=frozenset({Scope(scope)}), by=f"token:{program}:{scope}", program=program)


def create_org(store: Store, org_id: str, name: str, now: datetime) -> IssuedKey:
    """Bootstrap an organisation and its first admin key."""
    if not ORG_ID.fullmatch(org_id):
        raise InvalidInput(
            [Problem("org", "use 1-40 lowercase letters, digits and -, starting with a letter or digit")]
        )
    if not store.create_org(Org(org_id, name or org_id, now)):
        raise Conflict(f"organisation {org_id!r} already exists")
    issued = issue_key(org_id, "first admin key", frozenset({Scope.ADMIN}), now)
    store.put_key(issued.key)
    return issued
