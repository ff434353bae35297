"""What a bulletin says in public: the image cards and the posts to chat and social channels.

These are plain values, built from a bulletin by `podium.services.publish` and read by the card renderer
(`podium.adapters.cards`) and the channel adapters (`podium.adapters.channels`), which know nothing of boards.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CardRow:
    rank: int
    name: str
    points: float
    # Places moved since the last final bulletin: positive is up; 0 the same; None new on this board.
    movement: int | None = None
    detail: str = ""  # a second, smaller line: a team's division, a participant's team


@dataclass(frozen=True)
class Card:
    """One image: a board's top rows, with the program's name and the period (1200×675, legible on a phone)."""

    program: str  # the program's name
    period: str  # the period in words: "week of 30 Nov 2026"
    heading: str  # which board: "Top 10", "Mid-West division"
    rows: tuple[CardRow, ...]
    footer: str = ""  # e.g. "3 Dec 2026 · podium"
    points_unit: str = "pts"


@dataclass(frozen=True)
class Image:
    png: bytes
    alt: str  # the card's text for screen readers and platforms that show alt text
    width: int = 1200
    height: int = 675


@dataclass(frozen=True)
class Announcement:
    """A bulletin's post, the same for every channel; each adapter shapes it as its API documents."""

    key: str  # unique per bulletin and channel: the webhook id, and what makes a retried run post once
    program: str  # the program's name
    period: str  # the period in words
    headline: str  # one sentence: "Chicago leads the program; Dana Ruiz is top of the week"
    lines: tuple[str, ...] = ()  # short facts: leaders, climbers, badges
    rows: tuple[CardRow, ...] = ()  # the top of the program's participants board
    url: str = ""  # the board page
    image: Image | None = None
    # For the generic webhook: the bulletin as JSON (its id, period, boards), so a receiver can use the numbers.
    data: dict[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The post as plain text, for channels that take text only (X's 280 characters are the adapter's)."""
        parts = [f"{self.program}, {self.period}: {self.headline}", *self.lines]
        if self.url:
            parts.append(self.url)
        return "\n".join(parts)
