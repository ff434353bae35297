"""A bulletin's image card: a board's top rows as a 1200×675 PNG, legible on a phone (X, LinkedIn, email).

Drawn with Pillow in DejaVu Sans (shipped in ./fonts, with its licence), at twice the size and scaled down, so the
badges' edges are smooth. Pillow is imported when a card is drawn, not with this module: only the publisher draws.
The same card gives the same bytes: no time or software name goes into the PNG, and text is laid out by Pillow's
own basic engine, not by whichever libraqm the machine has.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from podium.domain.announcements import Card, CardRow, Image
from podium.domain.text import number as format_points

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

WIDTH, HEIGHT = 1200, 675
MAX_ROWS = 10
EMPTY_MESSAGE = "No scores yet this period"
FONTS = Path(__file__).resolve().parent / "fonts"
ELLIPSIS = "…"

_SCALE = 2  # drawn at 2400×1350, then reduced: Pillow's shapes have no anti-aliasing of their own
_MARGIN = 48

# Colours: a navy band and footer, a white body with slate shading, one sky-blue accent.
_NAVY = (12, 27, 51)
_NAVY_LIGHT = (30, 50, 82)
_ACCENT = (56, 189, 248)
_WHITE = (255, 255, 255)
_BODY = (255, 255, 255)
_SHADE = (241, 245, 249)
_INK = (15, 23, 42)
_MUTED = (100, 116, 139)
_ON_NAVY_MUTED = (170, 187, 209)
_UP = (22, 163, 74)
_DOWN = (220, 38, 38)
_NEW = (37, 99, 235)
_MEDALS = {  # fill, rank's colour
    1: ((234, 179, 8), _INK),
    2: ((176, 186, 198), _INK),
    3: ((194, 120, 62), _WHITE),
}

# The layout, in the final image's pixels.
_HEADER = 124
_STRIPE = 6
_FOOTER = 46
_ROWS_TOP = _HEADER + _STRIPE + 10
_ROWS_BOTTOM = HEIGHT - _FOOTER - 10
_ROW_MAX = 116  # a row's height at most: fewer rows get larger type, and the block is centred in the body
_RANK_CENTRE = _MARGIN + 28
_NAME_X = _MARGIN + 74
_MOVE_WIDTH = 96  # the movement column, at the right margin
_GAP = 28  # between the name, the points and the movement


def render_card(card: Card) -> Image:
    """The card as a PNG with its alt text. At most MAX_ROWS rows are drawn; ties keep the rank they are given."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    canvas = PILImage.new("RGB", (WIDTH * _SCALE, HEIGHT * _SCALE), _BODY)
    draw = ImageDraw.Draw(canvas)
    _header(draw, card)
    rows = card.rows[:MAX_ROWS]
    if rows:
        _rows(draw, rows, card.points_unit)
    else:
        _empty(draw)
    _footer(draw, card)

    out = canvas.resize((WIDTH, HEIGHT), PILImage.Resampling.LANCZOS)
    from io import BytesIO

    buffer = BytesIO()
    # No pnginfo: nothing in the file but the pixels. Not optimize=True: it takes four times as long for 1% less.
    out.save(buffer, format="PNG", compress_level=6)
    return Image(buffer.getvalue(), alt_text(card), WIDTH, HEIGHT)


def alt_text(card: Card) -> str:
    """One sentence for screen readers: "Q4 Sales Contest, week of 30 Nov 2026, Top 10: 1. Dana Ruiz, 120 pts; …"."""
    intro = f"Leaderboard for {card.program}, {card.period}, {card.heading}"
    rows = card.rows[:MAX_ROWS]
    if not rows:
        return f"{intro}: {EMPTY_MESSAGE.lower()}."
    parts = [f"{r.rank}. {r.name}, {points_with_unit(r.points, card.points_unit)}" for r in rows]
    return f"{intro}: {'; '.join(parts)}."


def points_with_unit(points: float, unit: str) -> str:
    return f"{format_points(points)} {unit}".strip()


def movement_label(movement: int | None) -> str:
    """▲3, ▼2, – (the same place) or new (not on the board last time)."""
    if movement is None:
        return "new"
    if movement > 0:
        return f"▲{movement}"
    if movement < 0:
        return f"▼{-movement}"
    return "–"


@cache
def load_font(size: int, *, bold: bool = False) -> FreeTypeFont:
    """DejaVu Sans from ./fonts, laid out by Pillow's basic engine (the same everywhere)."""
    from PIL import ImageFont

    path = FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def truncate_to_width(text: str, font: FreeTypeFont, width: float) -> str:
    """The text, or its longest start that fits with an ellipsis, measured in the font (never wider than width)."""
    if font.getlength(text) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis: a binary search on its length
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle].rstrip() + ELLIPSIS) <= width:
            low = middle
        else:
            high = middle - 1
    shown = text[:low].rstrip() + ELLIPSIS
    return shown if font.getlength(shown) <= width else ""


