"""The aggregation cascade in-process, on the in-memory ports (podium_cli.memory): the fast twin of
tests/integration/test_aggregation.py, which runs the same kinds of scenario through HTTP on DynamoDB Local.

Random rosters and logs, with corrections, late scores, moves, teams changing division, deactivations and new
rules, delivered cleanly, twice, failing half-way or with writes that fail once: after the stream settles, every
stored standing of every period with scores equals what `podium verify` computes from the log, every board
equals the domain's scorebook of the log, and nobody is counted twice.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.domain.boards import BoardKind, compute_scorebook
from podium.domain.periods import end_instant, parse_period, period_of
from podium.domain.program import program_from_dict
from podium.domain.roster import Participant, roster_as_of
from podium.domain.submissions import Submission
from podium.services.auth import Principal
from podium.services.boards import read_board
from podium.services.ports import ProgramRecord, Scope, StoredSubmission
from podium.services.verify import verify
from podium_cli.memory import MemoryBulletins, MemoryStream, MemoryTable, new_version, with_history
from programs import BACKDATE_DAYS, PROGRAM_RELATIVE, PROGRAM_SUMS, STANDING_FIELDS, VALUES

ORG = "acme"
NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)  # a Wednesday: week 48
PROGRAM: dict[str, Any] = {**PROGRAM_SUMS, "id": "sprint"}
RELATIVE: dict[str, Any] = {**PROGRAM_RELATIVE, "id": "sprint"}
ADMIN = Principal(ORG, frozenset({Scope.ADMIN}), "test")


@dataclass
class World:
    """One program on a MemoryTable, and what a scenario did to it so far."""

    table: MemoryTable
    stream: MemoryStream
    document: dict[str, Any]
    teams: dict[str, str]  # team -> division
    clock: list[datetime] = field(default_factory=lambda: [NOW])
    accepted: list[Submission] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: count(1))

    def tick(self) -> datetime:
        self.clock[0] += timedelta(seconds=1)
        return self.clock[0]

    def roster(self) -> dict[str, Participant]:
        return {p.id: p for p in self.table.list_participants(ORG, "sprint")}

    def save_roster(self, people: list[Participant]) -> None:
        self.table.save_participants(ORG, "sprint", with_history(people, self.roster(), self.tick()), self.clock[0])

    def post(self, submission: Submission) -> None:
        stored = StoredSubmission(submission, "json", self.tick(), "test")
        self.table.put_submissions(ORG, "sprint", [stored])
        self.accepted.append(submission)


def start(document: dict[str, Any], teams: dict[str, str], people: dict[str, str], **stream: Any) -> World:
    table = MemoryTable()
    clock = [NOW]

    def now() -> datetime:  # each batch reads a later time, as Lambda's clock does
        clock[0] += timedelta(milliseconds=1)
        return clock[0]

    world = World(table, MemoryStream(table, now, **stream), document, teams, clock)
    table.save_program(ProgramRecord(ORG, "sprint", document, 1, NOW, NOW))
    world.save_roster([Participant(p, p.upper(), team=t, division=teams[t]) for p, t in sorted(people.items())])
    return world


def apply(world: World, op: tuple[Any, ...]) -> None:
    kind = op[0]
    roster = world.roster()
    ids = sorted(roster)
    if kind == "post":
        for who, minutes, values in op[1]:
            participant = roster[ids[who % len(ids)]]
            if participant.active:
                at = NOW - timedelta(minutes=minutes)
                world.post(Submission(f"s{next(world.ids)}", participant.id, at, values))
    elif kind in ("void", "correct") and world.accepted:
        target = world.accepted[op[1] % len(world.accepted)]
        values = op[2] if kind == "correct" else {}
        at = target.at + timedelta(minutes=1)
        world.post(Submission(f"!void:{target.id}:{next(world.ids)}", target.participant, at, values, target.id))
    elif kind == "move":
        participant = roster[ids[op[1] % len(ids)]]
        team = sorted(world.teams)[op[2] % len(world.teams)]
        world.save_roster([Participant(participant.id, participant.name, team=team, division=world.teams[team])])
    elif kind == "rehome":
        team = sorted(world.teams)[op[1] % len(world.teams)]
        world.teams[team] = f"Div {op[2]}"
        moved = [p for p in roster.values() if p.team == team]
        world.save_roster(
            [Participant(p.id, p.name, team=team, division=world.teams[team], active=p.active) for p in moved]
        )
    elif kind == "toggle":
        p = roster[ids[op[1] % len(ids)]]
        world.save_roster([Participant(p.id, p.name, team=p.team, division=p.division, active=not p.active)])
    elif kind == "rules":
        record = world.table.get_program(ORG, "sprint")
        assert record is not None
        metrics = [dict(m) for m in record.document["metrics"]]
        metrics[0] = {
            **metrics[0],
            "points": {"per_unit": 2 if metrics[0].get("points", {}).get("per_unit") != 2 else 1},
        }
        world.table.save_program(new_version(record, {**record.document, "metrics": metrics}, world.tick()))
    elif kind == "drain":
        world.stream.drain()


def ops(n_metrics: list[str]) -> st.SearchStrategy[tuple[Any, ...]]:
    values = st.sets(st.sampled_from(n_metrics), min_size=1).flatmap(
        lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in sorted(keys)})
    )
    minutes_back = st.one_of(st.integers(1, 600), st.integers(1, (BACKDATE_DAYS - 1) * 24 * 60))
    row = st.tuples(st.integers(0, 7), minutes_back, values)
    return st.one_of(
        st.tuples(st.just("post"), st.lists(row, min_size=1, max_size=6)),
        st.tuples(st.just("post"), st.lists(row, min_size=1, max_size=6)),
        st.tuples(st.just("void"), st.integers(0, 10_000)),
        st.tuples(st.just("correct"), st.integers(0, 10_000), values),
        st.tuples(st.just("move"), st.integers(0, 7), st.integers(0, 3)),
        st.tuples(st.just("rehome"), st.integers(0, 2), st.integers(0, 1)),
        st.tuples(st.just("toggle"), st.integers(0, 7)),
        st.tuples(st.just("rules")),
        st.tuples(st.just("drain")),
    )


@st.composite
def scenarios(draw: st.DrawFn, metrics: list[str]) -> tuple[dict[str, str], dict[str, str], list[tuple[Any, ...]]]:
    n_divisions = draw(st.integers(1, 2))
    teams = {f"Team {t}": f"Div {draw(st.integers(0, n_divisions - 1))}" for t in range(draw(st.integers(1, 3)))}
    people = {f"p{i}": draw(st.sampled_from(sorted(teams))) for i in range(draw(st.integers(2, 8)))}
    return teams, people, draw(st.lists(ops(metrics), min_size=3, max_size=16))


# --- what must hold once the stream has settled -------------------------------------------------------------------


def assert_standings_equal_the_log(world: World) -> None:
    world.stream.drain()
    assert not world.stream.parked
    program = program_from_dict(world.table.get_program(ORG, "sprint").document)  # type: ignore[union-attr]
    current = period_of(NOW, program.period, program.tz, program.week_start)
    periods = {current.key} | {
        period_of(s.at, program.period, program.tz, program.week_start).key for s in world.accepted
    }
    for key in sorted(periods):
        _, drift = verify(world.table, world.table, ORG, "sprint", key, NOW, lambda _: None)
        assert drift == [], f"{key}: {[str(d) for d in drift]}"
        assert boards(world, key, stored=True) == boards(world, key, stored=False), key
    seen = Counter((k[3], k[4]) for k in world.table.participant_standings)
    assert all(n == 1 for n in seen.values()), f"participants counted in more than one team: {seen}"


def boards(world: World, period_key: str, *, stored: bool) -> dict[str, Any]:
    """Every board of a period: read from the stored standings, or computed from the log by the domain."""
    program = world.table.get_program(ORG, "sprint").program  # type: ignore[union-attr]
    period = parse_period(period_key, program.week_start)
    roster = roster_as_of(world.table.list_participants(ORG, "sprint"), end_instant(period, program.tz))
    names = [(BoardKind.PROGRAM, None), (BoardKind.PARTICIPANTS, None)]
    names += [(BoardKind.DIVISION, d) for d in roster.divisions] + [(BoardKind.TEAM, t) for t in roster.teams]
    if stored:
        found = {
            f"{k}/{r}": read_board(world.table, world.table, MemoryBulletins(), ADMIN, "sprint", k, r, period_key, NOW)
            for k, r in names
        }  # type: ignore[arg-type]
    else:
        log = [s.submission for p in roster.participants for s in world.table.list_submissions(ORG, "sprint", p)]
        book = compute_scorebook(program, roster, log, period)
        found = {f"{k}/{r}": book.board(k, r) for k, r in names}
    return {name: [_row(s) for s in board.as_dict()["standings"]] for name, board in found.items()}


def _row(standing: dict[str, Any]) -> dict[str, Any]:
    return {k: standing[k] for k in STANDING_FIELDS if k in standing}


# --- delivery as Lambda may do it ---------------------------------------------------------------------------------


class Twice:
    def __init__(self, stream: MemoryStream) -> None:
        self.stream = stream

    def __call__(self, events: list[Any]) -> list[str]:
        self.stream.aggregate(events)
        return self.stream.aggregate(events)


class FailsHalfWay:
    """The first delivery of each batch does the first half's work and reports the rest as failed."""

    def __init__(self, stream: MemoryStream) -> None:
        self.stream, self.seen, self.failures = stream, set[tuple[str, ...]](), 0

    def __call__(self, events: list[Any]) -> list[str]:
        key = tuple(e.sequence for e in events)
        if key in self.seen or len(events) < 2:
            return self.stream.aggregate(events)
        self.seen.add(key)
        self.failures += 1
        half = len(events) // 2
        failed = self.stream.aggregate(events[:half])
        return [*failed, events[half].sequence]


