"""The stored standings against the pure domain: whatever the log, the roster and the stream delivery did, every
board read over HTTP equals `compute_scorebook` over the same log and today's roster.

Runs on DynamoDB Local only (the `stream` fixture skips on moto): submissions, corrections and roster changes go
through the HTTP API, the table's real stream feeds the template's AggregateFunction, then every board of the
current period is compared with the domain's, row by row (rank, id, name, points, per-metric value and points,
headcount). Besides the boards, the stored items are checked directly: one per participant (and per team) and period.

1. a property (Hypothesis): random rosters and logs, with corrections, late scores, moves, teams changing
   division, deactivations and new rules; plus the roster changes that once broke it, one by one;
2. replays and retries: every batch delivered twice, batches failing half-way (reported or raised), the
   aggregator's own writes failing once each: the same boards as one clean delivery;
3. concurrency: overlapping invocations at the same time, and a slow invocation racing a newer one;
4. eventually consistent reads, made as stale as DynamoDB allows (DynamoDB Local is always consistent);
   and the boards of a past period after new rules.

PODIUM_PROPERTY_EXAMPLES (default 8) and PODIUM_PROPERTY_SHRINK=1 tune the property for a longer hunt.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import DDB_LOCAL, ROOT, Client
from programs import BACKDATE_DAYS, PROGRAM_RELATIVE, PROGRAM_SUMS, STANDING_FIELDS, VALUES

ORG = "acme"
VARIANTS = {"sums": PROGRAM_SUMS, "relative": PROGRAM_RELATIVE}

program_ids = count(1)

pytestmark = pytest.mark.integration


# --- scenarios: a roster and a list of operations -------------------------------------------------------------


@dataclass
class Scenario:
    teams: dict[str, str]  # team name -> division name
    people: dict[str, str]  # participant id -> team name
    ops: list[tuple[Any, ...]]


@dataclass
class World:
    """What a scenario did so far to one program, as the client saw it."""

    admin: Client
    program: str
    document: dict[str, Any]
    teams: dict[str, str]
    roster: dict[str, dict[str, Any]]
    anchor: datetime  # submission times are minutes before this
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (submission id, participant)
    ids: Iterator[int] = field(default_factory=lambda: count(1))

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        reply = self.admin.call(method, f"/v1/programs/{self.program}{path}", body, **kw)
        assert reply.status in (200, 201), f"{method} {path}: {reply.status} {reply.text}"
        return reply.json

    def post(self, rows: list[dict[str, Any]]) -> None:
        result = self.call("POST", "/submissions", rows)
        assert not result["errors"], result["errors"]
        people = {r["id"]: r["participant"] for r in rows}
        self.accepted += [(i, people[i]) for i in result["accepted_ids"]]

    def roster_rows(self) -> list[dict[str, Any]]:
        return [{"id": pid, **fields} for pid, fields in sorted(self.roster.items())]


def ops_strategy(n_people: int, metrics: list[str]) -> st.SearchStrategy[tuple[Any, ...]]:
    values = st.sets(st.sampled_from(metrics), min_size=1).flatmap(
        lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in sorted(keys)})
    )
    # Mostly inside the current week, some back-dated into earlier weeks (within the back-dating window).
    minutes_back = st.one_of(st.integers(1, 600), st.integers(1, (BACKDATE_DAYS - 1) * 24 * 60))
    row = st.tuples(st.integers(0, n_people - 1), minutes_back, values)
    return st.one_of(
        st.tuples(st.just("post"), st.lists(row, min_size=1, max_size=6)),
        st.tuples(st.just("post"), st.lists(row, min_size=1, max_size=6)),
        st.tuples(st.just("void"), st.integers(0, 10_000)),
        st.tuples(st.just("correct"), st.integers(0, 10_000), values),
        st.tuples(st.just("move"), st.integers(0, n_people - 1), st.integers(0, 3)),
        st.tuples(st.just("rehome"), st.integers(0, 2), st.integers(0, 1)),
        st.tuples(st.just("toggle"), st.integers(0, n_people - 1)),
        st.tuples(st.just("rules")),
        st.tuples(st.just("drain")),
    )


@st.composite
def scenarios(draw: st.DrawFn, metrics: list[str]) -> Scenario:
    n_divisions = draw(st.integers(1, 2))
    n_teams = draw(st.integers(1, 3))
    teams = {f"Team {t}": f"Div {draw(st.integers(0, n_divisions - 1))}" for t in range(n_teams)}
    n_people = draw(st.integers(2, 8))
    people = {f"p{i}": draw(st.sampled_from(sorted(teams))) for i in range(n_people)}
    ops = draw(st.lists(ops_strategy(n_people, metrics), min_size=3, max_size=14))
    return Scenario(teams, people, ops)


def start_program(
    admin: Client, document: dict[str, Any], scenario: Scenario, prefix: str, anchor: datetime | None = None
) -> World:
    program = f"{prefix}-{next(program_ids)}"
    roster = {
        p: {"name": p.upper(), "team": t, "division": scenario.teams[t], "active": True}
        for p, t in scenario.people.items()
    }
    world = World(
        admin, program, {**document, "id": program}, dict(scenario.teams), roster, anchor or datetime.now(UTC)
    )
    world.call("PUT", "", world.document)
    world.call("PUT", "/roster", world.roster_rows())
    return world


def apply(world: World, op: tuple[Any, ...], drain: Callable[[], Any]) -> None:
    """One operation of a scenario, through the HTTP API."""
    kind = op[0]
    people = sorted(world.roster)
    if kind == "post":
        rows = []
        for participant, minutes, values in op[1]:
            at = (world.anchor - timedelta(minutes=minutes)).replace(microsecond=0)
            rows.append(
                {
                    "id": f"s{next(world.ids)}",
                    "participant": people[participant],
                    "at": at.isoformat(),
                    "values": values,
                }
            )
        active = [r for r in rows if world.roster[r["participant"]]["active"]]
        if active:
            world.post(active)
    elif kind in ("void", "correct") and world.accepted:
        target, participant = world.accepted[op[1] % len(world.accepted)]
        if kind == "void":
            world.call("POST", f"/submissions/{target}/void", {"participant": participant, "reason": "test"})
        elif world.roster[participant]["active"]:
            # A correction row: it sits at the time of what it voids and replaces its values.
            world.post([{"id": f"c{next(world.ids)}", "participant": participant, "voids": target, "values": op[2]}])
    elif kind == "move":
        participant = people[op[1]]
        if op[2] < len(world.teams):
            team = sorted(world.teams)[op[2]]
            world.call("PATCH", f"/participants/{participant}", {"team": team, "division": world.teams[team]})
            world.roster[participant].update(team=team, division=world.teams[team])
        else:  # out of every team
            world.call("PATCH", f"/participants/{participant}", {"team": None, "division": None})
            world.roster[participant].update(team=None, division=None)
    elif kind == "rehome":
        # A whole team changes division: one roster upload (people left out would be deactivated).
        team = sorted(world.teams)[op[1] % len(world.teams)]
        division = f"Div {op[2]}"
        world.teams[team] = division
        for fields in world.roster.values():
            if fields["team"] == team:
                fields["division"] = division
        world.call("PUT", "/roster", world.roster_rows())
    elif kind == "toggle":
        participant = people[op[1]]
        if world.roster[participant]["active"]:
            world.call("DELETE", f"/participants/{participant}")
        else:
            world.call("PATCH", f"/participants/{participant}", {"active": True})
        world.roster[participant]["active"] = not world.roster[participant]["active"]
    elif kind == "rules":
        # New rules for every current standing: calls weigh double (or single again) and the cap moves.
        metrics = copy.deepcopy(world.document["metrics"])
        calls = next(m for m in metrics if m["key"] == "calls")
        points = calls.get("points", {})
        calls["points"] = {"per_unit": 3 - points.get("per_unit", 1), "cap": 25 if points.get("cap") != 25 else 60}
        world.document = {**world.document, "metrics": metrics}
        world.call("PUT", "", world.document)
    elif kind == "drain":
        drain()


def run(world: World, scenario: Scenario, drain: Callable[[], Any]) -> None:
    for op in scenario.ops:
        apply(world, op, drain)
    drain()


# --- what the boards should say ---------------------------------------------------------------------------------


def expected_boards(store: Any, program_id: str, period_key: str) -> dict[str, list[dict[str, Any]]]:
    """Every board of the period from the stored log and today's roster, through the pure domain."""
    from podium.domain.boards import compute_scorebook
    from podium.domain.periods import end_instant, parse_period
    from podium.domain.roster import roster_as_of

    program = store.get_program(ORG, program_id).program
    period = parse_period(period_key, program.week_start)
    # Membership for a period is the roster at its end (the roster keeps each participant's placements).
    roster = roster_as_of(store.list_participants(ORG, program_id), end_instant(period, program.tz))
    log = [s.submission for p in roster.participants for s in store.list_submissions(ORG, program_id, p)]
    book = compute_scorebook(program, roster, log, period)
    boards = {"program": book.board("program"), "participants": book.board("participants")}
    boards |= {f"division/{d}": book.board("division", d) for d in roster.divisions}
    boards |= {f"team/{t}": book.board("team", t) for t in roster.teams}
    return {name: _rows(board.as_dict()) for name, board in boards.items()}


