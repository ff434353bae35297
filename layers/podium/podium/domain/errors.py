"""Domain errors. The edges (HTTP, command line) map these to status codes and messages; nothing else does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a path such as `metrics[2].points.cap` or `row 14, calls`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PodiumError(Exception):
    """Base class of every error the domain raises on purpose."""

    code = "podium_error"


class InvalidInput(PodiumError):
    """One or more problems with an input; all of them are reported at once."""

    code = "invalid"

    def __init__(self, problems: list[Problem], what: str = "input") -> None:
        self.problems = list(problems)
        self.what = what
        super().__init__(self.summary())

    def summary(self) -> str:
        lines = [f"{self.what} has {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class InvalidProgram(InvalidInput):
    code = "invalid_program"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="program")


class InvalidPeriod(PodiumError):
    code = "invalid_period"


class UnknownBoard(PodiumError):
    code = "unknown_board"
