"""New rules: every participant's standing in every period they have scores in is recomputed, each on their
own shard (a mark on their membership), and the levels above follow from those writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podium.domain.errors import PodiumError
from podium.domain.program import Program, program_from_dict
from podium.domain.standings import ProgramRef, RebuildRequest
from podium.services.aggregate.context import BatchContext
from podium.services.ports import Standings


def rules_changed(
    ref: ProgramRef, old_document: Mapping[str, Any] | None, standings: Standings, context: BatchContext
) -> None:
    program = context.program(ref)
    if program is None:
        return
    request = RebuildRequest.every_period(_program_or_none(old_document), program)
    people = sorted(context.roster(ref).participants.values(), key=lambda p: p.id)
    standings.touch_memberships(ref.org, ref.program, people, request, context.now)


def _program_or_none(document: Mapping[str, Any] | None) -> Program | None:
    if document is None:
        return None
    try:
        return program_from_dict(document)
    except PodiumError:  # no earlier rules to compare with
        return None