def stored_boards(admin: Client, program_id: str, names: list[str]) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The same boards read over HTTP (the current period); returns the period they are for."""
    found: dict[str, list[dict[str, Any]]] = {}
    periods = set()
    for name in names:
        reply = admin.call("GET", f"/v1/programs/{program_id}/boards/{name}")
        assert reply.status == 200, f"{name}: {reply.text}"
        periods.add(reply.json["period"])
        found[name] = _rows(reply.json)
    (period,) = periods
    return period, found


def _rows(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: s[k] for k in STANDING_FIELDS if k in s} for s in board["standings"]]


def current_period(store: Any, program_id: str) -> str:
    from podium.domain.periods import period_of

    program = store.get_program(ORG, program_id).program
    return period_of(datetime.now(UTC), program.period, program.tz, program.week_start).key


def assert_boards_match_the_log(admin: Client, store: Any, program_id: str) -> dict[str, list[dict[str, Any]]]:
    names = list(expected_boards(store, program_id, current_period(store, program_id)))
    period, stored = stored_boards(admin, program_id, names)
    expected = expected_boards(store, program_id, period)
    assert sorted(stored) == sorted(expected)
    for name in expected:
        assert stored[name] == expected[name], f"board {name} of {program_id} ({period}) differs from the log"
    assert_one_item_per_person_and_period(program_id)
    return stored


def assert_period_boards_match_the_log(admin: Client, store: Any, program_id: str, period: str) -> None:
    """Every board of a given period, read over HTTP, equals the scorebook of the log."""
    for name, rows in expected_boards(store, program_id, period).items():
        reply = admin.call("GET", f"/v1/programs/{program_id}/boards/{name}", query=f"period={period}")
        assert reply.status == 200, reply.text
        assert _rows(reply.json) == rows, f"board {name} of {program_id} ({period}) differs from the log"


def periods_with_scores(store: Any, program_id: str) -> set[str]:
    from podium.domain.periods import period_of

    program = store.get_program(ORG, program_id).program
    people = store.list_participants(ORG, program_id)
    return {
        period_of(s.submission.at, program.period, program.tz, program.week_start).key
        for p in people
        for s in store.list_submissions(ORG, program_id, p.id)
    }


def standing_items(program_id: str, level: str) -> list[dict[str, Any]]:
    """Every stored participant-period (`T`, `PP#`) or team-period (`D`, `TP#`) item of a program (a Scan: tests
    only)."""
    client = boto3.client("dynamodb", endpoint_url=DDB_LOCAL)
    prefix, sk = f"O#{ORG}#PROG#{program_id}#{level}#", {"T": "PP#", "D": "TP#"}[level]
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": os.environ["PODIUM_TABLE"]}
    while True:
        page = client.scan(**kwargs)
        items += [i for i in page["Items"] if i["pk"]["S"].startswith(prefix) and i["sk"]["S"].startswith(sk)]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_one_item_per_person_and_period(program_id: str) -> None:
    """No double counts: in any period, a participant has at most one standing item (whatever team it sits in),
    and a team at most one (whatever division it sits in)."""
    for level, what in (("T", "participants counted in more than one team"), ("D", "teams in more than one division")):
        seen = Counter((i["period"]["S"], i["ref"]["S"]) for i in standing_items(program_id, level))
        doubled = {k: n for k, n in seen.items() if n > 1}
        assert not doubled, f"{what}: {doubled}"


# --- 1. the property: stored standings == compute_scorebook -----------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@settings(
    max_examples=int(os.environ.get("PODIUM_PROPERTY_EXAMPLES", "8")),
    deadline=None,
    database=None,
    # Each example takes seconds: shrinking a failure would take minutes, so it is opt-in. The failing scenario
    # is printed as drawn (a dozen operations at most).
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("PODIUM_PROPERTY_SHRINK") else []),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_stored_standings_equal_the_scorebook_of_the_log(
    admin: Client, store: Any, stream: Any, variant: str, data: st.DataObject
) -> None:
    document = VARIANTS[variant]
    scenario = data.draw(scenarios([m["key"] for m in document["metrics"]]), label="scenario")
    world = start_program(admin, document, scenario, variant)
    run(world, scenario, stream.drain)
    assert not stream.parked, stream.parked
    assert_boards_match_the_log(admin, store, world.program)
    # Past periods too: each with the roster as it stood at the period's end.
    for period in periods_with_scores(store, world.program):
        assert_period_boards_match_the_log(admin, store, world.program, period)


# --- roster changes, one at a time (each a bug found by the property above) ---------------------------------------

LAST_WEEK = 7 * 24 * 60  # minutes
REGRESSIONS = {
    # A whole team changes division (one roster upload): its item must leave the old division's partition.
    "team-changes-division": Scenario(
        {"Red": "Div 0", "Blue": "Div 0", "Green": "Div 1"},
        {"ann": "Red", "bob": "Blue", "cy": "Green"},
        [("post", [(0, 5, {"calls": 5}), (1, 5, {"calls": 7}), (2, 5, {"calls": 3})]), ("drain",), ("rehome", 2, 1)],
    ),
    # Two moves of one participant reach the aggregator in one batch: Red -> Blue -> Green.
    "two-moves-in-one-batch": Scenario(
        {"Red": "Div 0", "Blue": "Div 0", "Green": "Div 1"},
        {"ann": "Red", "bob": "Blue", "cy": "Green"},
        [
            ("post", [(0, 5, {"calls": 5}), (1, 5, {"calls": 7}), (2, 5, {"calls": 3})]),
            ("drain",),
            ("move", 0, 0),
            ("move", 0, 1),
            ("drain",),
            ("post", [(0, 4, {"calls": 1})]),
        ],
    ),
    # A participant moves, then a late submission lands in a period before the move.
    "late-submission-after-a-move": Scenario(
        {"Red": "Div 0", "Blue": "Div 1"},
        {"ann": "Red", "bob": "Blue"},
        [
            ("post", [(0, LAST_WEEK, {"calls": 5}), (1, LAST_WEEK, {"calls": 7})]),
            ("drain",),
            ("move", 0, 0),
            ("drain",),
            ("post", [(0, LAST_WEEK - 1, {"calls": 1})]),
        ],
    ),
}


@pytest.mark.parametrize("case", list(REGRESSIONS))
def test_roster_changes_keep_the_standings_equal_to_the_scorebook(
    admin: Client, store: Any, stream: Any, case: str
) -> None:
    scenario = REGRESSIONS[case]
    world = start_program(admin, PROGRAM_SUMS, scenario, case)
    run(world, scenario, stream.drain)
    assert_boards_match_the_log(admin, store, world.program)


# --- 2. replays and retries --------------------------------------------------------------------------------------


def fixed_scenario(seed: int, metrics: list[str]) -> Scenario:
    """A busy deterministic scenario: enough records for many small batches, with corrections and moves."""
    rnd = random.Random(seed)  # noqa: S311 - not for security
    teams = {"Red": "North", "Blue": "North", "Green": "South"}
    people = {f"p{i}": rnd.choice(sorted(teams)) for i in range(8)}
    ops: list[tuple[Any, ...]] = []
    for step in range(12):
        rows = [
            (
                rnd.randrange(8),
                rnd.choice([rnd.randint(1, 600), rnd.randint(1, 9 * 24 * 60)]),
                {k: rnd.randint(0, 20) for k in rnd.sample(metrics, 2)},
            )
            for _ in range(5)
        ]
        ops.append(("post", rows))
        if step % 3 == 1:
            ops.append(("void", rnd.randrange(1000)))
            ops.append(("correct", rnd.randrange(1000), {metrics[0]: rnd.randint(0, 20)}))
        if step % 4 == 2:
            ops.append(("move", rnd.randrange(8), rnd.randrange(3)))
        if step == 6:
            ops.append(("drain",))
    return Scenario(teams, people, ops)


def log_of(store: Any, world: World) -> list[tuple[Any, ...]]:
    subs = [s.submission for p in world.roster for s in store.list_submissions(ORG, world.program, p)]
    return sorted((s.id, s.participant, s.at, sorted(s.values.items()), s.voids) for s in subs)


class Twice:
    """Lambda may deliver a batch more than once: each invocation is made twice with the same event."""

    def __init__(self, consumer: Callable[..., Any]) -> None:
        self.consumer = consumer
        self.calls = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls += 1
        first = self.consumer(copy.deepcopy(event), context)
        second = self.consumer(event, context)
        return second if second.get("batchItemFailures") else first


class FailsHalfWay:
    """The first delivery of each batch does the first half's work, then fails the rest: by reporting
    batchItemFailures for the second half (`report`), or by raising after the work (`raise`), as a timeout would.
    Lambda then retries (from the first failed record; or bisecting the batch)."""

    def __init__(self, consumer: Callable[..., Any], how: str) -> None:
        self.consumer = consumer
        self.how = how
        self.seen: set[tuple[str, ...]] = set()
        self.failures = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        records = event["Records"]
        key = tuple(r["dynamodb"]["SequenceNumber"] for r in records)
        if key in self.seen or len(records) < 2:
            return self.consumer(event, context)
        self.seen.add(key)
        self.failures += 1
        half = len(records) // 2
        if self.how == "raise":
            self.consumer(event, context)  # the whole batch's work is done, then the invocation dies
            raise RuntimeError("the invocation timed out")
        result = self.consumer({**event, "Records": records[:half]}, context)
        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        failed.append(records[half]["dynamodb"]["SequenceNumber"])
        return {"batchItemFailures": [{"itemIdentifier": min(failed)}]}


@pytest.fixture
def flaky_writes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The aggregator's own writes fail the first time for each item (throttling, say): the real handler must
    report those aggregates as failed and the retry must finish them."""
    from podium.adapters.standings import DynamoStandings

    failed: Counter[str] = Counter()

    def flaky(name: str) -> None:
        original = getattr(DynamoStandings, name)

        def write(self: Any, org: str, program: str, *args: Any) -> Any:
            key = f"{name}{args!r}"
            if not failed[key]:
                failed[key] += 1
                raise RuntimeError(f"throttled: {key}")
            return original(self, org, program, *args)

        monkeypatch.setattr(DynamoStandings, name, write)

    for name in ("put_participant_standing", "delete_participant_standing", "put_group", "delete_group"):
        flaky(name)
    return failed


