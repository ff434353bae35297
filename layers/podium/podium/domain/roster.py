"""The roster: participants, the teams they sit in and the divisions teams sit in."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property, lru_cache

from podium.domain.errors import InvalidInput, Problem

PARTICIPANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")  # use with fullmatch


@lru_cache(maxsize=4096)  # few team and division names, slugged again by every recompute
def slug(name: str) -> str:
    """A stable id for a team or division name, in any script: `South East` -> `south-east`, `東京` -> `東京`."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\W_]+", "-", folded).strip("-")


SINCE_ALWAYS = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Placement:
    """Where a participant stood from `since` on: their team, division and whether they were active."""

    since: datetime
    team: str | None
    division: str | None
    active: bool


class OptOut(StrEnum):
    """How a participant appears on public and unlisted boards (their points count for their team either way)."""

    NONE = ""  # by name
    ANONYMISE = "anonymise"  # as "Anonymous", with no id
    HIDE = "hide"  # not at all


@dataclass(frozen=True)
class Participant:
    id: str
    name: str
    email: str = ""
    team: str | None = None  # team name as given; its id is slug(team)
    division: str | None = None
    active: bool = True
    opt_out: OptOut = OptOut.NONE
    # Every placement since they joined, oldest first; the last is the one above. A period's standings use the
    # placement at the period's end. Not part of equality: two records of one participant are equal as they are now.
    history: tuple[Placement, ...] = field(default=(), compare=False)

    def placed(self, previous: Participant | None, at: datetime) -> Participant:
        """This participant as saved at `at`: their history is the previous record's, plus a new placement if
        their team, division or status changed (or they are new)."""
        history = previous.history if previous is not None else ()
        if previous is not None and not history:  # saved before the roster kept placements: since always
            history = (Placement(SINCE_ALWAYS, previous.team, previous.division, previous.active),)
        now = Placement(at, self.team, self.division, self.active)
        last = history[-1] if history else None
        if last is None or (last.team, last.division, last.active) != (now.team, now.division, now.active):
            history = (*history, now)
        return replace(self, history=history)

    def as_of(self, instant: datetime) -> Participant:
        """Where they stood just before `instant` (a period's end). Before their first placement, where that
        placed them: scores may be sent for days before someone joined the roster."""
        before = [h for h in self.history if h.since < instant]
        placement = before[-1] if before else (self.history[0] if self.history else None)
        if placement is None or placement is self.history[-1]:
            return self
        return replace(self, team=placement.team, division=placement.division, active=placement.active)

    @cached_property
    def team_id(self) -> str | None:
        return slug(self.team) if self.team else None

    @cached_property
    def division_id(self) -> str | None:
        return slug(self.division) if self.division else None


@dataclass(frozen=True)
class Group:
    """A team or a division."""

    id: str
    name: str
    parent: str | None = None  # a team's division id


@dataclass(frozen=True)
class Roster:
    participants: dict[str, Participant]
    teams: dict[str, Group]
    divisions: dict[str, Group]

    @cached_property
    def active(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.active]

    @cached_property
    def _members(self) -> dict[str, list[Participant]]:
        members: dict[str, list[Participant]] = defaultdict(list)
        for p in self.active:
            if p.team_id:
                members[p.team_id].append(p)
        return members

    def team_members(self, team_id: str) -> list[Participant]:
        return list(self._members.get(team_id, []))

    @cached_property
    def headcounts(self) -> dict[tuple[str | None, str | None], int]:
        """Active participants by (division id, team id): a team's division is its parent; someone without a team
        is counted under (None, None)."""
        counts: dict[tuple[str | None, str | None], int] = defaultdict(int)
        for p in self.active:
            team = self.teams.get(p.team_id) if p.team_id else None
            counts[(team.parent if team else None, team.id if team else None)] += 1
        return dict(counts)

    def team_headcounts(self, division_id: str | None) -> dict[str | None, int]:
        return {t: n for (d, t), n in self.headcounts.items() if d == division_id}

    def division_headcounts(self) -> dict[str | None, int]:
        counts: dict[str | None, int] = defaultdict(int)
        for (d, _), n in self.headcounts.items():
            counts[d] += n
        return dict(counts)

    def division_teams(self, division_id: str) -> list[Group]:
        return [t for t in self.teams.values() if t.parent == division_id]

    def find_team(self, ref: str) -> Group | None:
        return self.teams.get(ref) or self.teams.get(slug(ref))

    def find_division(self, ref: str) -> Group | None:
        return self.divisions.get(ref) or self.divisions.get(slug(ref))


