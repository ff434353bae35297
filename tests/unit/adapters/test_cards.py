"""The bulletin's image card (podium.adapters.cards): a clean, deterministic 1200×675 PNG; text cut to fit, never
over what is beside it; alt text that says what the picture says; medals where the podium is.

Every card drawn here is also saved in tests/artifacts/cards/NAME.png (not in git) to be opened and looked at.
The README's two cards are made on purpose, not by the tests: `.venv/bin/python tests/unit/adapters/test_cards.py`
writes docs/screenshots/card-top10.png and card-division.png.
"""

from __future__ import annotations

import io
import itertools
import struct
import sys
import zlib
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageChops, ImageFilter

from podium.adapters.cards import (
    ELLIPSIS,
    EMPTY_MESSAGE,
    HEIGHT,
    MAX_ROWS,
    WIDTH,
    alt_text,
    load_font,
    movement_label,
    render_card,
    truncate_to_width,
)
from podium.domain.announcements import Card, CardRow, Image

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "tests" / "artifacts" / "cards"
SCREENSHOTS = ROOT / "docs" / "screenshots"

Rgb = tuple[int, int, int]

TOP10 = Card(
    program="Q4 Sales Contest",
    period="week of 30 Nov 2026",
    heading="Top 10",
    rows=(
        CardRow(1, "Dana Ruiz", 1240, 2, "Chicago"),
        CardRow(2, "Marcus Okafor", 1185, 0, "Denver"),
        CardRow(3, "Priya Natarajan", 1102.5, -1, "Seattle"),
        CardRow(4, "Léa Fontaine", 987, 3, "Chicago"),
        CardRow(5, "Tom Becker", 940, None, "Austin"),
        CardRow(6, "Sofia Alvarez-Whitfield", 875, -2, "Phoenix"),
        CardRow(7, "Kenji Watanabe", 812, 1, "Seattle"),
        CardRow(8, "Hannah Schmidt", 790, 0, "Denver"),
        CardRow(9, "Oluwaseun Adeyemi", 745, -4, "Austin"),
        CardRow(10, "Jamie Lee", 12.5, None, "Phoenix"),
    ),
    footer="4 Dec 2026 · Podium",
)
DIVISION = Card(
    program="Q4 Sales Contest",
    period="week of 30 Nov 2026",
    heading="West division",
    rows=(
        CardRow(1, "Seattle", 4820, 1, "12 reps"),
        CardRow(2, "Phoenix", 4515.5, -1, "9 reps"),
        CardRow(3, "Denver", 4210, 0, "11 reps"),
        CardRow(4, "Portland", 3990, 2, "8 reps"),
        CardRow(5, "Salt Lake City", 3650, None, "7 reps"),
        CardRow(6, "Las Vegas", 3120, -1, "10 reps"),
    ),
    footer="4 Dec 2026 · Podium",
)
TOP3 = Card(TOP10.program, TOP10.period, "Top 3", TOP10.rows[:3], footer=TOP10.footer)
EMPTY = Card(TOP10.program, TOP10.period, "Top 10", (), footer=TOP10.footer)
LONG = Card(
    program="The Extremely Long Annual Northern Hemisphere Sales Contest 26",  # 60 characters
    period="week of 30 Nov 2026",
    heading="Top 10",
    rows=(
        CardRow(1, "Maximiliana Theodora Wolfeschlegelsteinhausen-Bergerdorff", 123456.5, 12, "Northern Territories"),
        CardRow(2, "W" * 200, 1000, None, "y" * 200),
        CardRow(3, "Zoë Ångström-Ñúñez", 999, -10, "Malmö"),
        CardRow(4, "张伟 Zhang Wei", 5, 0, "北京"),
    ),
    footer="4 Dec 2026 · Podium",
)
TWELVE = Card(
    TOP10.program,
    TOP10.period,
    "Top 10",
    (*TOP10.rows, CardRow(11, "Eleventh Person", 10, 0, "Austin"), CardRow(12, "Twelfth Person", 9, 0, "Denver")),
    footer=TOP10.footer,
)

