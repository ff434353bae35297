"""Reads a batch shares: each program parsed once, each roster read once (and each period's roster made once)."""

from __future__ import annotations

from datetime import datetime

from podium.domain.periods import Period, end_instant, parse_period, period_of
from podium.domain.program import Program
from podium.domain.roster import Participant, Roster, roster_as_of
from podium.domain.standings import ProgramRef
from podium.services.ports import Catalog, ProgramRecord


class BatchContext:
    def __init__(self, catalog: Catalog, now: datetime) -> None:
        self.catalog = catalog
        self.now = now
        self._records: dict[ProgramRef, ProgramRecord | None] = {}
        self._participants: dict[ProgramRef, list[Participant]] = {}
        self._rosters: dict[tuple[ProgramRef, str | None], Roster] = {}

    def record(self, ref: ProgramRef) -> ProgramRecord | None:
        if ref not in self._records:
            self._records[ref] = self.catalog.get_program(ref.org, ref.program)
        return self._records[ref]

    def program(self, ref: ProgramRef) -> Program | None:
        record = self.record(ref)
        return record.program if record else None

    def rules_version(self, ref: ProgramRef) -> int:
        record = self.record(ref)
        return record.version if record else 0

    def roster(self, ref: ProgramRef, period: str | None = None) -> Roster:
        """The roster now, or as it stood at the end of a period (for that period's standings)."""
        if (ref, period) not in self._rosters:
            people = self._participants.get(ref)
            if people is None:
                people = self._participants[ref] = self.catalog.list_participants(ref.org, ref.program)
            program = self.program(ref)
            end = None
            if period is not None and program is not None:
                end = end_instant(parse_period(period, program.week_start), program.tz)
            self._rosters[(ref, period)] = roster_as_of(people, end)
        return self._rosters[(ref, period)]

    def current(self, program: Program) -> Period:
        return period_of(self.now, program.period, program.tz, program.week_start)