def roster_as_of(participants: Iterable[Participant], instant: datetime | None) -> Roster:
    """The roster as it stood just before `instant` (None: as it is now).

    Someone who joined after `instant` stands where they first joined (scores may be sent for days before), in
    their team's division of the time: the division its members had then, or for a team nobody was in yet, the
    one its first joiner joined it in."""
    people = list(participants)
    if instant is None:
        return build_roster(people)
    joined_later = {p.id for p in people if p.history and p.history[0].since >= instant}
    then = [p.as_of(instant) for p in people if p.id not in joined_later]
    later = sorted((p for p in people if p.id in joined_later), key=lambda p: (p.history[0].since, p.id))
    homes: dict[str | None, tuple[str | None, str | None]] = {
        p.team_id: (p.team, p.division) for p in then if p.team_id
    }
    for p in later:
        first = p.as_of(instant)
        if first.team_id:
            homes.setdefault(first.team_id, (first.team, first.division))
    placed = [*then, *(_in_team_home(p.as_of(instant), homes) for p in later)]
    return build_roster(placed, strict=False)


def _in_team_home(p: Participant, homes: dict[str | None, tuple[str | None, str | None]]) -> Participant:
    team, division = homes.get(p.team_id, (p.team, p.division))
    return replace(p, team=team, division=division)


def build_roster(participants: Iterable[Participant], *, strict: bool = True) -> Roster:
    """Check a roster and derive its teams and divisions. A team sits in one division only. Not `strict` (a
    roster rebuilt from history, already checked when saved): the first of two conflicting records wins."""
    problems: list[Problem] = []
    people: dict[str, Participant] = {}
    teams: dict[str, Group] = {}
    divisions: dict[str, Group] = {}
    for p in participants:
        where = f"participant {p.id!r}"
        if not PARTICIPANT_ID.fullmatch(p.id):
            problems.append(Problem(where, "id must be 1-128 of A-Z a-z 0-9 . _ @ + -, starting with A-Z a-z 0-9"))
            continue
        if p.id in people:
            problems.append(Problem(where, "appears twice"))
            continue
        people[p.id] = p
        division_id = p.division_id
        if p.division and not division_id:
            problems.append(Problem(where, f"division {p.division!r} has no letters or digits"))
            continue
        if division_id and p.division:
            division = divisions.setdefault(division_id, Group(division_id, p.division.strip()))
            if not _same_name(division.name, p.division):
                problems.append(Problem(where, _clash("division", division.name, p.division, division_id)))
        if not p.team:
            if p.division:
                problems.append(Problem(where, "has a division but no team"))
            continue
        team_id = p.team_id
        if not team_id:
            problems.append(Problem(where, f"team {p.team!r} has no letters or digits"))
            continue
        team = teams.setdefault(team_id, Group(team_id, p.team.strip(), division_id))
        if not _same_name(team.name, p.team):
            problems.append(Problem(where, _clash("team", team.name, p.team, team_id)))
        elif team.parent != division_id:
            problems.append(
                Problem(
                    where,
                    f"team {team.name!r} is already in division {team.parent or '(none)'!r}, "
                    f"not {division_id or '(none)'!r}: a team sits in one division",
                )
            )
    if problems and strict:
        raise InvalidInput(problems, what="roster")
    return Roster(people, teams, divisions)


def _same_name(a: str, b: str) -> bool:
    """Names that differ only in case or spacing are the same group."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _clash(kind: str, first: str, second: str, group_id: str) -> str:
    return f"{kind} {second.strip()!r} and {kind} {first!r} would share the id {group_id!r}: spell them the same way"
