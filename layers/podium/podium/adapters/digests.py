"""A participant's digest as an email: subject, HTML (inline CSS, tables: what mail clients render) and text."""

from __future__ import annotations

from podium.adapters.pages import environment
from podium.domain.bulletins import Digest, format_points
from podium.services.publish import DigestLinks, RenderedDigest


def render_digest(digest: Digest, links: DigestLinks) -> RenderedDigest:
    env = environment()
    context = {
        "d": digest,
        "links": links,
        "first_name": digest.name.split()[0] if digest.name.split() else digest.name,
        "subject": subject(digest),
        "preheader": preheader(digest),
        "movement_text": movement_text(digest),
        "movement_colour": _colour(digest.movement),
        "change_text": change_text(digest),
        "points": format_points,
        "value": value,
    }
    html = env.get_template("digest/digest.html").render(context)
    text = env.get_template("digest/digest.txt").render(context)
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


def _colour(movement: int | None) -> str:
    if movement is None or movement == 0:
        return "#5b6578"
    return "#1f7a45" if movement > 0 else "#b42318"