# --- drawing, in the final image's pixels (_s scales them to the canvas) ------------------------------------------


def _s(value: float) -> int:
    return round(value * _SCALE)


def _font(size: int, *, bold: bool = False) -> FreeTypeFont:
    return load_font(_s(size), bold=bold)


@dataclass(frozen=True)
class _Style:
    """Type sizes, badge and row height for a number of rows: larger type when there are few."""

    row_height: float
    name: int
    detail: int
    points: int
    unit: int
    rank: int
    badge: int  # a medal's diameter
    two_lines: bool  # the detail under the name rather than beside it

    @staticmethod
    def for_rows(rows: tuple[CardRow, ...]) -> _Style:
        height = min(_ROW_MAX, (_ROWS_BOTTOM - _ROWS_TOP) / max(len(rows), 1))
        if height >= 100:  # up to 4 rows
            return _Style(height, name=40, detail=24, points=40, unit=24, rank=34, badge=56, two_lines=True)
        if height >= 72:  # 5 or 6
            return _Style(height, name=34, detail=22, points=34, unit=22, rank=30, badge=50, two_lines=True)
        return _Style(height, name=30, detail=21, points=30, unit=20, rank=28, badge=42, two_lines=False)


def _header(draw: ImageDraw, card: Card) -> None:
    draw.rectangle((0, 0, _s(WIDTH), _s(_HEADER)), fill=_NAVY)
    draw.rectangle((0, _s(_HEADER), _s(WIDTH), _s(_HEADER + _STRIPE)), fill=_ACCENT)

    heading_font = _font(28, bold=True)
    heading = truncate_to_width(card.heading, heading_font, _s(360))
    pill_width = heading_font.getlength(heading) + _s(44) if heading else 0
    right = _s(WIDTH - _MARGIN)
    if heading:
        top, bottom = _s(_HEADER / 2 - 26), _s(_HEADER / 2 + 26)
        draw.rounded_rectangle((right - pill_width, top, right, bottom), radius=_s(26), fill=_ACCENT)
        draw.text((right - pill_width / 2, (top + bottom) / 2), heading, font=heading_font, fill=_NAVY, anchor="mm")

    room = right - pill_width - _s(32) - _s(_MARGIN)
    program_font, period_font = _font(44, bold=True), _font(26)
    draw.text(
        (_s(_MARGIN), _s(62)),
        truncate_to_width(card.program, program_font, room),
        font=program_font,
        fill=_WHITE,
        anchor="ls",
    )
    draw.text(
        (_s(_MARGIN), _s(100)),
        truncate_to_width(card.period, period_font, room),
        font=period_font,
        fill=_ON_NAVY_MUTED,
        anchor="ls",
    )


def _footer(draw: ImageDraw, card: Card) -> None:
    top = _s(HEIGHT - _FOOTER)
    draw.rectangle((0, top, _s(WIDTH), _s(HEIGHT)), fill=_NAVY)
    if card.footer:
        font = _font(20)
        middle = (top + _s(HEIGHT)) / 2
        text = truncate_to_width(card.footer, font, _s(WIDTH - 2 * _MARGIN))
        draw.text((_s(_MARGIN), middle), text, font=font, fill=_ON_NAVY_MUTED, anchor="lm")


def _empty(draw: ImageDraw) -> None:
    middle = _s((_ROWS_TOP + _ROWS_BOTTOM) / 2)
    draw.text((_s(WIDTH / 2), middle - _s(18)), EMPTY_MESSAGE, font=_font(44, bold=True), fill=_INK, anchor="mm")
    hint = "The board fills in as the first scores arrive."
    draw.text((_s(WIDTH / 2), middle + _s(36)), hint, font=_font(26), fill=_MUTED, anchor="mm")


def _cap_height(font: FreeTypeFont) -> float:
    return -font.getbbox("H", anchor="ls")[1]


