"""A final bulletin's digests and the unsubscribe pages, in a real browser, on the local stack.

A program of nine people with email addresses (two whose names are payloads) gets scores and a final bulletin.
Each digest is opened twice: as an admin previews it (the digest route, with the key) and as a mail client shows
the HTML part of the email in the outbox, at a desktop's width and a phone's. Either way it shows the participant's
rank and points as the board's JSON has them, names as inert text, a footer link to `/u/…`, fetches nothing and
fits 390 px without scrolling sideways. The text part reads as plain text, a blank line between sections. The
unsubscribe link asks first (a GET changes nothing: the next bulletin still mails whoever only opened it), its
button stops the digests, and a tampered link is a 400 page.

`PODIUM_README_SHOTS=1` also writes the README's docs/screenshots/digest.png, digest-phone.png and
unsubscribe.png.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, Response, ViewportSize, expect

from podium.domain.bulletins import format_points
from podium.domain.periods import period_of
from podium.domain.program import program_from_dict

from .kit import ROOT, VIEWPORTS, XSS_NAMES, Person, Stack, Watch, assert_inert, check_page

Visit = Callable[..., Response]

PHONE = VIEWPORTS["phone"]["width"]
SHOTS = ("desktop", "phone")
README_SHOTS = ROOT / "docs" / "screenshots"

RELAY: dict[str, Any] = {
    "id": "relay",
    "name": "Autumn Relay",
    "timezone": "UTC",
    "period": "week",
    "week_start": "monday",
    "visibility": "public",
    "metrics": [
        {"key": "calls", "label": "Calls made", "points": {"target": 40, "target_points": 100}},
        {"key": "deals", "label": "Deals closed", "points": {"per_unit": 10}},
        {"key": "talk", "label": "Talk time", "unit": "min", "points": {"per_unit": 0.5, "cap": 60}},
        {"key": "bonus", "label": "Manager bonus", "hidden": True, "points": {"per_unit": 5}},
    ],
    "bulletins": {"ranks": [1, 3, 10], "points": [100, 250]},
}
# North's Blue team has the payload names (and Cy, who sees them on his team board); South has a name too long for
# a phone's row.
RELAY_ROSTER = [
    Person("ann", "Ann Archer", "Red", "North"),
    Person("priya", "Priya Patel", "Red", "North"),
    Person("bob", "Bob Baker", "Red", "North"),
    Person("cy", "Cy Cole", "Blue", "North"),
    Person("xss-script", XSS_NAMES[0], "Blue", "North"),
    Person("xss-img", XSS_NAMES[1], "Blue", "North"),
    Person("di", "Di Diaz", "Green", "South"),
    Person("max", "Maximiliana Featherstonehaugh-Worthington", "Green", "South"),
    Person("el", "Élodie Éclair", "Green", "South"),
]
EVERYONE = len(RELAY_ROSTER)
SCORES = {
    "ann": {"calls": 46, "deals": 9, "talk": 150, "bonus": 2},
    "priya": {"calls": 31, "deals": 4, "talk": 90},
    "xss-script": {"calls": 20, "deals": 3, "talk": 60},
    "bob": {"calls": 18, "deals": 2, "talk": 40},
    "cy": {"calls": 27, "deals": 6, "talk": 70, "bonus": 1},
    "xss-img": {"calls": 12, "deals": 1, "talk": 25},
    "di": {"calls": 38, "deals": 5, "talk": 110},
    "max": {"calls": 22, "deals": 3, "talk": 200},
    "el": {"calls": 9, "deals": 0, "talk": 15},
}


def email_of(participant: str) -> str:
    return f"{participant}@example.org"


def roster_csv(rows: list[Person]) -> str:
    """The kit's roster columns, with an address each: a digest goes only to someone with one."""
    lines = ["id,name,email,team,division,opt_out"]
    lines += [",".join(_cell(v) for v in (p.id, p.name, email_of(p.id), p.team, p.division, p.opt_out)) for p in rows]
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


# --- the bulletin, once for the module ------------------------------------------------------------------------


def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)
    return found


def standings(stack: Stack) -> dict[str, dict[str, Any]]:
    """The program's participants board as an API key reads it, by participant id."""
    board = stack.json("GET", f"/v1/programs/{RELAY['id']}/boards/participants")
    return {s["id"]: s for s in board["standings"]}


def settled(stack: Stack, scores: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, Any]]:
    """The board once every value of `scores` is on it (the stream has aggregated them)."""

    def ready() -> dict[str, dict[str, Any]] | None:
        board = standings(stack)
        for who, values in scores.items():
            row = board.get(who)
            if row is None or any((row["metrics"][k]["value"] or 0) < v for k, v in values.items()):
                return None
        return board

    return dict(until(ready, "the relay's scores on its board"))