class FlakyWrites:
    """Every standing write fails the first time for each item (throttling): retries must finish the work."""

    def __init__(self, table: MemoryTable) -> None:
        self.failed: Counter[str] = Counter()
        for name in ("put_participant_standing", "delete_participant_standing", "put_group", "delete_group"):
            setattr(table, name, self._flaky(name, getattr(table, name)))

    def _flaky(self, name: str, write: Any) -> Any:
        def flaky(*args: Any) -> Any:
            key = f"{name}{args[2:]!r}"
            if not self.failed[key]:
                self.failed[key] += 1
                raise RuntimeError(f"throttled: {key}")
            return write(*args)

        return flaky


EXAMPLES = int(os.environ.get("PODIUM_PROPERTY_EXAMPLES_IN_MEMORY", "60"))


@pytest.mark.parametrize("document", [PROGRAM, RELATIVE], ids=["sums", "relative"])
@pytest.mark.parametrize("delivery", ["clean", "twice", "report-half", "flaky-writes", "batch-of-1"])
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stored_standings_equal_the_scorebook_of_the_log_however_the_stream_delivers(
    document: dict[str, Any], delivery: str, data: st.DataObject
) -> None:
    metrics = [m["key"] for m in document["metrics"]]
    teams, people, operations = data.draw(scenarios(metrics))
    world = start(document, teams, people, batch_size=1 if delivery == "batch-of-1" else 7, max_retries=50)
    if delivery == "twice":
        world.stream.consumer = Twice(world.stream)
    elif delivery == "report-half":
        world.stream.consumer = FailsHalfWay(world.stream)
    elif delivery == "flaky-writes":
        FlakyWrites(world.table)
    for op in operations:
        apply(world, op)
    assert_standings_equal_the_log(world)


