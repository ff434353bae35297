"""What a bulletin says in public: the image cards and the posts to chat and social channels.

These are plain values, built from a bulletin by `podium.services.publish` and read by the card renderer
(`podium.adapters.cards`) and the channel adapters (`podium.adapters.channels`), which know nothing of boards.
A card's signed link lets a service that takes pictures by URL (Slack, Teams) fetch one card without a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from podium.domain.tokens import BadToken, sign, verify


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


# Which board a card shows: the program's participants (its top 10), or one division's teams.
PARTICIPANTS_BOARD = "participants"
DIVISION_BOARD = "division/"  # + the division's id
DIVISION_CARDS = 9  # division boards carded in a post at most, after the top 10: ten pictures in all
# A card's link works this long after its bulletin was made: a chat service may fetch the picture again, later.
CARD_LINK_FOR = timedelta(days=400)
CARD_LINK = "card"  # the purpose signed into a card's link


def division_board(division: str) -> str:
    return f"{DIVISION_BOARD}{division}"


def board_division(board: str) -> str | None:
    """The division a card's board names (None for the participants' board); ValueError if it names neither."""
    if board == PARTICIPANTS_BOARD:
        return None
    if board.startswith(DIVISION_BOARD) and board != DIVISION_BOARD:
        return board.removeprefix(DIVISION_BOARD)
    raise ValueError(f"a card's board is {PARTICIPANTS_BOARD} or {DIVISION_BOARD}<id>, not {board!r}")


@dataclass(frozen=True)
class CardLink:
    """What a card's signed link names: one bulletin's card of one board."""

    org: str
    program: str
    bulletin: str
    board: str

    def token(self, key: bytes, bulletin_made: datetime) -> str:
        fields = [self.org, self.program, self.bulletin, self.board]
        return sign(key, CARD_LINK, fields, bulletin_made + CARD_LINK_FOR)

    @classmethod
    def read(cls, key: bytes, token: str, now: datetime) -> CardLink:
        """The card a link names (BadToken if Podium did not sign it as a card's link, or it expired)."""
        fields = verify(key, CARD_LINK, token, now)
        if len(fields) != 4:
            raise BadToken("this link is not one Podium made")
        return cls(*fields)


@dataclass(frozen=True)
class Image:
    png: bytes
    alt: str  # the card's text for screen readers and platforms that show alt text
    width: int = 1200
    height: int = 675
    board: str = PARTICIPANTS_BOARD  # "participants" or "division/<id>"
    title: str = ""  # the card's heading: "Top 10", "Mid-West division"
    # Where the card can be fetched without a key (a signed link), for channels that take an image by URL (Slack,
    # Teams); empty when Podium has no public URL.
    url: str = ""


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
    # The cards: the top 10 first, then each division's board in the divisions' rank order. Each channel posts as
    # many as its API allows, from the first.
    images: tuple[Image, ...] = ()
    # For the generic webhook: the bulletin as JSON (its id, period, boards), so a receiver can use the numbers.
    data: dict[str, object] = field(default_factory=dict)

    @property
    def image(self) -> Image | None:
        """The top 10's card (the first), if any."""
        return self.images[0] if self.images else None

    @property
    def text(self) -> str:
        """The post as plain text, for channels that take text only (X's 280 characters are the adapter's)."""
        parts = [f"{self.program}, {self.period}: {self.headline}", *self.lines]
        if self.url:
            parts.append(self.url)
        return "\n".join(parts)
