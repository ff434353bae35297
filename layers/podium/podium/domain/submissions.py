"""Submissions and corrections: the immutable log every number is computed from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Submission:
    """One score event. `voids` names an earlier submission that this one cancels (a correction);
    a correction may carry values of its own, which then replace the cancelled ones."""

    id: str
    participant: str
    at: datetime
    values: Mapping[str, float] = field(default_factory=dict)
    voids: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"submission {self.id!r}: `at` must carry a time zone")

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.at, self.id)


def effective_submissions(submissions: Iterable[Submission]) -> list[Submission]:
    """The submissions that count: every one not voided by another, in canonical (at, id) order.

    Voids are final: voiding a correction removes the correction's own values but does not bring back
    what it voided (to restore a value, submit it again). The canonical order makes every result
    independent of the order the log was read in.
    """
    log = list(submissions)
    voided = {s.voids for s in log if s.voids}
    return sorted((s for s in log if s.id not in voided), key=lambda s: s.sort_key)