def test_a_replayed_history_converges_on_the_same_standings() -> None:
    """Every batch of a settled cascade delivered again, out of order with new work, changes nothing."""
    teams = {"Red": "North", "Blue": "South"}
    world = start(PROGRAM, teams, {"ann": "Red", "bob": "Red", "cy": "Blue"})
    for i, who in enumerate(["ann", "bob", "cy", "ann"]):
        world.post(Submission(f"s{i}", who, NOW - timedelta(days=i * 3), {"calls": 5 + i, "training": 1}))
    world.stream.drain()
    history = [e for batch in world.stream.delivered for e in batch]
    before = (dict(world.table.participant_standings), dict(world.table.groups))
    world.stream.aggregate(list(reversed(history)))
    world.stream.aggregate(history)
    world.stream.drain()
    assert (dict(world.table.participant_standings), dict(world.table.groups)) == before
    assert_standings_equal_the_log(world)


def test_a_slow_recompute_does_not_overwrite_a_newer_one() -> None:
    """A slow invocation computes Red from old records and writes after a newer recompute: refused."""
    world = start(PROGRAM, {"Red": "North"}, {"ann": "Red", "bob": "Red"})
    world.post(Submission("s1", "ann", NOW - timedelta(minutes=5), {"calls": 5}))
    world.stream.drain()
    old = next(e for b in world.stream.delivered for e in b if type(e).__name__ == "ParticipantStandingChanged")
    stale = world.table.get_group(ORG, "sprint", *_red_team(world))
    world.post(Submission("s2", "bob", NOW - timedelta(minutes=5), {"calls": 7}))
    world.stream.drain()
    assert stale is not None
    world.table.put_group(ORG, "sprint", stale, old.sequence.zfill(48))  # the slow write arrives last
    assert_standings_equal_the_log(world)


def _red_team(world: World) -> tuple[Any, ...]:
    from podium.domain.standings import GroupLevel

    program = world.table.get_program(ORG, "sprint").program  # type: ignore[union-attr]
    period = period_of(NOW, program.period, program.tz, program.week_start).key
    return (GroupLevel.TEAM, "red", "north", period)