# The medals' fills as drawn (cards._MEDALS); a tolerance takes in the anti-aliased edges.
GOLD: Rgb = (234, 179, 8)
SILVER: Rgb = (176, 186, 198)
BRONZE: Rgb = (194, 120, 62)
SHADE: Rgb = (241, 245, 249)
ACCENT: Rgb = (56, 189, 248)
BADGE_PIXELS = 300  # a 10-row card's medal, less its 2-pixel edge and its digit, is 500 pixels or more
BODY = (0, 131, WIDTH, HEIGHT - 47)  # between the header's stripe and the footer
RANK_COLUMN = (0, BODY[1], 115, BODY[3])  # left of the names

Box = tuple[int, int, int, int]


@cache
def rendered(card: Card) -> Image:
    return render_card(card)


def draw(name: str, card: Card) -> PILImage.Image:
    """The card drawn, saved as tests/artifacts/cards/NAME.png, and opened as an RGB image."""
    image = rendered(card)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(image.png)
    return PILImage.open(io.BytesIO(image.png)).convert("RGB")


# Masks (mode L: 255 where the test holds), made with Pillow's own band operations: a Python loop over a
# card's 800,000 pixels would take a second each time.


def near(im: PILImage.Image, box: Box, colour: Rgb, tolerance: int = 14) -> PILImage.Image:
    """Where the pixels in box are within tolerance of colour, in every band."""
    mask = PILImage.new("L", (box[2] - box[0], box[3] - box[1]), 255)
    for band, value in zip(im.crop(box).split(), colour, strict=True):
        lut = [255 if abs(v - value) <= tolerance else 0 for v in range(256)]
        mask = ImageChops.multiply(mask, band.point(lut))
    return mask


def solid(mask: PILImage.Image) -> PILImage.Image:
    """The mask less its edges (2 pixels): a medal's fill stays; the anti-aliased edge of grey text, which can
    match silver within a few levels, goes."""
    return mask.filter(ImageFilter.MinFilter(5))


def ink(im: PILImage.Image, box: Box, *, darker_than: int = 150) -> PILImage.Image:
    """Where the pixels in box are text or shapes on a light ground (their luma under darker_than)."""
    return im.crop(box).convert("L").point([255 if v < darker_than else 0 for v in range(256)])


def count(mask: PILImage.Image) -> int:
    return mask.histogram()[255]


def bounds(mask: PILImage.Image, box: Box) -> Box:
    """The mask's bounding box, in the card's pixels (right and bottom inclusive)."""
    found = mask.getbbox()
    assert found, "nothing there"
    return found[0] + box[0], found[1] + box[1], found[2] - 1 + box[0], found[3] - 1 + box[1]


def centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def chunks(png: bytes) -> list[str]:
    """The PNG's chunk types in order, each CRC checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + png[at + 8 : at + 8 + length]) == crc, kind
        found.append(kind.decode("ascii"))
        at += 12 + length
    return found


# --- the file --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["top10", "division", "top3", "empty", "long"])
def test_card_is_a_1200_by_675_png(name: str) -> None:
    card = {"top10": TOP10, "division": DIVISION, "top3": TOP3, "empty": EMPTY, "long": LONG}[name]
    image = rendered(card)
    with PILImage.open(io.BytesIO(image.png)) as png:
        assert png.format == "PNG"
        assert png.mode == "RGB"
        png.verify()  # the chunks and their checksums
    assert draw(name, card).size == (WIDTH, HEIGHT) == (image.width, image.height) == (1200, 675)


def test_the_same_card_gives_the_same_bytes() -> None:
    assert render_card(TOP10).png == render_card(TOP10).png == rendered(TOP10).png


def test_different_cards_give_different_bytes() -> None:
    one_point_more = Card(TOP10.program, TOP10.period, TOP10.heading, (CardRow(1, "Dana Ruiz", 1241, 2, "Chicago"),))
    one_point = Card(TOP10.program, TOP10.period, TOP10.heading, (CardRow(1, "Dana Ruiz", 1240, 2, "Chicago"),))
    pngs = [rendered(c).png for c in (TOP10, DIVISION, TOP3, EMPTY, one_point, one_point_more)]
    assert len(set(pngs)) == len(pngs)


def test_png_holds_pixels_only_no_text_or_time() -> None:
    kinds = chunks(rendered(TOP10).png)
    assert kinds[0] == "IHDR"
    assert kinds[-1] == "IEND"
    assert not {"tEXt", "iTXt", "zTXt", "tIME", "eXIf"} & set(kinds), kinds


# --- text that fits ------------------------------------------------------------------------------------------


def test_text_that_fits_is_unchanged() -> None:
    font = load_font(40)
    assert truncate_to_width("Dana Ruiz", font, font.getlength("Dana Ruiz")) == "Dana Ruiz"
    assert truncate_to_width("", font, 0) == ""


def test_text_too_wide_is_cut_with_an_ellipsis() -> None:
    font = load_font(40, bold=True)
    shown = truncate_to_width("Maximiliana Theodora Wolfeschlegelsteinhausen", font, 400)
    assert shown.endswith(ELLIPSIS)
    assert shown.startswith("Maximiliana")
    assert font.getlength(shown) <= 400
    # the longest start that fits: one character more would not
    longer = "Maximiliana Theodora Wolfeschlegelsteinhausen"[: len(shown)] + ELLIPSIS
    assert font.getlength(longer) > 400


def test_no_trailing_space_before_the_ellipsis() -> None:
    font = load_font(40)
    text = "Dana Ruiz and the rest"
    width = font.getlength("Dana Ruiz " + ELLIPSIS)
    assert truncate_to_width(text, font, width) == "Dana Ruiz" + ELLIPSIS


def test_too_narrow_for_even_the_ellipsis_is_nothing() -> None:
    font = load_font(40)
    assert truncate_to_width("Dana", font, font.getlength(ELLIPSIS) - 1) == ""


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80), width=st.integers(min_value=0, max_value=1500), bold=st.booleans())
def test_truncated_text_is_never_wider_than_asked(text: str, width: int, bold: bool) -> None:
    font = load_font(44, bold=bold)
    shown = truncate_to_width(text, font, width)
    assert font.getlength(shown) <= width
    if font.getlength(text) <= width:
        assert shown == text
    elif shown:
        assert shown.endswith(ELLIPSIS)
        assert text.startswith(shown[: -len(ELLIPSIS)])


# --- labels and alt text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("movement", "label"), [(3, "▲3"), (1, "▲1"), (-2, "▼2"), (-12, "▼12"), (0, "–"), (None, "new")]
)
def test_movement_label(movement: int | None, label: str) -> None:
    assert movement_label(movement) == label


def test_alt_text_names_every_row_with_its_points_and_the_program_and_period() -> None:
    alt = rendered(TOP10).alt
    assert alt == alt_text(TOP10)
    assert alt.startswith("Leaderboard for Q4 Sales Contest, week of 30 Nov 2026, Top 10: ")
    shown = ["1,240", "1,185", "1,102.5", "987", "940", "875", "812", "790", "745", "12.5"]
    for row, points in zip(TOP10.rows, shown, strict=True):
        assert f"{row.rank}. {row.name}, {points} pts" in alt
    assert alt.endswith("10. Jamie Lee, 12.5 pts.")


def test_alt_text_of_an_empty_card_says_there_are_no_scores() -> None:
    alt = rendered(EMPTY).alt
    assert "Q4 Sales Contest" in alt
    assert "week of 30 Nov 2026" in alt
    assert EMPTY_MESSAGE.lower() in alt.lower()


def test_alt_text_keeps_the_names_the_picture_cuts() -> None:
    alt = rendered(LONG).alt
    assert "W" * 200 in alt
    assert "Zoë Ångström-Ñúñez, 999 pts" in alt
    assert "张伟 Zhang Wei, 5 pts" in alt


def test_points_unit_is_the_cards_own() -> None:
    card = Card("Steps", "today", "Top 10", (CardRow(1, "Dana Ruiz", 12000),), points_unit="steps")
    assert "1. Dana Ruiz, 12,000 steps" in rendered(card).alt
    unitless = Card("Steps", "today", "Top 10", (CardRow(1, "Dana Ruiz", 12000),), points_unit="")
    assert "1. Dana Ruiz, 12,000." in rendered(unitless).alt
    draw("unitless", unitless)


def test_more_than_ten_rows_draws_ten() -> None:
    assert len(TWELVE.rows) == 12 > MAX_ROWS == 10
    assert rendered(TWELVE).png == rendered(TOP10).png  # rows 11 and 12 leave no mark
    alt = rendered(TWELVE).alt
    assert "10. Jamie Lee" in alt
    assert "Eleventh" not in alt
    assert "Twelfth" not in alt


# --- what the picture shows ------------------------------------------------------------------------------------


def test_the_podium_wears_gold_silver_and_bronze_from_the_top_and_nobody_else_does() -> None:
    im = draw("top10", TOP10)
    gold, silver, bronze = (solid(near(im, RANK_COLUMN, c)) for c in (GOLD, SILVER, BRONZE))
    assert min(count(gold), count(silver), count(bronze)) > BADGE_PIXELS
    gold_box, silver_box, bronze_box = (bounds(m, RANK_COLUMN) for m in (gold, silver, bronze))
    assert gold_box[3] < silver_box[1]
    assert silver_box[3] < bronze_box[1]
    # below the bronze medal, ranks 4 to 10: no medal at all
    below = (RANK_COLUMN[0], bronze_box[3] + 2, RANK_COLUMN[2], RANK_COLUMN[3])
    assert not any(count(solid(near(im, below, c))) for c in (GOLD, SILVER, BRONZE))


def test_ties_keep_their_rank_two_golds_and_no_silver() -> None:
    tied = Card(
        "Q4", "week", "Top 10", (CardRow(1, "A", 5), CardRow(1, "B", 5), CardRow(3, "C", 4), CardRow(4, "D", 1))
    )
    im = draw("ties", tied)
    assert count(solid(near(im, RANK_COLUMN, GOLD))) > 2 * BADGE_PIXELS
    assert count(solid(near(im, RANK_COLUMN, SILVER))) == 0
    assert count(solid(near(im, RANK_COLUMN, BRONZE))) > BADGE_PIXELS


@pytest.mark.parametrize(("name", "card"), [("top10", TOP10), ("division", DIVISION), ("top3", TOP3)])
def test_the_rank_sits_in_the_middle_of_its_medal(name: str, card: Card) -> None:
    im = draw(name, card)
    medal = bounds(near(im, RANK_COLUMN, GOLD), RANK_COLUMN)
    on_medal = (medal[0], medal[1], medal[2] + 1, medal[3] + 1)
    digit = bounds(ink(im, on_medal, darker_than=100), on_medal)  # the "1", ink on gold
    (mx, my), (dx, dy) = centre(medal), centre(digit)
    assert abs(mx - dx) <= 1.5
    assert abs(my - dy) <= 1.5


def test_a_short_board_sits_in_the_middle_of_the_body() -> None:
    im = draw("top3", TOP3)
    _, y = centre(bounds(ink(im, BODY), BODY))
    assert abs(y - (BODY[1] + BODY[3]) / 2) < 25


def test_the_empty_card_says_so_in_the_middle_and_draws_no_rows() -> None:
    empty, full = draw("empty", EMPTY), draw("top10", TOP10)
    assert empty.crop(BODY).tobytes() != full.crop(BODY).tobytes()
    # the header and footer are the same: only the body says there is nothing yet
    for band in ((0, 0, WIDTH, BODY[1]), (0, BODY[3], WIDTH, HEIGHT)):
        assert empty.crop(band).tobytes() == full.crop(band).tobytes()
    assert count(near(empty, BODY, SHADE, 2)) < 50  # no row stripes
    assert count(near(full, BODY, SHADE, 2)) > 10_000
    assert count(near(empty, RANK_COLUMN, GOLD)) == 0
    x, y = centre(bounds(ink(empty, BODY), BODY))
    assert abs(x - WIDTH / 2) <= 2
    assert abs(y - (BODY[1] + BODY[3]) / 2) < 20


@pytest.mark.parametrize("rows", [1, 10], ids=["two-line", "one-line"])
def test_a_200_character_name_is_cut_short_of_its_points(rows: int) -> None:
    card = Card("Q4", "week", "Top 10", tuple(CardRow(r, "W" * 200, 5, None, "y" * 200) for r in range(1, rows + 1)))
    im = draw(f"long-name-{rows}", card)
    # Across the rows, from the names' start to the movement column: a clear gap between the names and the
    # points. One name drawn whole would cover it.
    body = (118, BODY[1], 1040, BODY[3])
    mask = ink(im, body)
    columns = [x for x in range(mask.width) if mask.crop((x, 0, x + 1, mask.height)).getbbox()]
    assert columns[0] < 10, "the names start where names start"
    gaps = [b - a for a, b in itertools.pairwise(columns)]
    assert max(gaps) >= 20, "a name runs into its points"


def test_a_60_character_program_stops_short_of_the_heading() -> None:
    im = draw("long", LONG)
    band = (0, 20, WIDTH, 70)
    title = bounds(near(im, band, (255, 255, 255), 50), band)  # white text on navy
    pill = bounds(near(im, band, ACCENT, 4), band)
    assert title[2] < pill[0] - 16


def test_unicode_names_render() -> None:
    card = Card(
        "Concours d’été — Üniversität",
        "semaine du 30 nov. 2026",
        "Top 10",
        (
            CardRow(1, "Zoë Ångström-Ñúñez", 10, 1, "Malmö"),
            CardRow(2, "张伟", 9, None, "北京"),  # no CJK in DejaVu Sans: boxes, but a card
            CardRow(3, "Łukasz Żółć", 8, -1, "Kraków"),
            CardRow(4, "Δημήτρης Παπαδόπουλος", 7, 0, "Αθήνα"),
            CardRow(5, "😀 Emoji Person", 6, 0, "🏆"),
        ),
    )
    im = draw("unicode", card)
    assert im.size == (WIDTH, HEIGHT)
    assert "2. 张伟, 9 pts" in rendered(card).alt


def test_ranks_past_99_still_render() -> None:
    card = Card("Q4", "week", "Around you", tuple(CardRow(r, f"Person {r}", 1000 - r, 0) for r in (98, 99, 100, 1000)))
    im = draw("big-ranks", card)
    # Left of the names, a clear gap between the widest rank ("1000") and its name.
    left = (0, BODY[1], 140, BODY[3])
    mask = ink(im, left)
    columns = [x for x in range(mask.width) if mask.crop((x, 0, x + 1, mask.height)).getbbox()]
    assert max(b - a for a, b in itertools.pairwise(columns)) >= 20


# --- the README's cards ----------------------------------------------------------------------------------------


def write_screenshots() -> list[Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, card in (("card-top10", TOP10), ("card-division", DIVISION)):
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(render_card(card).png)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_screenshots():
        sys.stdout.write(f"{written.relative_to(ROOT)}\n")
