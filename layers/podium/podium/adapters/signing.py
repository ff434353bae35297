"""The key that signs links in emails (unsubscribe), from Secrets Manager: template.yaml generates it, only the
publish function may read it, and it never sits in the table, the repository or an environment variable."""

from __future__ import annotations

import threading
from typing import Any


class SecretsManagerKey:
    def __init__(self, secret_id: str, region: str, endpoint: str | None = None) -> None:
        self.secret_id, self.region, self.endpoint = secret_id, region, endpoint
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            if self._key is None:
                reply = self._client().get_secret_value(SecretId=self.secret_id)
                secret = reply.get("SecretString") or ""
                if len(secret) < 32:
                    raise RuntimeError(f"the signing key {self.secret_id!r} is shorter than 32 characters")
                self._key = secret.encode()
            return self._key

    def _client(self) -> Any:
        import boto3

        return boto3.client("secretsmanager", region_name=self.region, endpoint_url=self.endpoint)