def _rows(draw: ImageDraw, rows: tuple[CardRow, ...], unit: str) -> None:
    style = _Style.for_rows(rows)
    name_font, detail_font = _font(style.name, bold=True), _font(style.detail)
    points_font, unit_font = _font(style.points, bold=True), _font(style.unit)
    unit_gap = _s(7)
    unit_width = unit_font.getlength(unit) + unit_gap if unit else 0
    points_width = max(points_font.getlength(format_points(r.points)) for r in rows) + unit_width
    move_right = _s(WIDTH - _MARGIN)
    points_right = move_right - _s(_MOVE_WIDTH) - _s(_GAP)
    name_room = points_right - points_width - _s(_GAP) - _s(_NAME_X)

    # A short board sits in the middle of the body, not at its top with the white all below it.
    first = _ROWS_TOP + ((_ROWS_BOTTOM - _ROWS_TOP) - len(rows) * style.row_height) / 2
    for i, row in enumerate(rows):
        top = _s(first + i * style.row_height)
        bottom = _s(first + (i + 1) * style.row_height)
        if i % 2:
            draw.rounded_rectangle((_s(_MARGIN / 2), top, _s(WIDTH - _MARGIN / 2), bottom), radius=_s(10), fill=_SHADE)
        middle = (top + bottom) / 2
        baseline = middle + _cap_height(name_font) / 2

        _rank(draw, row.rank, middle, style)
        _name(draw, row, (name_font, detail_font), name_room, middle, baseline, style)

        draw.text(
            (points_right - unit_width, baseline),
            format_points(row.points),
            font=points_font,
            fill=_INK,
            anchor="rs",
        )
        if unit:
            draw.text((points_right, baseline), unit, font=unit_font, fill=_MUTED, anchor="rs")
        _movement(draw, row.movement, move_right, middle, style)


def _rank(draw: ImageDraw, rank: int, middle: float, style: _Style) -> None:
    x = _s(_RANK_CENTRE)
    label = str(rank)
    # "100" and past: smaller, to keep clear of the name (16 pixels short of it at the least).
    size = style.rank if rank < 100 else style.rank - 8
    while size > 12 and load_font(_s(size), bold=True).getlength(label) > _s(2 * (_NAME_X - _RANK_CENTRE - 16)):
        size -= 2
    font = _font(size, bold=True)
    if rank in _MEDALS:
        fill, colour = _MEDALS[rank]
        r = _s(style.badge / 2)
        draw.ellipse((x - r, middle - r, x + r, middle + r), fill=fill)
    else:
        colour = _MUTED
    # Centred on the digits' own height, not the font's ascent: "mm" would sit the digits a little high.
    draw.text((x, middle + _cap_height(font) / 2), label, font=font, fill=colour, anchor="ms")


def _name(
    draw: ImageDraw,
    row: CardRow,
    fonts: tuple[FreeTypeFont, FreeTypeFont],
    room: float,
    middle: float,
    baseline: float,
    style: _Style,
) -> None:
    name_font, detail_font = fonts
    x = _s(_NAME_X)
    if style.two_lines and row.detail:
        # The name's capitals and the detail's, with a gap between, centred on the row's middle as one block.
        name_cap, detail_cap, gap = _cap_height(name_font), _cap_height(detail_font), _s(style.detail / 2)
        name_baseline = middle - (name_cap + gap + detail_cap) / 2 + name_cap
        detail_baseline = name_baseline + gap + detail_cap
        name = truncate_to_width(row.name, name_font, room)
        draw.text((x, name_baseline), name, font=name_font, fill=_INK, anchor="ls")
        detail = truncate_to_width(row.detail, detail_font, room)
        draw.text((x, detail_baseline), detail, font=detail_font, fill=_MUTED, anchor="ls")
        return

    # One line: the name first; the detail, muted, in what room is left (none if too little to read).
    gap = _s(16)
    name = truncate_to_width(row.name, name_font, room)
    name_width = name_font.getlength(name)
    draw.text((x, baseline), name, font=name_font, fill=_INK, anchor="ls")
    if row.detail:
        left = room - name_width - gap
        if left >= _s(90):
            detail = truncate_to_width(row.detail, detail_font, left)
            draw.text((x + name_width + gap, baseline), detail, font=detail_font, fill=_MUTED, anchor="ls")


def _movement(draw: ImageDraw, movement: int | None, right: float, middle: float, style: _Style) -> None:
    centre = right - _s(_MOVE_WIDTH) / 2
    if movement is None:
        size = round(style.points * 0.62)  # the pill keeps in scale with the arrows beside it: 19 to 25
        font = _font(size, bold=True)
        width = font.getlength("NEW") + _s(size * 1.2)
        half = _s(size * 0.8)
        box = (centre - width / 2, middle - half, centre + width / 2, middle + half)
        draw.rounded_rectangle(box, radius=half, fill=_NEW)
        draw.text((centre, middle + _cap_height(font) / 2), "NEW", font=font, fill=_WHITE, anchor="ms")
        return
    font = _font(style.points - 4, bold=True)
    colour = _UP if movement > 0 else _DOWN if movement < 0 else _MUTED
    draw.text((centre, middle + _cap_height(font) / 2), movement_label(movement), font=font, fill=colour, anchor="ms")
