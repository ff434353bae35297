"""Nothing `podium local` starts can be reached from another machine: every socket its process tree listens on
(the API, DynamoDB Local's Java child, moto's SES server, whatever else) is bound to loopback.

Read from /proc (Linux): each process's open sockets (/proc/PID/fd → socket:[inode]) matched with the listening
TCP sockets and the unconnected UDP sockets of its network namespace (/proc/PID/net/{tcp,tcp6,udp,udp6})."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from e2e_stack import RunningStack, running_stack
from podium_cli.local.harness import descendants

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)"),
]

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class Listening:
    pid: int
    protocol: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    @property
    def loopback(self) -> bool:
        if self.address.is_loopback:  # 127.0.0.0/8, ::1
            return True
        mapped = getattr(self.address, "ipv4_mapped", None)  # ::ffff:127.x
        return bool(mapped is not None and mapped.is_loopback)

    def __str__(self) -> str:
        return f"{self.protocol} {self.address}:{self.port} (pid {self.pid}, {_command(self.pid)})"


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """/proc/net's `HEXADDR:HEXPORT`: the address in 32-bit words of host (little-endian) byte order."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.IPv4Address(ordered) if len(ordered) == 4 else ipaddress.IPv6Address(ordered)
    return address, int(port, 16)


def listening(pid: int) -> list[Listening]:
    """What `pid` listens on: its TCP sockets in LISTEN and its UDP sockets bound but not connected."""
    inodes = socket_inodes(pid)
    found = []
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        table = Path(f"/proc/{pid}/net/{protocol}")
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if inode not in inodes:
                continue
            wanted = TCP_LISTEN if protocol.startswith("tcp") else UDP_UNCONNECTED
            if state != wanted or (protocol.startswith("udp") and _address(remote)[1] != 0):
                continue
            address, port = _address(local)
            found.append(Listening(pid, protocol, address, port))
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
    except OSError:
        return "?"


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[RunningStack]:
    yield from running_stack(tmp_path)


def test_the_address_codec_reads_proc_net() -> None:
    assert _address("0100007F:0BB8") == (ipaddress.IPv4Address("127.0.0.1"), 3000)
    assert _address("00000000:1F40") == (ipaddress.IPv4Address("0.0.0.0"), 8000)  # noqa: S104 - a parsed value
    assert _address("00000000000000000000000001000000:0050") == (ipaddress.IPv6Address("::1"), 80)
    mapped = Listening(1, "tcp6", _address("0000000000000000FFFF00000100007F:0050")[0], 80)
    assert str(mapped.address) == "::ffff:7f00:1" and mapped.loopback
    assert not Listening(1, "tcp6", _address("00000000000000000000000000000000:0050")[0], 80).loopback


def test_every_socket_the_local_stack_listens_on_is_bound_to_loopback(local_stack: RunningStack) -> None:
    # One request through the API first, so anything started on first use is started.
    assert local_stack.call("GET", "/v1/programs")[0] == 200
    tree = [local_stack.local.process.pid, *descendants(local_stack.local.process.pid)]
    sockets = [s for pid in tree for s in listening(pid)]
    exposed = [str(s) for s in sockets if not s.loopback]
    assert not exposed, "listening beyond loopback:\n" + "\n".join(exposed)
    # Not vacuous: the API and DynamoDB Local (a child process) are among what was read.
    ports = {s.port for s in sockets}
    assert urlsplit(local_stack.url).port in ports
    assert urlsplit(local_stack.local.dynamodb_endpoint).port in ports
    assert any(s.pid != local_stack.local.process.pid for s in sockets), "DynamoDB Local's own process"
    assert len(tree) >= 2