def publish(stack: Stack) -> dict[str, Any]:
    """A final bulletin of this week (said outright: in a period's first hours one reports the week before)."""
    program = program_from_dict(RELAY)
    period = period_of(datetime.now(UTC), program.period, program.tz, program.week_start).key
    made = dict(stack.json("POST", f"/v1/programs/{RELAY['id']}/bulletins", {"status": "final", "period": period}))
    assert made["state"] == "sent", made
    return made


def digests_in_outbox(stack: Stack, seen: set[str]) -> dict[str, tuple[str, EmailMessage]]:
    """The relay's emails in the outbox not in `seen` (which they are added to): {participant: (eml, message)}."""
    found: dict[str, tuple[str, EmailMessage]] = {}
    for entry in stack.json("GET", "/outbox.json")["entries"]:
        eml = entry.get("files", {}).get("eml")
        if entry["kind"] != "email" or eml in seen or not entry["subject"].startswith(f"{RELAY['name']}:"):
            continue
        status, _, raw = stack.call("GET", f"/outbox/{eml}", key="")
        assert status == 200, raw
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        (to,) = entry["to"]
        who = to.removesuffix("@example.org")
        assert who not in found, f"{who} got two digests of one bulletin"
        found[who] = (eml, message)
        seen.add(eml)
    return found


@dataclass
class Sent:
    """The first final bulletin: as made, the board it was made of, and the digest each participant got."""

    bulletin: dict[str, Any]
    board: dict[str, dict[str, Any]]
    emails: dict[str, tuple[str, EmailMessage]]
    seen: set[str] = field(default_factory=set)  # outbox files already read
    stopped: set[str] = field(default_factory=set)  # who has pressed the unsubscribe button since

    def html(self, who: str) -> str:
        return str(self.emails[who][1].get_body(("html",)).get_content())  # type: ignore[union-attr]

    def text(self, who: str) -> str:
        # Sent with SMTP's CRLF line ends; a mail client shows lines.
        return str(self.emails[who][1].get_body(("plain",)).get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]

    def unsubscribe_path(self, who: str, stack: Stack) -> str:
        link = str(self.emails[who][1]["List-Unsubscribe"]).strip("<>")
        assert link.startswith(f"{stack.url}/u/"), link
        return link.removeprefix(stack.url)


@pytest.fixture(scope="module")
def sent(stack: Stack) -> Sent:
    stack.json("PUT", f"/v1/programs/{RELAY['id']}", RELAY)
    status, _, body = stack.call("PUT", f"/v1/programs/{RELAY['id']}/roster", roster_csv(RELAY_ROSTER), "text/csv")
    assert status == 200, body
    stack.submit_many(SCORES, program=str(RELAY["id"]))
    board = settled(stack, SCORES)
    made = publish(stack)
    assert made["summary"]["digests"] == {"sent": len(RELAY_ROSTER)}, made["summary"]
    seen: set[str] = set()
    emails = digests_in_outbox(stack, seen)
    assert sorted(emails) == sorted(p.id for p in RELAY_ROSTER)
    return Sent(made, board, emails, seen)


# --- what a digest must show ------------------------------------------------------------------------------------


def assert_digest_shows_the_board(page: Page, row: dict[str, Any], of: int, stack: Stack) -> None:
    """The participant's rank (of everyone) and points, as the board's JSON has them; a footer link to `/u/`."""
    rank = page.get_by_text("Your rank", exact=True).locator("xpath=following-sibling::div[1]")
    expect(rank).to_have_text(f"#{row['rank']} of {of}")
    points = page.get_by_text("Your points", exact=True).locator("xpath=following-sibling::div[1]")
    expect(points).to_have_text(format_points(row["points"]))
    stop = page.get_by_role("link", name="Stop these emails")
    expect(stop).to_have_count(1)
    expect(stop).to_have_attribute("href", re.compile(rf"^{re.escape(stack.url)}/u/[^/]+$"))


def assert_names_are_text(page: Page, *names: str) -> None:
    """Each name shows as the characters it is made of, and made no markup (the kit's assert_inert)."""
    assert_inert(page)
    shown = page.locator("body").inner_text()
    for name in names:
        assert name in shown, f"{name!r} is not shown as text in the digest:\n{shown}"


def assert_fits_a_phone(page: Page) -> None:
    """At 390 px the digest scrolls down, never sideways."""
    page.set_viewport_size(VIEWPORTS["phone"])
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE, f"{page.url} is {width} px wide on a {PHONE} px phone"
    page.set_viewport_size(VIEWPORTS["desktop"])