@pytest.mark.parametrize("delivery", ["twice", "report-half", "raise-after-work", "flaky-writes"])
def test_replayed_and_retried_batches_leave_the_same_standings(
    admin: Client, store: Any, stream: Any, delivery: str, request: pytest.FixtureRequest
) -> None:
    from podium_cli.local.streams import StreamSettings

    real = stream.consumer
    # Small batches: many batch boundaries, so many places to fail and replay.
    stream.settings = StreamSettings(7, 0.0, stream.settings.max_retries, stream.settings.bisect_on_error)
    scenario = fixed_scenario(11, ["calls", "nps", "revenue", "training"])
    anchor = datetime.now(UTC)
    clean = start_program(admin, PROGRAM_SUMS, scenario, "clean", anchor)
    run(clean, scenario, stream.drain)
    assert not stream.parked

    wrapper: Any
    if delivery == "twice":
        wrapper = Twice(real)
    elif delivery == "flaky-writes":
        wrapper = real
        failed = request.getfixturevalue("flaky_writes")
    else:
        wrapper = FailsHalfWay(real, "report" if delivery == "report-half" else "raise")
    stream.consumer = wrapper
    faulty = start_program(admin, PROGRAM_SUMS, scenario, delivery, anchor)
    run(faulty, scenario, stream.drain)
    stream.consumer = real
    assert not stream.parked, stream.parked
    if delivery == "flaky-writes":
        assert sum(failed.values()) > 10  # the faults really happened
    elif delivery != "twice":
        assert wrapper.failures > 5
    # The same ids, times and values went in: the same log, so the same boards.
    assert log_of(store, clean) == log_of(store, faulty)
    expected = assert_boards_match_the_log(admin, store, clean.program)
    assert assert_boards_match_the_log(admin, store, faulty.program) == expected


