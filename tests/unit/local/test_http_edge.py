"""The local stack's HTTP server, over raw sockets on 127.0.0.1: bodies by Content-Length or in chunks, at most
10 MB, and every refusal (a bad length, a body too large, an unknown path or method, a bad request line) answered in
the API's error shape, `{"error": {"code", "message"}}`, never a dropped connection or a read that never ends."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podium_cli.local.apigw import HttpResponse, LocalApi
from podium_cli.local.bodies import MAX_BODY
from podium_cli.local.outbox import Outbox
from podium_cli.local.stack import Stack, _http_handler


class EchoApi:
    """Stands in for the template's handlers: POST /echo answers with what arrived; the rest goes to a LocalApi on
    a template without routes, so everything else is its 404."""

    def __init__(self, root: Path) -> None:
        (root / "template.yaml").write_text("Resources: {}\n")
        self.routes = LocalApi(root, {})

    def request(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        if (method, path) == ("POST", "/echo"):
            body = kwargs["body"] or b""
            reply = {"method": method, "length": len(body), "start": body[:40].decode("latin-1")}
            return HttpResponse(200, {"content-type": "application/json"}, json.dumps(reply).encode())
        return self.routes.request(method, path, **kwargs)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    """The stack's HTTP server in this process on a free loopback port; yields the port."""
    (tmp_path / "root").mkdir()
    stack = Stack(tmp_path, tmp_path, 0, "", EchoApi(tmp_path / "root"), None, threading.Event())
    stack.outbox = Outbox(tmp_path / "outbox")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(stack))
    httpd.daemon_threads = True
    stack.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stack.port
    finally:
        httpd.shutdown()
        httpd.server_close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def request_bytes(port: int, head: str, body: bytes = b"") -> bytes:
    """A request line and headers (one per line, without Host), with Host added and CRLFs."""
    first, *fields = head.strip().splitlines()
    lines = [first, f"Host: 127.0.0.1:{port}", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_reply(sock: socket.socket) -> Reply:
    """One response from the socket; a dropped connection or a server that never answers fails the test."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Reply(response.status, response.headers, response.read())


def send(port: int, head: str, body: bytes = b"", *, end_input: bool = False) -> Reply:
    with connect(port) as sock:
        sock.sendall(request_bytes(port, head, body))
        if end_input:
            sock.shutdown(socket.SHUT_WR)
        return read_reply(sock)


def assert_error(reply: Reply, status: int, code: str | None = None) -> None:
    assert reply.status == status, reply
    assert reply.headers["Content-Type"] == "application/json"
    error = reply.json["error"]
    assert set(error) == {"code", "message"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code


# --- Content-Length ------------------------------------------------------------------------------------------


def test_a_body_by_content_length_arrives_whole(server: int) -> None:
    reply = send(server, "POST /echo HTTP/1.1\nContent-Length: 11", b"hello world")
    assert reply.status == 200
    assert reply.json == {"method": "POST", "length": 11, "start": "hello world"}


@pytest.mark.parametrize("value", ["abc", "-1", "+5", "1_0", "0x10", "5 5", "٣", ""])
def test_a_content_length_that_is_not_a_number_is_a_400(server: int, value: str) -> None:
    reply = send(server, f"POST /echo HTTP/1.1\nContent-Length: {value}", b"hello")
    assert_error(reply, 400, "bad_content_length")
    assert reply.headers["Connection"] == "close"


def test_two_different_content_lengths_are_a_400_and_two_equal_ones_are_read(server: int) -> None:
    assert_error(send(server, "POST /echo HTTP/1.1\nContent-Length: 5\nContent-Length: 6", b"hello!"), 400)
    assert_error(send(server, "POST /echo HTTP/1.1\nContent-Length: 5, 6", b"hello!"), 400)
    reply = send(server, "POST /echo HTTP/1.1\nContent-Length: 5\nContent-Length: 05", b"hello")
    assert reply.json["length"] == 5


def test_a_body_shorter_than_its_content_length_is_a_400_when_the_client_stops(server: int) -> None:
    reply = send(server, "POST /echo HTTP/1.1\nContent-Length: 10", b"abc", end_input=True)
    assert_error(reply, 400, "incomplete_body")


# --- size ----------------------------------------------------------------------------------------------------


def test_a_content_length_over_10_mb_is_a_413_before_anything_is_read(server: int) -> None:
    assert MAX_BODY == 10 * 1024 * 1024
    assert_error(send(server, f"POST /echo HTTP/1.1\nContent-Length: {MAX_BODY + 1}"), 413, "body_too_large")
    assert_error(send(server, "POST /echo HTTP/1.1\nContent-Length: 99999999999999999999999999"), 413)


def test_a_body_of_exactly_10_mb_is_read(server: int) -> None:
    reply = send(server, f"POST /echo HTTP/1.1\nContent-Length: {MAX_BODY}", b"x" * MAX_BODY)
    assert reply.status == 200
    assert reply.json["length"] == MAX_BODY


def test_chunks_adding_up_to_more_than_10_mb_are_a_413(server: int) -> None:
    head = "POST /echo HTTP/1.1\nTransfer-Encoding: chunked"
    assert_error(send(server, head, f"{MAX_BODY + 1:x}\r\n".encode()), 413, "body_too_large")
    two = f"{MAX_BODY:x}\r\n".encode() + b"x" * MAX_BODY + b"\r\n1\r\nx\r\n0\r\n\r\n"
    assert_error(send(server, head, two), 413, "body_too_large")


# --- Transfer-Encoding: chunked ------------------------------------------------------------------------------


def test_a_chunked_body_is_read_with_extensions_and_trailers_and_the_connection_stays_usable(server: int) -> None:
    head = "POST /echo HTTP/1.1\nTransfer-Encoding: chunked\nContent-Type: application/json"
    body = b"4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: yes\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(request_bytes(server, head, body))
        first = read_reply(sock)
        sock.sendall(request_bytes(server, "POST /echo HTTP/1.1\nContent-Length: 2", b"ok"))
        second = read_reply(sock)
    assert first.status == 200
    assert first.json == {"method": "POST", "length": 23, "start": "Wikipedia in\r\n\r\nchunks."}
    assert second.json["start"] == "ok"


def test_an_empty_chunked_body_is_no_body(server: int) -> None:
    reply = send(server, "POST /echo HTTP/1.1\nTransfer-Encoding: chunked", b"0\r\n\r\n")
    assert reply.json["length"] == 0


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hexadecimal
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"3\r\nhello\r\n0\r\n\r\n",  # longer than its size
        b"5\r\nhel",  # the client stops inside a chunk
        b"5\r\nhello\r\n",  # the client stops before the last chunk
    ],
)
def test_a_malformed_chunked_body_is_a_400(server: int, body: bytes) -> None:
    reply = send(server, "POST /echo HTTP/1.1\nTransfer-Encoding: chunked", body, end_input=True)
    assert_error(reply, 400)
    assert reply.json["error"]["code"] in ("bad_chunked_body", "incomplete_body")


def test_transfer_encodings_other_than_chunked_and_chunked_with_a_length_are_400s(server: int) -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    assert_error(send(server, "POST /echo HTTP/1.1\nTransfer-Encoding: gzip, chunked", body), 400)
    assert_error(send(server, "POST /echo HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 5", body), 400)


# --- 404s and what http.server refuses itself ----------------------------------------------------------------


def test_an_unknown_path_and_an_unknown_outbox_file_are_404s_in_the_error_shape(server: int) -> None:
    assert_error(send(server, "GET /nowhere HTTP/1.1"), 404, "not_found")
    assert_error(send(server, "DELETE /echo HTTP/1.1"), 404, "not_found")
    assert_error(send(server, "GET /outbox/nothing-here.json HTTP/1.1"), 404, "not_found")


def test_an_unknown_method_and_a_bad_request_line_answer_in_the_error_shape(server: int) -> None:
    assert_error(send(server, "BREW /echo HTTP/1.1"), 501, "not_implemented")
    assert_error(send(server, "GET /a b HTTP/1.1"), 400, "bad_request")
    many = "\n".join(f"X-Field-{i}: {i}" for i in range(101))
    assert_error(send(server, f"GET /echo HTTP/1.1\n{many}"), 431, "request_header_fields_too_large")


# --- a body that stalls --------------------------------------------------------------------------------------


def test_a_body_that_stops_arriving_is_a_408_and_an_idle_connection_is_kept(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("podium_cli.local.stack.BODY_SECONDS", 0.3)
    with connect(server) as sock:
        sock.sendall(request_bytes(server, "POST /echo HTTP/1.1\nContent-Length: 2", b"ok"))
        assert read_reply(sock).status == 200
        time.sleep(0.6)  # idle between requests, longer than a body may pause: still open
        sock.sendall(request_bytes(server, "POST /echo HTTP/1.1\nContent-Length: 10", b"abc"))
        started = time.monotonic()
        reply = read_reply(sock)
    assert_error(reply, 408, "request_timeout")
    assert time.monotonic() - started < 3


def test_headers_that_stop_arriving_close_the_connection_and_an_idle_one_is_kept(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("podium_cli.local.stack.BODY_SECONDS", 0.3)
    with connect(server) as idle, connect(server) as stalled:
        time.sleep(0.6)  # no request yet, longer than headers may pause: still open
        idle.sendall(request_bytes(server, "POST /echo HTTP/1.1\nContent-Length: 2", b"ok"))
        assert read_reply(idle).status == 200
        stalled.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        started = time.monotonic()
        assert stalled.recv(100) == b""  # closed by the server, not left waiting
        assert time.monotonic() - started < 3


def test_expect_100_continue_with_a_body_over_10_mb_is_a_413_before_any_body_is_sent(server: int) -> None:
    with connect(server) as sock:
        head = f"POST /echo HTTP/1.1\nContent-Length: {MAX_BODY + 1}\nExpect: 100-continue"
        sock.sendall(request_bytes(server, head))
        assert_error(read_reply(sock), 413, "payload_too_large")
    with connect(server) as sock:
        sock.sendall(request_bytes(server, "POST /echo HTTP/1.1\nContent-Length: 2\nExpect: 100-continue"))
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(b"ok")
        reply = read_reply(sock)
        assert reply.status == 200 and reply.json["length"] == 2
