"""The Secrets port on SSM Parameter Store: the channels' tokens and webhook URLs, SecureStrings a program file
names. Each is read once per instance (with decryption) and kept for `ttl` seconds, so a rotated token is picked
up by a warm function within minutes; the client is made at the first read, not at import."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from podium.services.ports import SecretMissing

# What SSM (or KMS, decrypting) answers when the parameter is not there or may not be read.
MISSING = {"ParameterNotFound", "ParameterVersionNotFound"}
DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "KMSAccessDeniedException"}


class SsmSecrets:
    def __init__(
        self,
        region: str | None = None,
        endpoint: str | None = None,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.region, self.endpoint, self.ttl, self.clock = region, endpoint, ttl, clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @cached_property
    def client(self) -> Any:
        import boto3

        return boto3.client("ssm", region_name=self.region, endpoint_url=self.endpoint)

    def get(self, name: str) -> str:
        with self._lock:
            kept = self._cache.get(name)
            if kept is not None and self.clock() - kept[0] < self.ttl:
                return kept[1]
        value = self._read(name)
        with self._lock:
            self._cache[name] = (self.clock(), value)
        return value

    def _read(self, name: str) -> str:
        from botocore.exceptions import ClientError

        try:
            reply = self.client.get_parameter(Name=name, WithDecryption=True)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in MISSING:
                raise SecretMissing(f"There is no parameter {name} in SSM Parameter Store.") from None
            if code in DENIED:
                raise SecretMissing(
                    f"The parameter {name} may not be read (or decrypted) by this function: {code}."
                ) from None
            raise
        return str(reply["Parameter"]["Value"])