# --- 3. concurrent invocations -------------------------------------------------------------------------------------


class Recorder:
    """Wraps the consumer: keeps every event it is given; `run=False` records without aggregating."""

    def __init__(self, consumer: Callable[..., Any], *, run: bool = True) -> None:
        self.consumer, self.run = consumer, run
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(copy.deepcopy(event))
        return self.consumer(event, context) if self.run else {"batchItemFailures": []}

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["Records"]]


def invoke_all(consumer: Callable[..., Any], records: list[dict[str, Any]], batch_size: int) -> None:
    from podium_cli.local.apigw import LambdaContext

    for i in range(0, len(records), batch_size):
        result = consumer({"Records": records[i : i + batch_size]}, LambdaContext("AggregateFunction"))
        assert not result.get("batchItemFailures"), result


def run_together(*jobs: Callable[[], None]) -> None:
    """Start the jobs at the same instant on their own threads; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def go(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as e:  # reported on the main thread
            errors.append(e)

    threads = [threading.Thread(target=go, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]


def test_overlapping_invocations_at_the_same_time_converge_on_the_scorebook(
    admin: Client, store: Any, stream: Any
) -> None:
    real = stream.consumer
    size = stream.settings.batch_size
    metrics = ["calls", "nps", "revenue", "training"]
    scenario = fixed_scenario(23, metrics)
    half = len(scenario.ops) // 2
    world = start_program(admin, PROGRAM_SUMS, Scenario(scenario.teams, scenario.people, scenario.ops[:half]), "conc")
    # Wave 1 goes through the stream; every event of its cascade (all levels) is kept.
    history = Recorder(real)
    stream.consumer = history
    run(world, Scenario(scenario.teams, scenario.people, scenario.ops[:half]), stream.drain)
    # Wave 2's log and roster changes are read from the stream but not aggregated yet.
    pending = Recorder(real, run=False)
    stream.consumer = pending
    for op in scenario.ops[half:]:
        apply(world, op, stream.drain)
    stream.drain()
    stream.consumer = real
    records = pending.records
    assert len(records) > 20 and len(history.records) > 50
    third = len(records) // 3
    # Two invocations of overlapping batches of wave 2 (a retry racing a slow first attempt), while a third
    # replays every batch of wave 1's cascade, all at the same time through the real handler.
    run_together(
        lambda: invoke_all(real, records[: 2 * third], size),
        lambda: invoke_all(real, records[third:], size),
        lambda: invoke_all(real, history.records, size),
    )
    stream.drain()
    assert not stream.parked
    assert_boards_match_the_log(admin, store, world.program)


def test_a_slow_invocation_does_not_overwrite_a_newer_recompute(
    admin: Client, store: Any, stream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry racing a slow invocation: the slow one reads a team's members, stalls, and writes after a newer
    recompute of the same team. The team's item must still end up reflecting the log."""
    from podium.adapters.standings import DynamoStandings

    real = stream.consumer
    scenario = Scenario({"Red": "North", "Blue": "South"}, {"ann": "Red", "bob": "Red", "cy": "Blue"}, [])
    world = start_program(admin, PROGRAM_SUMS, scenario, "slow")
    recorder = Recorder(real)
    stream.consumer = recorder
    at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    world.post([{"id": "s1", "participant": "ann", "at": at, "values": {"calls": 5}}])
    stream.drain()
    stream.consumer = real
    # The participant-item record that made Red's team item: delivering it again recomputes Red.
    red = [r for r in recorder.records if r["dynamodb"]["Keys"]["sk"]["S"].startswith("PP#")]
    assert red

    slow = threading.current_thread
    read_done, may_write = threading.Event(), threading.Event()
    original = DynamoStandings.team_standings
    slow_thread: dict[str, Any] = {}

    def team_standings(self: Any, *args: Any) -> Any:
        people = original(self, *args)
        if slow() is slow_thread.get("thread"):
            read_done.set()
            may_write.wait(30)  # the slow invocation stalls between its read and its write
        return people

    monkeypatch.setattr(DynamoStandings, "team_standings", team_standings)
    worker = threading.Thread(target=lambda: invoke_all(real, red[:1], 100))
    slow_thread["thread"] = worker
    worker.start()
    assert read_done.wait(30)
    world.post([{"id": "s2", "participant": "bob", "at": at, "values": {"calls": 7}}])
    stream.drain()  # the newer recompute of Red: 12 calls
    may_write.set()
    worker.join(30)
    stream.drain()
    assert_boards_match_the_log(admin, store, world.program)


