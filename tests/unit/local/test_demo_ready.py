"""`podium local` says when the demo's boards are up to date: once the stream poller has gone a few rounds without
delivering or holding anything back, counting only rounds begun after seeding; and its banner reads cleanly."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podium_cli.local.outbox import Outbox
from podium_cli.local.stack import Stack, _poll_forever, banner, database_label, wait_until_caught_up
from podium_cli.local.streams import QUIET_ROUNDS, StreamActivity


class FakePoller:
    """A poller with `backlog` records to deliver, a few per round; a round may raise, as a bad moment does."""

    def __init__(self, backlog: int = 0, per_round: int = 3, raise_at: int | None = None) -> None:
        self.backlog = backlog
        self.per_round = per_round
        self.raise_at = raise_at
        self.rounds = 0
        self.lock = threading.Lock()

    def add(self, records: int) -> None:
        with self.lock:
            self.backlog += records

    def poll_once(self) -> int:
        with self.lock:
            self.rounds += 1
            if self.rounds == self.raise_at:
                raise RuntimeError("a bad moment")
            n = min(self.backlog, self.per_round)
            self.backlog -= n
            return n

    @property
    def has_pending(self) -> bool:
        return False


def make_stack(tmp_path: Path, poller: Any) -> Stack:
    stack = Stack(tmp_path, tmp_path, 3000, "", None, poller, threading.Event())
    stack.activity = StreamActivity()
    return stack


# --- StreamActivity ------------------------------------------------------------------------------------------


def test_caught_up_needs_quiet_rounds_all_begun_after_the_mark() -> None:
    activity = StreamActivity()
    for _ in range(10):
        activity.record(busy=False)  # quiet before the mark counts for nothing
    since = activity.mark()
    assert not activity.caught_up(since)
    activity.record(busy=False)  # the round under way at the mark: it may have read before the last write
    for _ in range(QUIET_ROUNDS - 1):
        activity.record(busy=False)
    assert not activity.caught_up(since)
    activity.record(busy=False)
    assert activity.caught_up(since)


def test_a_busy_round_starts_the_count_again() -> None:
    activity = StreamActivity()
    since = activity.mark()
    for _ in range(QUIET_ROUNDS + 1):
        activity.record(busy=False)
    activity.record(busy=True)
    assert not activity.caught_up(since)
    for _ in range(QUIET_ROUNDS):
        activity.record(busy=False)
    assert activity.caught_up(since)


def test_held_back_records_keep_it_busy(tmp_path: Path) -> None:
    class Holding(FakePoller):
        has_pending = True  # type: ignore[assignment]

    stack = make_stack(tmp_path, Holding())
    thread = threading.Thread(target=_poll_forever, args=(stack,), daemon=True)
    since = stack.activity.mark()
    thread.start()
    try:
        assert not stack.activity.wait_caught_up(since, timeout=1.5)
    finally:
        stack.stop_event.set()
        thread.join(5)


# --- the line, with the real polling loop --------------------------------------------------------------------


def test_the_ready_line_comes_once_the_backlog_is_delivered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    poller = FakePoller(raise_at=2)
    stack = make_stack(tmp_path, poller)
    thread = threading.Thread(target=_poll_forever, args=(stack,), daemon=True)
    thread.start()
    try:
        poller.add(30)  # seeding wrote 30 records; delivered 3 a round (about 0.1 s each): a second or more
        since = stack.activity.mark()
        started = time.monotonic()
        assert wait_until_caught_up(stack, since, started)
        with poller.lock:
            assert poller.backlog == 0
        out = capsys.readouterr().out
        assert out.count("demo ready: boards are up to date") == 1
        assert out.endswith("s after start)\n")
    finally:
        stack.stop_event.set()
        thread.join(5)


def test_no_ready_line_when_the_stack_stops_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = make_stack(tmp_path, FakePoller())  # nothing polls: it never catches up
    threading.Timer(0.3, stack.stop_event.set).start()
    assert not wait_until_caught_up(stack, stack.activity.mark(), time.monotonic())
    assert "demo ready" not in capsys.readouterr().out


# --- the banner ----------------------------------------------------------------------------------------------


class NoSchedules:
    def summary(self) -> list[dict[str, Any]]:
        return []


@pytest.mark.parametrize("key", ["pdk_demo_x", ""])
@pytest.mark.parametrize("in_memory", [False, True])
def test_the_banner_has_no_doubled_parentheses(tmp_path: Path, in_memory: bool, key: str) -> None:
    stack = make_stack(tmp_path, FakePoller())
    stack.outbox, stack.scheduler = Outbox(tmp_path / "outbox"), NoSchedules()
    kind = database_label(tmp_path / ".podium", in_memory)
    assert kind.startswith("DynamoDB Local")
    assert ("in memory" in kind) == in_memory
    text = banner(stack, kind, key)
    assert "((" not in text
    assert "))" not in text
    assert f"Podium is running locally on {kind}" in text or f"on {kind}, without the demo" in text
