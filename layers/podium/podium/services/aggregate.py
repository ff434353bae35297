"""The stream consumer's use case: recompute the aggregates a batch of table changes touches, level by level.

Every aggregate is a pure function of its children, recomputed (never incremented): a participant's period item
from their log, a team's from its members' items and the roster, a division's from its teams, the program's
from its divisions. Each level's writes arrive on the stream as the next level's changes, partitioned by the
parent, so exactly one invocation at a time writes any aggregate. Each aggregate touched by a batch is
recomputed once; a write that would not change an item is skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from podium.domain.boards import cascade_totals
from podium.domain.errors import PodiumError
from podium.domain.periods import Period, end_instant, parse_period, period_of, period_of_day
from podium.domain.program import PeriodAggregate, PeriodKind, Program, Weekday, program_from_dict
from podium.domain.rollup import GroupTotals, combine, with_headcounts
from podium.domain.roster import Participant, Roster, roster_as_of
from podium.domain.scoring import participant_values
from podium.domain.submissions import Submission, effective_submissions
from podium.observability import logger
from podium.services.ports import ProgramRecord

NO_GROUP = "-"
NO_DIVISION = "No division"
# Aggregates that carry forward: a late value changes every later period's standing too.
CARRIED = (PeriodAggregate.IGNORE_PERIOD, PeriodAggregate.DIFFERENCE)
# A membership marker asking for every period the person has scores in (new rules change them all). When the
# rules also changed how periods are cut (kind, zone, week start), the old way follows, `*week|UTC|monday`, so
# the periods scores left are recomputed (emptied) too.
EVERY_PERIOD = "*"


def every_period_marker(old: Program | None, new: Program) -> str:
    scheme = (str(new.period), new.timezone, str(new.week_start))
    if old is None or (str(old.period), old.timezone, str(old.week_start)) == scheme:
        return EVERY_PERIOD
    return f"{EVERY_PERIOD}{old.period}|{old.timezone}|{old.week_start}"


def _old_period_keys(marker: str, log: Iterable[Submission], now: datetime) -> set[str]:
    """The periods the log's scores fell in under the period scheme a marker names, and its current period
    (where everyone's membership placed an item)."""
    if marker == EVERY_PERIOD:
        return set()
    kind, timezone, week_start = marker.removeprefix(EVERY_PERIOD).split("|")
    tz, start = ZoneInfo(timezone), Weekday(week_start)
    return {period_of(at, PeriodKind(kind), tz, start).key for at in (now, *(s.at for s in log))}


@dataclass(frozen=True)
class Change:
    """One stream record, with its images already decoded to plain values."""

    sequence: str
    name: str  # INSERT | MODIFY | REMOVE
    keys: Mapping[str, Any]
    new: Mapping[str, Any] | None
    old: Mapping[str, Any] | None


class Standings(Protocol):
    def person_log(self, org: str, program: str, person: str) -> tuple[Participant | None, list[Submission]]: ...
    def get_person_periods(self, org: str, program: str, keys: Iterable[tuple[str, str, str]]) -> dict[Any, Any]: ...
    def put_person_period(self, org: str, program: str, pp: Any, watermark: str | None = None) -> None: ...
    def delete_person_period(
        self, org: str, program: str, team: str, period: str, person: str, watermark: str | None = None
    ) -> None: ...
    def team_people(self, org: str, program: str, team: str, period: str) -> list[Any]: ...
    def find_person_period(self, org: str, program: str, period: str, person: str) -> Any: ...
    def get_group(self, org: str, program: str, level: str, ref: str, parent: str, period: str) -> Any: ...
    def put_group(self, org: str, program: str, g: Any, watermark: str | None = None) -> None: ...
    def delete_group(
        self, org: str, program: str, level: str, ref: str, parent: str, period: str, watermark: str | None = None
    ) -> None: ...
    def division_teams(self, org: str, program: str, division: str, period: str) -> list[Any]: ...
    def divisions(self, org: str, program: str, period: str) -> list[Any]: ...
    def touch_memberships(
        self, org: str, program: str, people: Sequence[Participant], period: str, at: datetime
    ) -> None: ...


class Catalog(Protocol):
    def get_program(self, org: str, program_id: str) -> ProgramRecord | None: ...
    def list_participants(self, org: str, program_id: str) -> list[Participant]: ...


@dataclass
class _Work:
    """What a batch asks to recompute, and the first record that asked for each thing (to report failures)."""

    people: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    moved_from: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # Divisions a team's participant items named before (a team that moved division leaves an item there).
    team_divisions_before: dict[tuple[str, str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    voided: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    every_period: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # People a `podium rebuild` marked, with the marker's time: their items are rewritten even if unchanged.
    rebuilt: dict[tuple[str, str, str], str] = field(default_factory=dict)
    teams: set[tuple[str, str, str, str]] = field(default_factory=set)
    divisions: set[tuple[str, str, str, str]] = field(default_factory=set)
    programs: set[tuple[str, str, str]] = field(default_factory=set)
    rules_changed: dict[tuple[str, str], str] = field(default_factory=dict)  # -> the old rules' document
    first_record: dict[Any, str] = field(default_factory=dict)
    last_record: dict[Any, str] = field(default_factory=dict)

    def asked(self, key: Any, sequence: str) -> None:
        padded = watermark_of(sequence)
        if key not in self.first_record or padded < watermark_of(self.first_record[key]):
            self.first_record[key] = sequence
        if key not in self.last_record or padded > self.last_record[key]:
            self.last_record[key] = padded


def watermark_of(sequence: str) -> str:
    """Stream sequence numbers are decimal strings of varying length: padded, they compare in order."""
    return sequence.zfill(48)


def recompute(changes: Iterable[Change], standings: Standings, catalog: Catalog, now: datetime) -> list[str]:
    """Recompute everything the changes touch. Returns the sequence numbers of records whose work failed."""
    work = _Work()
    context = _Context(catalog, now)
    for change in changes:
        _classify(change, work, context)
    failed: list[str] = []
    jobs: list[tuple[Any, Any]] = [
        *((("person", k), lambda k=k: _person(k, work, standings, context)) for k in work.people),
        *(
            (("team", k), lambda k=k: _team(k, standings, context, work.last_record[("team", k)], work))
            for k in work.teams
        ),
        *(
            (("division", k), lambda k=k: _division(k, standings, context, work.last_record[("division", k)]))
            for k in work.divisions
        ),
        *(
            (("program", k), lambda k=k: _program(k, standings, context, work.last_record[("program", k)]))
            for k in work.programs
        ),
        *(
            (("rules", k), lambda k=k, old=old: _rules_changed(k, old, standings, context))
            for k, old in work.rules_changed.items()
        ),
    ]
    for key, job in jobs:
        try:
            job()
        except Exception:  # one aggregate's failure must not lose the others' work
            failed.append(work.first_record[key])
            logger.exception("recompute failed", extra={"aggregate": str(key)})
    return sorted(set(failed))


class _Context:
    """Reads shared by a batch: each program and roster once."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        self.catalog = catalog
        self.now = now
        self._programs: dict[tuple[str, str], ProgramRecord | None] = {}
        self._participants: dict[tuple[str, str], list[Participant]] = {}
        self._rosters: dict[tuple[str, str, str | None], Roster] = {}

    def program(self, org: str, program: str) -> Program | None:
        record = self.record(org, program)
        return record.program if record else None

    def record(self, org: str, program: str) -> ProgramRecord | None:
        if (org, program) not in self._programs:
            self._programs[(org, program)] = self.catalog.get_program(org, program)
        return self._programs[(org, program)]

    def roster(self, org: str, program: str, period: str | None = None) -> Roster:
        """The roster now, or as it stood at the end of a period (for that period's standings)."""
        if (org, program, period) not in self._rosters:
            people = self._participants.get((org, program))
            if people is None:
                people = self._participants[(org, program)] = self.catalog.list_participants(org, program)
            record = self.record(org, program)
            end = None
            if period is not None and record is not None:
                end = end_instant(parse_period(period, record.program.week_start), record.program.tz)
            self._rosters[(org, program, period)] = roster_as_of(people, end)
        return self._rosters[(org, program, period)]

    def current(self, program: Program) -> Period:
        return period_of(self.now, program.period, program.tz, program.week_start)


def _classify(change: Change, work: _Work, context: _Context) -> None:
    pk, sk = str(change.keys.get("pk", "")), str(change.keys.get("sk", ""))
    parts = pk.split("#")
    # O#{org}#PROG#{program}#P#{person}: a person's log (submissions S#…, membership M)
    if len(parts) == 6 and parts[0] == "O" and parts[2] == "PROG" and parts[4] == "P":
        org, program, person = parts[1], parts[3], parts[5]
        prog = context.program(org, program)
        if prog is None:
            return
        key = (org, program, person)
        periods = work.people[key]
        current = context.current(prog)
        if sk == "M":
            periods.add(current.key)
            saved, before = (image.get("updated_at") if image else None for image in (change.new, change.old))
            if saved and saved != before:
                # A roster save also changes the period it was made in, though that period may have ended since.
                periods.add(period_of(_instant(str(saved)), prog.period, prog.tz, prog.week_start).key)
            rebuild = _rebuild_asked(change)
            if rebuild.startswith(EVERY_PERIOD):
                work.every_period[key].add(rebuild)
            elif rebuild:
                periods.add(rebuild)
                work.rebuilt[key] = str(change.new.get("touched_at") if change.new else "")
            old_team = _team_of(change.old)
            if old_team != _team_of(change.new):
                work.moved_from[key].add(old_team)
        elif sk.startswith("S#"):
            for image in (change.new, change.old):
                if image and image.get("at"):
                    periods.update(_periods_from(prog, _instant(image["at"]), current))
                if image and image.get("voids"):
                    # A correction may sit in another period than what it cancels: that period changes too.
                    work.voided[key].add(str(image["voids"]))
        work.asked(("person", key), change.sequence)
    # O#{org}#PROG#{program}#T#{team}, sk PP#{period}#{person}: a participant's standing changed
    # O#{org}, sk PROG#{program}: a program's rules changed, so every current standing may change
    elif sk.startswith("PROG#") and len(parts) == 2 and change.new and change.old:
        if change.new.get("document") != change.old.get("document"):
            key2 = (parts[1], sk.removeprefix("PROG#"))
            work.rules_changed.setdefault(key2, str(change.old.get("document") or ""))
            work.asked(("rules", key2), change.sequence)
    elif sk.startswith("PP#") and len(parts) == 6 and parts[4] == "T":
        key4 = (parts[1], parts[3], parts[5], sk.split("#")[1])
        work.teams.add(key4)
        for image in (change.old, change.new):
            if image and image.get("division"):
                work.team_divisions_before[key4].add(str(image["division"]))
        work.asked(("team", key4), change.sequence)
    # O#{org}#PROG#{program}#D#{division}, sk TP#{period}#{team}
    elif sk.startswith("TP#") and len(parts) == 6 and parts[4] == "D":
        key4 = (parts[1], parts[3], parts[5], sk.split("#")[1])
        work.divisions.add(key4)
        work.asked(("division", key4), change.sequence)
    # O#{org}#PROG#{program}#DIVS, sk DP#{period}#{division}
    elif sk.startswith("DP#") and len(parts) == 5 and parts[4] == "DIVS":
        key3 = (parts[1], parts[3], sk.split("#")[1])
        work.programs.add(key3)
        work.asked(("program", key3), change.sequence)


def _rebuild_asked(change: Change) -> str:
    """The period a membership marker asks to rebuild, if this change set it (a roster change keeps the old one)."""
    new, old = change.new or {}, change.old or {}
    marker = ("rebuild_period", "touched_at")
    if not new.get("rebuild_period") or all(new.get(k) == old.get(k) for k in marker):
        return ""
    return str(new["rebuild_period"])


def _team_of(image: Mapping[str, Any] | None) -> str:
    if not image or not image.get("active", True):
        return ""
    team = image.get("team")
    return _slug(team) if team else NO_GROUP


def _slug(name: str) -> str:
    from podium.domain.roster import slug

    return slug(name)


def _instant(value: str) -> datetime:
    # PynamoDB's UTCDateTimeAttribute format: 2026-11-24T10:00:00.000000+0000
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _periods_from(program: Program, at: datetime, current: Period) -> set[str]:
    """The period of `at`, and every later one up to now when some metric carries values forward."""
    first = period_of(at, program.period, program.tz, program.week_start)
    if not any(m.period_aggregate in CARRIED for m in program.metrics) or first.end_day is None:
        return {first.key}
    keys = {first.key}
    period = first
    while period.end_day is not None and current.first_day is not None and period.end_day <= current.first_day:
        period = period_of_day(period.end_day, program.period, program.week_start)
        keys.add(period.key)
    return keys


# --- level 1: a participant in a period ---------------------------------------------------------------------


def _person(key: tuple[str, str, str], work: _Work, standings: Standings, context: _Context) -> None:
    from podium.adapters.standings import PersonPeriod

    org, program_id, person = key
    program = context.program(org, program_id)
    if program is None:
        return
    mark = work.last_record.get(("person", key))
    membership, log = standings.person_log(org, program_id, person)
    effective = effective_submissions(log)
    current = context.current(program)
    markers = work.every_period.get(key, set())
    for s in log:
        if markers or s.id in work.voided.get(key, ()):
            work.people[key].update(_periods_from(program, s.at, current))
    for marker in markers:
        work.people[key].update(_old_period_keys(marker, log, context.now))
    team = _home(membership)[0]
    periods = sorted(work.people[key])
    old_teams = work.moved_from.get(key, set()) - {team, ""}
    for period_key in periods:
        period = parse_period(period_key, program.week_start)
        # A period of another kind is left over from rules that cut periods differently: it holds nothing now.
        values = participant_values(program, effective, period) if period.kind is program.period else {}
        standing = _standing(membership, period, program, partial(context.roster, org, program_id, period_key))
        active = standing is not None and standing.active
        home, home_division = _home(standing)
        if period_key != current.key:
            # An item an earlier placement left in another team (written before the roster kept its history).
            placed = standings.find_person_period(org, program_id, period_key, person)
            if placed is not None and placed.team != home:
                standings.delete_person_period(org, program_id, placed.team, period_key, person, mark)
        # The sparse index only says where an item lives; what it holds is read consistently.
        have = standings.get_person_periods(org, program_id, [(home, period_key, person)]).get(
            (home, period_key, person)
        )
        # Active members get an item when they have values, and in the current period also when their membership
        # changed (so the team's headcount is recomputed); anyone else has none.
        now_in = period_key == current.key and (have is not None or key in work.moved_from)
        if not (active and (values or now_in)):
            if have is not None:
                standings.delete_person_period(org, program_id, home, period_key, person, mark)
            continue
        name = membership.name if membership is not None else person
        rules = record.version if (record := context.record(org, program_id)) else 0
        rebuilt = work.rebuilt.get(key) or (have.rebuilt if have is not None else "")
        item = PersonPeriod(person, name, home, home_division, period_key, dict(values), rules, rebuilt)
        if have != item:
            standings.put_person_period(org, program_id, item, mark)
    # Moving on: the current period's item leaves every team the person was in before (all moves in the batch).
    for old in sorted(old_teams):
        if standings.get_person_periods(org, program_id, [(old, current.key, person)]):
            standings.delete_person_period(org, program_id, old, current.key, person, mark)


def _standing(
    membership: Participant | None, period: Period, program: Program, roster_then: Callable[[], Roster]
) -> Participant | None:
    """Where a person stood for a period: at its end (now, for the current period). Someone who joined after
    it stands where the roster of the time puts them (their team may have changed division since)."""
    end = end_instant(period, program.tz)
    if membership is None or end is None:
        return membership
    if membership.history and membership.history[0].since >= end:
        return roster_then().participants.get(membership.id, membership.as_of(end))
    return membership.as_of(end)


def _home(standing: Participant | None) -> tuple[str, str]:
    """The team and division partitions a standing of this placement lives in."""
    if standing is None or not standing.active:
        return NO_GROUP, NO_GROUP
    return standing.team_id or NO_GROUP, standing.division_id or NO_GROUP


# --- level 2: a team in a period ----------------------------------------------------------------------------


def _team(key: tuple[str, str, str, str], standings: Standings, context: _Context, mark: str, work: _Work) -> None:
    from podium.adapters.standings import GroupPeriod

    org, program_id, team, period = key
    program = context.program(org, program_id)
    if program is None:
        return
    roster = context.roster(org, program_id, period)
    if team == NO_GROUP:
        members = [p for p in roster.active if p.team_id is None]
        name, division = "No team", NO_GROUP
    else:
        members = roster.team_members(team)
        group = roster.teams.get(team)
        name, division = (group.name, group.parent or NO_GROUP) if group else (team, NO_GROUP)
    items = {pp.person: pp for pp in standings.team_people(org, program_id, team, period)}
    totals = team_totals(program, members, items)
    # A team that moved to another division leaves no item behind in the old one.
    for before in sorted(work.team_divisions_before.get(key, set()) - {division}):
        if standings.get_group(org, program_id, "team", team, before, period) is not None:
            standings.delete_group(org, program_id, "team", team, before, period, mark)
    have = standings.get_group(org, program_id, "team", team, division, period)
    # No member has a standing in the period (all voided, or the rules moved their scores elsewhere): a board
    # shows the team from the roster, with nothing; an item would only be one more thing to keep right.
    if totals.headcount == 0 or not items or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, "team", team, division, period, mark)
        return
    wanted = GroupPeriod("team", team, name, division, period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def team_totals(program: Program, members: Iterable[Participant], items: Mapping[str, Any]) -> GroupTotals:
    """A team's totals: its active members' carried values; members with no item this period count in the
    headcount with nothing to add."""
    return combine(
        cascade_totals(program, p.id, items[p.id].values) if p.id in items else GroupTotals(headcount=1)
        for p in sorted(members, key=lambda p: p.id)
    )


def _of_kind(program: Program, period_key: str) -> bool:
    """Whether a period is cut the program's way: standings of another kind are left over from older rules."""
    return parse_period(period_key, program.week_start).kind is program.period


# --- levels 3 and 4: a division, the program ------------------------------------------------------------------


def _division(key: tuple[str, str, str, str], standings: Standings, context: _Context, mark: str) -> None:
    """A division's totals: its teams' items, and the headcount of each roster team without one."""
    from podium.adapters.standings import GroupPeriod

    org, program_id, division, period = key
    program = context.program(org, program_id)
    roster = context.roster(org, program_id, period)
    stored = {t.ref: t.totals for t in standings.division_teams(org, program_id, division, period)}
    teams = with_headcounts(stored, _placed(roster.team_headcounts(_group_id(division))))
    totals = combine(teams[t] for t in sorted(teams))
    group = roster.divisions.get(division)
    have = standings.get_group(org, program_id, "division", division, "", period)
    if program is None or not stored or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, "division", division, "", period, mark)
        return
    wanted = GroupPeriod("division", division, group.name if group else NO_DIVISION, "", period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def _program(key: tuple[str, str, str], standings: Standings, context: _Context, mark: str) -> None:
    """The program's totals: its divisions' items, and the headcount of each roster division without one."""
    from podium.adapters.standings import GroupPeriod

    org, program_id, period = key
    program = context.program(org, program_id)
    stored = {d.ref: d.totals for d in standings.divisions(org, program_id, period)}
    divisions = with_headcounts(stored, _placed(context.roster(org, program_id, period).division_headcounts()))
    totals = combine(divisions[d] for d in sorted(divisions))
    have = standings.get_group(org, program_id, "program", program_id, "", period)
    if program is None or not stored or not _of_kind(program, period):
        if have is not None:
            standings.delete_group(org, program_id, "program", program_id, "", period, mark)
        return
    wanted = GroupPeriod("program", program_id, program.name, "", period, totals)
    if have != wanted:
        standings.put_group(org, program_id, wanted, mark)


def _group_id(stored_ref: str) -> str | None:
    return None if stored_ref == NO_GROUP else stored_ref


def _placed(headcounts: Mapping[str | None, int]) -> dict[str, int]:
    """Roster headcounts keyed as items are stored: no team or no division is NO_GROUP."""
    return {NO_GROUP if ref is None else ref: n for ref, n in headcounts.items()}


def _rules_changed(key: tuple[str, str], old_document: str, standings: Standings, context: _Context) -> None:
    """New rules: have the stream recompute every participant's standing in every period they have scores in
    (and the current one, and those the old rules put scores in), each on their own shard; the levels above
    follow from those writes."""
    org, program_id = key
    program = context.program(org, program_id)
    if program is None:
        return
    marker = every_period_marker(_program_or_none(old_document), program)
    people = sorted(context.roster(org, program_id).participants.values(), key=lambda p: p.id)
    standings.touch_memberships(org, program_id, people, marker, context.now)


def _program_or_none(document: str) -> Program | None:
    try:
        return program_from_dict(json.loads(document))
    except (ValueError, PodiumError):  # no earlier rules to compare with
        return None