# --- 4. eventually consistent reads -------------------------------------------------------------------------------


class LaggingReplica:
    """DynamoDB answers an eventually consistent read from a replica a recent write may not have reached yet.
    This makes it the worst legal case on DynamoDB Local (which is always consistent): on the aggregator's own
    client, every eventually consistent BatchGetItem, and every Query of an index, answers with each participant
    item's version from before its latest write. Consistent reads are answered as they are."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.direct = boto3.client("dynamodb", endpoint_url=DDB_LOCAL)
        self.previous: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.lagged = 0

    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        return item["pk"]["S"], item["sk"]["S"]

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["lagging_params"] = params
        if model.name in ("PutItem", "DeleteItem"):
            key = self._key(params.get("Item") or params["Key"])
            if key[1].startswith("PP#"):
                found = self.direct.get_item(
                    TableName=self.table, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}}, ConsistentRead=True
                )
                self.previous[key] = found.get("Item")

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("lagging_params", {})
        if model.name == "BatchGetItem":
            for table, wanted in params.get("RequestItems", {}).items():
                if wanted.get("ConsistentRead"):
                    continue
                answered = {self._key(i): i for i in parsed.get("Responses", {}).get(table, [])}
                for raw in wanted["Keys"]:
                    key = self._key(raw)
                    if key in self.previous:
                        self.lagged += 1
                        stale = self.previous[key]
                        answered.pop(key, None)
                        if stale is not None:
                            answered[key] = stale
                parsed.setdefault("Responses", {})[table] = list(answered.values())
        elif model.name == "Query" and params.get("IndexName"):
            items = []
            for item in parsed.get("Items", []):
                key = self._key(item)
                if key in self.previous:
                    self.lagged += 1
                    if self.previous[key] is not None:
                        items.append(self.previous[key])
                else:
                    items.append(item)
            parsed["Items"] = items

    @contextlib.contextmanager
    def on(self, client: Any) -> Iterator[LaggingReplica]:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self.before, unique_id="lagging-before")
        events.register("after-call.dynamodb", self.after, unique_id="lagging-after")
        try:
            yield self
        finally:
            events.unregister("before-parameter-build.dynamodb", unique_id="lagging-before")
            events.unregister("after-call.dynamodb", unique_id="lagging-after")


LAGGING = {
    # 5 calls, then 3 more, then the 3 are voided: the participant is back at 5, which a lagging read still shows.
    "a-void-brings-back-an-earlier-value": [
        ("post", [(0, 30, {"calls": 5})]),
        ("drain",),
        ("post", [(0, 20, {"calls": 3})]),
        ("drain",),
        ("void", 1),
        ("drain",),
    ],
    # A score, then a move right after it: the item in the old team is not yet visible to a lagging read.
    "a-move-right-after-a-first-score": [
        ("post", [(0, 30, {"calls": 5})]),
        ("drain",),
        ("move", 0, 0),
        ("drain",),
    ],
    # The same as the first, in last week (a late score, then its correction).
    "a-late-void-in-a-past-period": [
        ("post", [(0, LAST_WEEK, {"calls": 5})]),
        ("drain",),
        ("post", [(0, LAST_WEEK - 1, {"calls": 3})]),
        ("drain",),
        ("void", 1),
        ("drain",),
    ],
}


@pytest.mark.parametrize("case", list(LAGGING))
def test_eventually_consistent_reads_do_not_lose_updates(
    admin: Client, store: Any, stream: Any, backend: str, case: str
) -> None:
    """What the aggregator reads to decide whether (and where) to write must be the latest version: a stale read
    may skip a needed write or miss an item to delete, and nothing later repairs it."""
    from podium.adapters.factory import standings

    scenario = Scenario({"Blue": "South", "Red": "North"}, {"ann": "Red", "bob": "Red", "cy": "Blue"}, LAGGING[case])
    world = start_program(admin, PROGRAM_SUMS, scenario, case)
    client = standings().items._get_connection().connection.client
    with LaggingReplica(backend).on(client):
        run(world, scenario, stream.drain)
    assert_boards_match_the_log(admin, store, world.program)
    # Last week's participant values too (they do not depend on who is in which team).
    period = last_week(store, world.program)
    reply = admin.call("GET", f"/v1/programs/{world.program}/boards/participants", query=f"period={period}")
    assert reply.status == 200, reply.text
    assert _rows(reply.json) == expected_boards(store, world.program, period)["participants"]


def last_week(store: Any, program_id: str) -> str:
    from podium.domain.periods import period_of

    program = store.get_program(ORG, program_id).program
    return period_of(datetime.now(UTC) - timedelta(days=7), program.period, program.tz, program.week_start).key


def test_after_new_rules_every_board_of_a_past_period_agrees_with_the_scorebook(
    admin: Client, store: Any, stream: Any
) -> None:
    scenario = Scenario(
        {"Red": "North", "Blue": "South"},
        {"ann": "Red", "bob": "Blue"},
        [("post", [(0, LAST_WEEK, {"calls": 5}), (1, LAST_WEEK, {"calls": 7})]), ("drain",), ("rules",)],
    )
    world = start_program(admin, PROGRAM_SUMS, scenario, "rules")
    run(world, scenario, stream.drain)
    assert_period_boards_match_the_log(admin, store, world.program, last_week(store, world.program))


RUNNING_TOTAL: dict[str, Any] = {
    "name": "Daily running total",
    "timezone": "UTC",
    "period": "day",
    "metrics": [{"key": "calls"}, {"key": "followers", "period_aggregate": "ignore_period"}],
}


def test_a_running_total_reaches_a_new_periods_boards_once_the_rollover_starts_it(
    admin: Client, store: Any, stream: Any, backend: str
) -> None:
    import inspect

    from podium_cli.local.apigw import LambdaContext, load_function

    class Yesterday(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) - timedelta(days=1)

    scenario = Scenario(
        {"Red": "North", "Blue": "South"},
        {"ann": "Red", "bob": "Red", "cy": "Blue"},
        [("post", [(0, 24 * 60 + 1, {"calls": 2, "followers": 5}), (2, 24 * 60 + 1, {"followers": 3})]), ("drain",)],
    )
    with pytest.MonkeyPatch.context() as clock:
        # The roster is saved and the scores aggregated yesterday, so today has started since: what the rollover
        # is for.
        from podium.api import admin_routes

        clock.setattr(admin_routes, "now", lambda: Yesterday.now(UTC))
        clock.setitem(inspect.unwrap(stream.consumer).__globals__, "datetime", Yesterday)
        world = start_program(admin, RUNNING_TOTAL, scenario, "rollover")
        run(world, scenario, stream.drain)
    today = current_period(store, world.program)
    before = admin.call("GET", f"/v1/programs/{world.program}/boards/participants").json
    assert before["period"] == today
    assert [s["points"] for s in before["standings"]] == [0, 0, 0]  # nobody has submitted today yet

    rollover = load_function(ROOT, admin.api.template, "RolloverFunction", {"PodiumTable": backend})
    started = rollover({"source": "aws.events", "detail-type": "Scheduled Event"}, LambdaContext("RolloverFunction"))
    assert {"org": ORG, "program": world.program, "period": today} in started["started"]
    stream.drain()
    stored = assert_boards_match_the_log(admin, store, world.program)
    followers = {s["id"]: s["metrics"]["followers"]["value"] for s in stored["participants"]}
    assert followers == {"ann": 5, "bob": None, "cy": 3}
    again = rollover({}, LambdaContext("RolloverFunction"))
    assert world.program not in {s["program"] for s in again["started"]}


def _this_mondays_small_hours() -> datetime:
    """02:00 UTC on this week's Monday: Sunday evening in Chicago, so the week it falls in depends on the zone."""
    now = datetime.now(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(hour=2, minute=0, second=0, microsecond=0)
    return monday if monday < now else monday - timedelta(days=7)


def _periods_held(program_id: str) -> set[str]:
    return {i["period"]["S"] for level in ("T", "D") for i in standing_items(program_id, level)}


@pytest.mark.parametrize(
    "change", [{"timezone": "America/Chicago"}, {"week_start": "sunday"}, {"period": "month"}], ids=str
)
def test_new_rules_that_cut_periods_differently_leave_no_standing_where_scores_no_longer_fall(
    admin: Client, store: Any, stream: Any, change: dict[str, str]
) -> None:
    from podium.domain.periods import period_of

    at = _this_mondays_small_hours()
    world = start_program(admin, PROGRAM_SUMS, Scenario({"Red": "North"}, {"ann": "Red", "bob": "Red"}, []), "cut")
    world.post([{"id": "s1", "participant": "ann", "at": at.isoformat(), "values": {"calls": 5}}])
    stream.drain()
    old = store.get_program(ORG, world.program).program
    assert period_of(at, old.period, old.tz, old.week_start).key in _periods_held(world.program)

    world.call("PUT", "", {**world.document, **change})
    stream.drain()
    new = store.get_program(ORG, world.program).program
    now_in = period_of(at, new.period, new.tz, new.week_start).key
    held = {(lvl, i["period"]["S"], i["ref"]["S"]) for lvl in ("T", "D") for i in standing_items(world.program, lvl)}
    assert _periods_held(world.program) <= {now_in, current_period(store, world.program)}, held
    for period in {now_in, current_period(store, world.program)}:
        assert_period_boards_match_the_log(admin, store, world.program, period)
    assert_one_item_per_person_and_period(world.program)
