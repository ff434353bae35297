"""DynamoDB Local as Podium starts it can be reached from this machine only, by nothing but its own clients.

It has no authentication: listening beyond loopback, or answering a web page's cross-origin or DNS-rebound request,
would hand any neighbour or any site the user opens every roster and the admin keys.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium_cli.local import dynamodb

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(dynamodb.missing() is not None, reason=dynamodb.missing() or ""),
]

LIST_TABLES = b"{}"
HEADERS = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}


@pytest.fixture(scope="module")
def ddb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dynamodb.DynamoDBLocal]:
    server = dynamodb.start(data_dir=tmp_path_factory.mktemp("ddb"))
    yield server
    server.stop()


def _port(server: dynamodb.DynamoDBLocal) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None on a machine without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") else address


def _request(url: str, headers: dict[str, str], method: str = "POST") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=LIST_TABLES if method == "POST" else None, method=method)  # noqa: S310
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}


def test_it_answers_its_own_clients(ddb: dynamodb.DynamoDBLocal) -> None:
    status, _ = _request(ddb.endpoint, {**HEADERS, "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1"})
    assert status in (200, 400)  # 400: the unsigned request reached DynamoDB Local's own validation


def test_it_does_not_listen_beyond_loopback(ddb: dynamodb.DynamoDBLocal) -> None:
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    with socket.socket() as s:
        s.settimeout(3)
        assert s.connect_ex((address, _port(ddb))) != 0, f"DynamoDB Local answers on {address}"


def test_a_rebound_host_name_is_refused(ddb: dynamodb.DynamoDBLocal) -> None:
    status, _ = _request(ddb.endpoint, {**HEADERS, "Host": f"attacker.example:{_port(ddb)}"})
    assert status == 403


def test_no_other_origin_is_allowed(ddb: dynamodb.DynamoDBLocal) -> None:
    preflight = {
        "Origin": "https://attacker.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type",
    }
    _, headers = _request(ddb.endpoint, preflight, method="OPTIONS")
    assert headers.get("access-control-allow-origin") not in ("*", "https://attacker.example")
    _, headers = _request(ddb.endpoint, {**HEADERS, "Origin": "https://attacker.example"})
    assert headers.get("access-control-allow-origin") not in ("*", "https://attacker.example")


def test_telemetry_is_off_and_nothing_is_written_to_the_checkout(ddb: dynamodb.DynamoDBLocal) -> None:
    assert "-disableTelemetry" in ddb.process.args  # type: ignore[operator]
    assert not (Path(dynamodb.REPO) / "dynamodb-local-metadata.json").exists()