def readme_shot(page: Page, name: str, size: ViewportSize) -> None:
    """The README's picture of the page, when asked for (PODIUM_README_SHOTS=1), not on every run: at `size`,
    the whole page."""
    if os.environ.get("PODIUM_README_SHOTS") != "1":
        return
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    page.set_viewport_size(size)
    page.screenshot(path=str(README_SHOTS / f"{name}.png"), full_page=True)
    if before is not None:
        page.set_viewport_size(before)


# The README's sizes: a desktop mail app's reading pane (the README shows it at its own size), a phone, and the
# top of a desktop browser (the unsubscribe page is short).
READING_PANE: ViewportSize = {"width": 800, "height": 900}
SHORT_DESKTOP: ViewportSize = {"width": 1024, "height": 440}


# Ann leads (badges, a team: the README's), Cy has both payload names on his team board, each payload name has its
# own digest, and Max's long name must fit a phone's row. The payload names each digest shows:
OPENED = {"ann": (), "cy": XSS_NAMES, "xss-script": XSS_NAMES, "xss-img": XSS_NAMES, "max": ()}


@pytest.mark.parametrize("who", ["ann", "xss-img"])
def test_an_admin_previews_a_digest_with_the_boards_numbers(
    page: Page, context: BrowserContext, watch: Watch, stack: Stack, sent: Sent, who: str
) -> None:
    # GIVEN the admin key on the preview's request (and only the stack's: the watch stops any other)
    context.set_extra_http_headers({"Authorization": f"Bearer {stack.key}"})
    path = f"/v1/programs/{RELAY['id']}/bulletins/{sent.bulletin['id']}/digests/{quote(who)}"
    # WHEN the preview opens
    response = page.goto(stack.url + path)
    # THEN it is the email's HTML, with what the board says, and it fetches nothing more
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"]
    expect(page).to_have_title(
        re.compile(rf"^{re.escape(RELAY['name'])}: you're #{sent.board[who]['rank']} of {EVERYONE}")
    )
    assert_digest_shows_the_board(page, sent.board[who], len(sent.board), stack)
    assert_names_are_text(page, *OPENED[who])
    assert watch.requests == [f"GET {stack.url}{path}"]
    assert_fits_a_phone(page)
    check_page(page, f"bulletins/digest-preview-{who}", shots=SHOTS)


@pytest.mark.parametrize("who", OPENED)
def test_the_emailed_digest_in_a_mail_client(page: Page, watch: Watch, stack: Stack, sent: Sent, who: str) -> None:
    # GIVEN the HTML part of the email in the outbox, as a mail client renders it: on its own, no page around it
    page.set_content(sent.html(who))
    # THEN it shows the board's numbers, names as text, and loads nothing at all (no image, font or style)
    assert_digest_shows_the_board(page, sent.board[who], len(sent.board), stack)
    if who == "ann":
        expect(page.get_by_text("★ Reached first place")).to_be_visible()
        expect(page.get_by_text("Target of 40 reached")).to_be_visible()
        expect(page.get_by_role("heading", name="Red", exact=True)).to_be_visible()
        expect(page.get_by_text("Priya Patel", exact=True)).to_be_visible()  # on Ann's team board
    assert_names_are_text(page, *OPENED[who])
    expect(page.get_by_text("Manager bonus")).to_have_count(0)  # a hidden metric: its points count, unnamed
    assert watch.requests == []
    assert_fits_a_phone(page)
    check_page(page, f"bulletins/digest-email-{who}", shots=SHOTS)
    if who == "ann":
        readme_shot(page, "digest", READING_PANE)
        readme_shot(page, "digest-phone", VIEWPORTS["phone"])


def test_the_text_part_reads_as_plain_text_with_a_blank_line_between_sections(stack: Stack, sent: Sent) -> None:
    row = sent.board["ann"]
    text = sent.text("ann")
    assert f"Rank: #{row['rank']} of {EVERYONE}" in text, text
    assert f"Points: {format_points(row['points'])}" in text, text
    for name in XSS_NAMES:  # plain text: on Cy's team board, each name as it is, not escaped
        assert f". {name}: " in sent.text("cy"), sent.text("cy")
    assert "&lt;" not in sent.text("cy") and "&#34;" not in sent.text("cy"), sent.text("cy")
    assert "\n\n\n" not in text, f"more than one blank line in a row:\n{text}"
    sections = [s for s in text.split("\n\n") if s.strip()]
    assert sections[0].startswith(f"{RELAY['name']}: your "), text
    assert sections[1] == "Hi Ann,", text
    assert any(s.startswith("How you scored:") for s in sections), text
    assert any(s.startswith("Red: ") for s in sections), text
    assert sections[-1].startswith("-- \n"), text  # the signature's delimiter: mail apps grey out what follows
    assert f"Stop these emails: {stack.url}/u/" in sections[-1], text
    assert not any(line != line.rstrip() for line in text.splitlines() if line != "-- "), "trailing spaces:\n" + text
    assert "- Calls made: 46, 115 pts (target of 40 reached)" in text, text
    assert "- Calls made: 22, 55 pts (18 to go to the target of 40)" in sent.text("max"), sent.text("max")


