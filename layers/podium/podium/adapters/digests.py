"""A participant's digest as an email: subject, HTML (inline CSS, tables: what mail clients render) and text."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from podium.adapters.pages import environment
from podium.domain.bulletins import Digest, format_points
from podium.services.publish import DigestLinks, RenderedDigest

if TYPE_CHECKING:
    from jinja2 import Template

# A bulletin renders one digest per participant, tens of thousands, and the same figures come back in many of
# them (a team's board is in each of its members' digests): formatted once each, not 50 times a digest.
FORMATTED = 4096


@cache
def templates() -> tuple[Template, Template]:
    """The HTML and text templates, looked up once: Jinja2 would check each file's time on every lookup."""
    env = environment()
    return env.get_template("digest/digest.html"), env.get_template("digest/digest.txt")


def render_digest(digest: Digest, links: DigestLinks) -> RenderedDigest:
    html_template, text_template = templates()
    context = {
        "d": digest,
        "links": links,
        "first_name": digest.name.split()[0] if digest.name.split() else digest.name,
        "subject": subject(digest),
        "preheader": preheader(digest),
        "movement_text": movement_text(digest),
        "movement_colour": _colour(digest.movement),
        "change_text": change_text(digest),
        "points": points,
        "value": formatted_value,
    }
    html = html_template.render(context)
    text = text_template.render(context)
    return RenderedDigest(context["subject"], html, text)  # type: ignore[arg-type]


def subject(d: Digest) -> str:
    if not d.scored:
        return f"{d.program}: your {d.period}"
    moved = ""
    if d.movement:
        moved = f", up {d.movement}" if d.movement > 0 else f", down {-d.movement}"
    return f"{d.program}: you're #{d.rank} of {d.of}{moved}"


def preheader(d: Digest) -> str:
    if not d.scored:
        return "No scores from you yet: here is where the board stands."
    parts = [f"{format_points(d.points)} points"]
    if d.badges:
        parts.append(d.badges[0].text)
    if d.team and d.team_position:
        parts.append(f"{d.team} is #{d.team_position} in {d.team_group}")
    return " · ".join(parts)


def movement_text(d: Digest) -> str:
    if d.movement is None:
        return "new on the board"
    if d.movement == 0:
        return "same place as last time"
    places = "place" if abs(d.movement) == 1 else "places"
    return f"up {d.movement} {places}" if d.movement > 0 else f"down {-d.movement} {places}"


def change_text(d: Digest) -> str:
    if d.points_change is None or d.points_change == 0:
        return ""
    sign = "+" if d.points_change > 0 else "−"
    return f"{sign}{format_points(abs(d.points_change))} since last time"


def value(x: float | None, unit: str) -> str:
    if x is None:
        return "–"
    shown = format_points(x)
    if unit in ("$", "€", "£"):
        return f"{unit}{shown}"
    return f"{shown} {unit}".strip() if unit else shown


points = lru_cache(maxsize=FORMATTED)(format_points)
formatted_value = lru_cache(maxsize=FORMATTED)(value)


def _colour(movement: int | None) -> str:
    if movement is None or movement == 0:
        return "#5b6578"
    return "#1f7a45" if movement > 0 else "#b42318"
