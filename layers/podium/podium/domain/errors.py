"""Domain errors. The edges (HTTP, command line) map these to status codes and messages; nothing else does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a path such as `metrics[2].points.cap` or `row 14, calls`."""

    path: str
    message: str
    row: int | None = None  # for rows of a batch: which row, and which column or field
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    @classmethod
    def in_row(cls, row: int, field: str | None, message: str, noun: str = "column") -> Problem:
        path = f"row {row}" if field is None else f"row {row}, {noun} {field!r}"
        return cls(path, message, row, field)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"reason": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.field is not None:
            out["field"] = self.field
        elif self.row is None and self.path:
            out["field"] = self.path
        return out


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


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key header sent again with a different request (as Stripe and the IETF draft answer: 422)."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        message = (
            f"the Idempotency-Key {key!r} was already used for a different request: "
            "send a new key for a new request, or repeat the original request exactly"
        )
        super().__init__([Problem("Idempotency-Key", message, field="Idempotency-Key")], what="request")


class InvalidPeriod(PodiumError):
    code = "invalid_period"


class UnknownBoard(PodiumError):
    code = "unknown_board"


class BadRequest(PodiumError):
    """The request itself cannot be read (malformed JSON, an empty body, a wrong type)."""

    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code:
            self.code = code


class Unauthenticated(PodiumError):
    code = "unauthenticated"


class Forbidden(PodiumError):
    code = "forbidden"


class NotFound(PodiumError):
    code = "not_found"


class Conflict(PodiumError):
    code = "conflict"


class PayloadTooLarge(PodiumError):
    code = "payload_too_large"


class UnsupportedMediaType(PodiumError):
    code = "unsupported_media_type"
