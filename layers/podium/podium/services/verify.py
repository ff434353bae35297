"""`podium verify` and `podium rebuild`: every stored standing recomputed from the log and compared.

Verify reads each participant's log, computes with the pure domain what each aggregate should hold, and lists
every difference from the stored standings. Rebuild deletes stored standings that should not exist, then asks the
stream to recompute everyone (a mark on each participant's membership), so the repair goes through the same
single-writer path as every other change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from podium.domain.periods import Period, end_instant
from podium.domain.rollup import GroupTotals, combine
from podium.domain.roster import roster_as_of
from podium.domain.scoring import MetricValue, participant_values
from podium.domain.standings import NO_GROUP, GroupLevel, ParticipantStanding, RebuildRequest
from podium.domain.submissions import effective_submissions
from podium.services.aggregate import team_totals
from podium.services.boards import board_period
from podium.services.ports import Standings, Store
from podium.services.programs import find_program

Progress = Callable[[str], None]
PROGRESS_EVERY = 50


@dataclass(frozen=True)
class Drift:
    what: str  # e.g. "participant ann", "team red", "division north", "program"
    problem: str

    def __str__(self) -> str:
        return f"{self.what}: {self.problem}"


@dataclass
class Expected:
    participants: dict[str, ParticipantStanding]
    teams: dict[tuple[str, str], GroupTotals]  # (division, team) -> totals
    divisions: dict[str, GroupTotals]
    program: GroupTotals


def expected_standings(store: Store, org: str, program_id: str, period: Period, progress: Progress) -> Expected:
    record = find_program(store, org, program_id)
    program = record.program
    roster = roster_as_of(store.list_participants(org, program_id), end_instant(period, program.tz))
    expected: dict[str, ParticipantStanding] = {}
    active = sorted(roster.active, key=lambda p: p.id)
    for n, participant in enumerate(active, start=1):
        log = [s.submission for s in store.list_submissions(org, program_id, participant.id)]
        values = participant_values(program, effective_submissions(log), period)
        if values:
            team, division = participant.team_id or NO_GROUP, participant.division_id or NO_GROUP
            expected[participant.id] = ParticipantStanding(
                participant.id, participant.name, team, division, period.key, dict(values)
            )
        if n % PROGRESS_EVERY == 0 or n == len(active):
            progress(f"read {n}/{len(active)} participants' logs")

    teams: dict[tuple[str, str], GroupTotals] = {}
    groups = [(t.parent or NO_GROUP, t.id, roster.team_members(t.id)) for t in roster.teams.values()]
    loose = [p for p in roster.active if p.team_id is None]
    if loose:
        groups.append((NO_GROUP, NO_GROUP, loose))
    for division, team, members in groups:
        if not members:
            continue
        standings = {p.id: expected[p.id] for p in members if p.id in expected}
        teams[(division, team)] = team_totals(program, members, standings)
    divisions: dict[str, GroupTotals] = {}
    for division in sorted({d for d, _ in teams}):
        divisions[division] = combine(t for (d, _), t in sorted(teams.items()) if d == division)
    return Expected(expected, teams, divisions, combine(divisions[d] for d in sorted(divisions)))


def verify(
    store: Store,
    standings: Standings,
    org: str,
    program_id: str,
    period_key: str | None,
    now: datetime,
    progress: Progress,
) -> tuple[Period, list[Drift]]:
    record = find_program(store, org, program_id)
    period = board_period(record.program, period_key, now)
    expected = expected_standings(store, org, program_id, period, progress)
    drift: list[Drift] = []

    stored = {s.participant: s for s in standings.everyone(org, program_id, period.key) if s.values}
    for participant, want in expected.participants.items():
        have = stored.pop(participant, None)
        what = f"participant {participant}"
        if have is None:
            drift.append(Drift(what, "missing"))
        elif (have.team, have.division) != (want.team, want.division):
            drift.append(Drift(what, f"stored in team {have.team!r}, belongs to {want.team!r}"))
        elif not _same_values(have.values, want.values):
            drift.append(Drift(what, f"values {_show(have.values)} should be {_show(want.values)}"))
    drift += [Drift(f"participant {p}", "stored but has no values this period") for p in sorted(stored)]
    progress("compared participants")

    for division in sorted(
        {d for d, _ in expected.teams} | {d.ref for d in standings.divisions(org, program_id, period.key)}
    ):
        stored_teams = {t.ref: t for t in standings.division_teams(org, program_id, division, period.key)}
        for (d, team), totals in sorted(expected.teams.items()):
            if d != division:
                continue
            have_team = stored_teams.pop(team, None)
            if have_team is None:
                if any(m.contributors for m in totals.metrics.values()):
                    drift.append(Drift(f"team {team}", "missing"))
            elif not _same_totals(have_team.totals, totals):
                drift.append(Drift(f"team {team}", "totals differ from its members'"))
        drift += [Drift(f"team {t}", f"stored in division {division!r} but has no members there") for t in stored_teams]
    progress("compared teams")

    stored_divisions = {d.ref: d for d in standings.divisions(org, program_id, period.key)}
    for division, totals in sorted(expected.divisions.items()):
        have_division = stored_divisions.pop(division, None)
        if have_division is None:
            if any(m.contributors for m in totals.metrics.values()):
                drift.append(Drift(f"division {division}", "missing"))
        elif not _same_totals(have_division.totals, totals):
            drift.append(Drift(f"division {division}", "totals differ from its teams'"))
    drift += [Drift(f"division {d}", "stored but has no teams") for d in stored_divisions]
    have_program = standings.get_group(org, program_id, GroupLevel.PROGRAM, program_id, "", period.key)
    if have_program is not None and not _same_totals(have_program.totals, expected.program):
        drift.append(Drift("program", "totals differ from its divisions'"))
    progress("compared divisions and the program")
    return period, drift


def rebuild(
    store: Store,
    standings: Standings,
    org: str,
    program_id: str,
    period_key: str | None,
    now: datetime,
    progress: Progress,
) -> tuple[Period, int]:
    """Delete stored participant standings that should not be there, then have the stream recompute everyone."""
    record = find_program(store, org, program_id)
    period = board_period(record.program, period_key, now)
    current = store.list_participants(org, program_id)
    roster = roster_as_of(current, end_instant(period, record.program.tz))
    for s in standings.everyone(org, program_id, period.key):
        participant = roster.participants.get(s.participant)
        home = (participant.team_id or NO_GROUP) if participant and participant.active else None
        if home != s.team:
            standings.delete_participant_standing(org, program_id, s.team, period.key, s.participant)
    people = sorted(current, key=lambda p: p.id)
    request = RebuildRequest.of_period(period.key)
    for start in range(0, len(people), PROGRESS_EVERY):
        store.touch_memberships(org, program_id, people[start : start + PROGRESS_EVERY], request, now)
        progress(f"asked the stream to recompute {min(start + PROGRESS_EVERY, len(people))}/{len(people)} participants")
    return period, len(people)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _same_values(a: dict[str, MetricValue], b: dict[str, MetricValue]) -> bool:
    return a.keys() == b.keys() and all(_close(a[k].value, b[k].value) and a[k].count == b[k].count for k in a)


def _same_totals(a: GroupTotals, b: GroupTotals) -> bool:
    if a.headcount != b.headcount:
        return False
    keys = {k for k, t in a.metrics.items() if t.contributors} | {k for k, t in b.metrics.items() if t.contributors}
    for k in keys:
        x, y = a.metrics.get(k), b.metrics.get(k)
        if x is None or y is None or x.contributors != y.contributors:
            return False
        if not (_close(x.value_sum, y.value_sum) and _close(x.points_sum, y.points_sum)):
            return False
    return True


def _show(values: dict[str, MetricValue]) -> str:
    return "{" + ", ".join(f"{k}: {v.value:g}" for k, v in sorted(values.items())) + "}"