def test_the_list_unsubscribe_header_is_the_link_as_it_is(stack: Stack, sent: Sent) -> None:
    status, _, raw = stack.call("GET", f"/outbox/{sent.emails['ann'][0]}", key="")
    assert status == 200
    header = f"List-Unsubscribe: <{stack.url}{sent.unsubscribe_path('ann', stack)}>"
    assert header.encode() in raw.splitlines(), raw[:600]


# --- unsubscribing ------------------------------------------------------------------------------------------------


def test_the_unsubscribe_link_asks_first_and_its_button_stops_the_digests(
    page: Page, visit: Visit, stack: Stack, sent: Sent
) -> None:
    # GIVEN Di's footer link, the one the email's List-Unsubscribe header names too
    path = sent.unsubscribe_path("di", stack)
    page.set_content(sent.html("di"))
    expect(page.get_by_role("link", name="Stop these emails")).to_have_attribute("href", stack.url + path)
    # WHEN Di opens it: a page that asks, with a button
    visit(path)
    expect(page).to_have_title("Stop these emails? · Podium")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Stop the {RELAY['name']} emails?")
    button = page.get_by_role("button", name="Stop these emails")
    expect(button).to_be_visible()
    check_page(page, "bulletins/unsubscribe-confirm", shots=SHOTS)
    readme_shot(page, "unsubscribe", SHORT_DESKTOP)
    # THEN the button stops them, and the page says so
    with page.expect_navigation():
        button.click()
    sent.stopped.add("di")
    expect(page).to_have_title("Unsubscribed · Podium")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Done: no more {RELAY['name']} emails")
    check_page(page, "bulletins/unsubscribe-done", shots=SHOTS)


@pytest.mark.parametrize("tamper", ["signature", "garbage"])
def test_a_tampered_unsubscribe_link_is_a_bad_link_page(
    page: Page, visit: Visit, stack: Stack, sent: Sent, tamper: str
) -> None:
    path = sent.unsubscribe_path("el", stack)
    bad = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB") if tamper == "signature" else "/u/not-a-token"
    visit(bad, status=400)
    expect(page).to_have_title("Link not valid · Podium")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    expect(page.get_by_role("button")).to_have_count(0)
    check_page(page, f"bulletins/unsubscribe-bad-{tamper}", shots=SHOTS)


def test_opening_the_link_without_pressing_the_button_keeps_the_digests_coming(
    page: Page, visit: Visit, stack: Stack, sent: Sent
) -> None:
    # GIVEN Cy opens the link (as a mail scanner would) and leaves; Max opens it and presses the button
    visit(sent.unsubscribe_path("cy", stack))
    expect(page.get_by_role("button", name="Stop these emails")).to_be_visible()
    visit(sent.unsubscribe_path("max", stack))
    with page.expect_navigation():
        page.get_by_role("button", name="Stop these emails").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Done: no more")
    sent.stopped.add("max")
    # WHEN Cy scores again and the next final bulletin goes out
    stack.submit_many({"cy": {"calls": 5}}, program=str(RELAY["id"]))  # calls add up over the week
    board = settled(stack, {"cy": {"calls": SCORES["cy"]["calls"] + 5}})
    made = publish(stack)
    # THEN Cy gets it; whoever pressed the button does not
    everyone = {p.id for p in RELAY_ROSTER}
    assert made["summary"]["digests"] == {"opted_out": len(sent.stopped), "sent": len(everyone - sent.stopped)}
    again = digests_in_outbox(stack, sent.seen)
    assert set(again) == everyone - sent.stopped
    # AND Cy's second digest says what changed since the first
    before, after = sent.board["cy"], board["cy"]
    page.set_content(str(again["cy"][1].get_body(("html",)).get_content()))  # type: ignore[union-attr]
    assert_digest_shows_the_board(page, after, EVERYONE, stack)
    change = format_points(after["points"] - before["points"])
    expect(page.get_by_text(f"+{change} since last time", exact=True)).to_be_visible()
    check_page(page, "bulletins/digest-email-second-cy", shots=SHOTS)
