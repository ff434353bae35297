"""The board pages in a real browser, on the local stack: home, program, division, team, everyone (find me),
scorecard, TV, widget (in another site's iframe, and refused by a site that may not frame it), score form and
error page. Each loads with no console error and no request off the machine (the watch), passes axe-core
(serious and critical) and is saved as screenshots (check_page, once per kind of page). Then what each must
do: the TV fits a 1920x1080 screen and follows a new score without a reload; a score sent from a phone's form
shows on the board; payloads in every text are shown as text and run nowhere; hidden metrics and opted-out
people are kept from the public and shown to an API key; an unlisted program needs its link's token, and every
link keeps it."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, Response, expect

from podium.api.pages import number
from podium.domain.roster import slug

from .kit import (
    HIDDEN_METRIC,
    OPTED_OUT,
    ROSTER_ROWS,
    TV_ROWS,
    UNLISTED_ROSTER,
    VIEWPORTS,
    WEST_TEAMS,
    XSS_NAMES,
    XSS_ROSTER,
    XSS_TEXTS,
    Site,
    Stack,
    Watch,
    assert_inert,
    check_page,
    screenshot,
)

Visit = Callable[..., Response]
Scores = Mapping[str, Mapping[str, int]]
SPRINT = "/p/web/sprint"
# Screenshots of the pages made for people at a desk or on a phone (the TV page has 4K too).
SHOTS = ("desktop", "phone", "tv")
XSS = "/p/web/xss"
BACKROOM = "/p/web/backroom"
XSS_DIVISION = slug(XSS_TEXTS["division"])
XSS_TEAM = slug(XSS_TEXTS["team"])


# Every test here looks at boards with this week's scores on them (the `scores` fixture, once for the module).
pytestmark = pytest.mark.usefixtures("scores")


# --- scores, and waiting for them -------------------------------------------------------------------------------


def until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """`check()` again and again until it is truthy (and that), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def board(stack: Stack, program: str, path: str) -> dict[str, Any]:
    """A board as an API key sees it: `/v1/programs/{program}/boards/{path}`."""
    return dict(stack.json("GET", f"/v1/programs/{program}/boards/{path}"))


def standing(data: dict[str, Any], who: str) -> dict[str, Any] | None:
    return next((s for s in data["standings"] if s["id"] == who), None)


def counted(stack: Stack, program: str, scores: Scores) -> bool:
    """Every score of `scores` is in the program's everyone board (the stream has aggregated them)."""
    everyone = board(stack, program, "participants")
    for who, values in scores.items():
        row = standing(everyone, who)
        if row is None or any((row["metrics"][k]["value"] or 0) < v for k, v in values.items()):
            return False
    return True


@pytest.fixture(scope="module")
def scores(stack: Stack) -> Scores:
    """This week's scores of everyone in the three programs (the same every run), once they are on the boards.
    The sprint's West division gets sixteen different totals, so the TV has a rank to change."""
    rng = random.Random(7)  # noqa: S311 - scores, not secrets
    sprint = {
        p.id: {
            "calls": rng.randint(5, 60),
            "deals": rng.randint(0, 6),
            "nps": rng.randint(-20, 80),
            "talk": rng.randint(20, 200),
            "bonus": rng.randint(1, 4),
        }
        for p in ROSTER_ROWS
    }
    others = {
        "xss": {p.id: {"calls": 3 + i} for i, p in enumerate(XSS_ROSTER)},
        "backroom": {p.id: {"calls": 8 + i} for i, p in enumerate(UNLISTED_ROSTER)},
    }
    stack.submit_many(sprint)
    for program, rows in others.items():
        stack.submit_many(rows, program=program)
    until(lambda: counted(stack, "sprint", sprint), "the sprint's scores on its boards")
    for program, rows in others.items():
        until(lambda: counted(stack, program, rows), f"the {program} scores on its boards")  # noqa: B023
    return sprint


# --- every page -------------------------------------------------------------------------------------------------


def test_home_lists_the_public_programs(page: Page, visit: Visit) -> None:
    visit("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leaderboards")
    expect(page.get_by_role("link", name="Spring Sprint")).to_have_attribute("href", SPRINT)
    expect(page.get_by_role("link", name=XSS_TEXTS["program"])).to_have_attribute("href", XSS)
    expect(page.get_by_text("Back Room")).to_have_count(0)  # unlisted: opened with its link, listed nowhere
    check_page(page, "home", shots=SHOTS)
    visit("/p/web")
    expect(page.get_by_role("link", name="Spring Sprint")).to_be_visible()


def test_program_board(page: Page, visit: Visit, embedder: Site) -> None:
    visit(SPRINT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring Sprint")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(3)
    for division in ("North", "South", "West"):
        expect(rows.get_by_role("link", name=division, exact=True)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Talk time (min)")).to_be_visible()  # the metric's unit
    expect(page.get_by_text(f'{SPRINT}/widget.js" data-board="program"')).to_be_visible()
    expect(page.get_by_text(f"pages of {embedder.origin} may frame it")).to_be_visible()
    check_page(page, "program-board", shots=SHOTS)


def test_division_board(page: Page, visit: Visit) -> None:
    visit(f"{SPRINT}/division/north")
    expect(page.get_by_role("heading", level=1)).to_have_text("North")
    expect(page.locator(".crumbs")).to_contain_text("Spring Sprint › Division")
    expect(page.locator("#board tbody tr")).to_have_count(2)
    check_page(page, "division-board", shots=SHOTS)
    page.get_by_role("link", name="Blue", exact=True).click()
    expect(page).to_have_url(re.compile(r"/p/web/sprint/team/blue$"))


def test_team_board(page: Page, visit: Visit) -> None:
    visit(f"{SPRINT}/team/red")
    expect(page.get_by_role("heading", level=1)).to_have_text("Red")
    expect(page.locator(".crumbs")).to_contain_text("Spring Sprint › North › Team")
    expect(page.get_by_role("columnheader", name=re.compile("^Adds to team"))).to_be_visible()
    expect(page.locator("#board tbody tr")).to_have_count(2)
    check_page(page, "team-board", shots=SHOTS)


def test_everyone_and_find_me(page: Page, visit: Visit) -> None:
    visit(f"{SPRINT}/everyone")
    expect(page.get_by_role("heading", level=1)).to_have_text("Everyone in Spring Sprint")
    page.get_by_label("Find me").fill("cole")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"/everyone\?find=cole#found$"))  # scrolled to the row
    mine = page.locator("tr.mine")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Cy Cole")
    expect(mine).to_be_in_viewport()
    expect(page.get_by_label("Find me")).to_have_value("cole")
    check_page(page, "everyone-find-me", shots=SHOTS)
    page.get_by_label("Find me").fill("nobody-at-all")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status")).to_have_text("Nobody on this board matches “nobody-at-all”.")
    expect(page.locator("tr.mine")).to_have_count(0)


def test_scorecard(page: Page, visit: Visit) -> None:
    visit(f"{SPRINT}/participant/di")
    expect(page.get_by_role("heading", level=1)).to_have_text("Di Diaz")
    expect(page.locator(".crumbs")).to_contain_text("Spring Sprint › South › Green › Scorecard")
    metrics = page.get_by_role("table").first
    for label in ("Calls made", "Deals closed", "NPS", "Talk time (min)"):
        expect(metrics.get_by_role("cell", name=label, exact=True)).to_be_visible()
    expect(metrics.get_by_role("img", name=re.compile(r"^\d+% of 120\b"))).to_be_visible()  # the cap: 60 pts at 0.5
    expect(page.locator("tr.mine")).to_contain_text("Di Diaz")
    # The bars of the chart and the value over the tallest stay inside it.
    inside = page.evaluate(
        """() => { const svg = document.querySelector('svg').getBoundingClientRect();
                   return [...document.querySelectorAll('svg text')].every(t => {
                     const r = t.getBoundingClientRect(); return !r.width || (r.top >= svg.top && r.bottom <= svg.bottom); }); }"""
    )
    assert inside, "a label of the scorecard's chart is cut off"
    check_page(page, "scorecard", shots=SHOTS)


def test_error_page(page: Page, visit: Visit) -> None:
    visit(f"{SPRINT}/team/no-such-team", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
    expect(page.get_by_text("no team 'no-such-team' in program 'sprint'")).to_be_visible()
    expect(page).to_have_title("404 · Podium")
    check_page(page, "error-404", shots=SHOTS)
    visit(f"{SPRINT}/participant/nobody", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")


# --- the TV -----------------------------------------------------------------------------------------------------

TV_LAYOUT = """() => {
  const vw = innerWidth, vh = innerHeight, root = document.scrollingElement;
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const sizes = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement, text = walk.currentNode.textContent.trim();
    const style = getComputedStyle(el), r = el.getBoundingClientRect();
    if (!text || style.display === 'none' || style.visibility === 'hidden' || !r.width || !r.height) continue;
    sizes.push([parseFloat(style.fontSize), text.slice(0, 40)]);
  }
  return {
    viewport: [vw, vh],
    scroll: [root.scrollWidth, root.scrollHeight],
    rows: [...document.querySelectorAll('#rows .row')].map(el => [el.getAttribute('data-id'), box(el)]),
    footer: box(document.querySelector('footer')),
    smallest: sizes.sort((a, b) => a[0] - b[0])[0],
  };
}"""


def assert_fits_the_screen(page: Page, rows: int) -> None:
    """Every row inside the viewport above the footer, nothing to scroll, no text under 28 px."""
    layout = page.evaluate(TV_LAYOUT)
    width, height = layout["viewport"]
    assert layout["scroll"][0] <= width and layout["scroll"][1] <= height, f"the TV page scrolls: {layout}"
    assert len(layout["rows"]) == rows, layout["rows"]
    for key, (left, top, right, bottom) in layout["rows"]:
        assert left >= 0 and top >= 0 and right <= width and bottom <= height, f"row {key} leaves the screen"
        assert bottom <= layout["footer"][1], f"row {key} runs under the footer"
    assert layout["footer"][3] <= height, "the footer is below the screen"
    size, text = layout["smallest"]
    assert size >= 28, f"the smallest text on the TV is {size} px: {text!r}"


def test_the_tv_fits_a_1080p_screen_and_follows_a_new_score(page: Page, visit: Visit, stack: Stack) -> None:
    page.set_viewport_size(VIEWPORTS["tv"])
    with page.expect_response(lambda r: "/board.json?" in r.url) as first_poll:
        visit(f"{SPRINT}/tv?boards=division:west&seconds=3")
    assert first_poll.value.status == 200
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    rows = page.locator("#rows .row")
    expect(rows).to_have_count(TV_ROWS)
    expect(page.locator("#title")).to_have_text("West")
    assert_fits_the_screen(page, TV_ROWS)
    check_page(page, "tv", axe_viewports=("tv", "desktop"))

    # The last team gets a thousand calls: the page, never reloaded, moves it to the top with its new points.
    west = board(stack, "sprint", "division/west")
    last = west["standings"][-1]
    member = f"w{[slug(t) for t in WEST_TEAMS].index(last['id']) + 1:02}"
    page.evaluate("window.podiumTestMarker = 'still here'")
    stack.submit(member, calls=1000)
    row = page.locator(f'#rows .row[data-id="{last["id"]}"]')
    expect(row.locator(".rank")).to_have_text(re.compile(r"^1(▲\d+)?$"), timeout=15_000)
    expect(row.locator(".points")).to_have_text(number(last["points"] + 1000))
    expect(rows.first).to_have_attribute("data-id", last["id"])
    expect(page.locator("#leader")).to_contain_text("New leader:")
    assert page.evaluate("window.podiumTestMarker") == "still here"
    assert navigations == [], f"the TV page navigated: {navigations}"
    assert_fits_the_screen(page, TV_ROWS)
    screenshot(page, "tv-after-a-new-score", "tv")


# --- the widget, on other sites ---------------------------------------------------------------------------------


def intranet_page(stack: Stack, board_ref: str, title: str = "Intranet") -> str:
    """Another site's page with the one-line embed the program page offers, in a column of its own."""
    snippet = f'<script src="{stack.url}{SPRINT}/widget.js" data-board="{board_ref}" async></script>'
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; background: #eef1f5; margin: 0; padding: 1.5rem">
<main style="display: grid; grid-template-columns: 1fr 380px; gap: 1.5rem; max-width: 64rem">
<section><h1>{title}</h1><p>News of the week, and the sales board beside it.</p></section>
<aside>{snippet}</aside></main></body></html>"""


def widget_response(response: Response) -> bool:
    return "/widget?" in response.url


def test_the_widget_in_an_allowed_sites_iframe(page: Page, visit: Visit, stack: Stack, embedder: Site) -> None:
    embedder.pages["/intranet.html"] = intranet_page(stack, "division:north")
    with page.expect_response(widget_response) as answered:
        visit(f"{embedder.origin}/intranet.html")
    csp = answered.value.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {embedder.origin}" in csp, csp
    frame = page.frame_locator('iframe[title="Leaderboard"]')
    expect(frame.get_by_role("heading", level=1)).to_have_text("North")
    expect(frame.locator("#rows li")).to_have_count(2)
    expect(frame.get_by_role("link", name="Full board")).to_have_attribute("href", f"{SPRINT}/division/north")
    # The widget told embed.js its height: the iframe is as tall as the widget, with no scrollbar.
    iframe = page.locator('iframe[title="Leaderboard"]')
    expect(iframe).not_to_have_attribute("height", "420")
    widget = iframe.element_handle().content_frame()
    assert widget is not None
    inner = widget.evaluate("document.documentElement.scrollHeight")
    box = iframe.bounding_box()
    assert box is not None and abs(box["height"] - inner) <= 2, (box, inner)
    screenshot(page, "widget-embedded")
    # The embedding site reads the board's JSON: allowed_origins lets it (CORS).
    url = f"{stack.url}{SPRINT}/board.json?board=division:north"
    data = page.evaluate("url => fetch(url).then(r => r.json())", url)
    assert [s["name"] for s in data["standings"]] == [
        s["name"] for s in board(stack, "sprint", "division/north")["standings"]
    ]


def test_the_widget_page(page: Page, visit: Visit) -> None:
    page.set_viewport_size({"width": 380, "height": 480})
    visit(f"{SPRINT}/widget?board=division:west&theme=dark&accent=c0392b&rows=5")
    expect(page.get_by_role("heading", level=1)).to_have_text("West")
    expect(page.locator("#rows li")).to_have_count(5)
    expect(page.locator("#more")).to_have_text(f"and {TV_ROWS - 5} more")
    assert page.evaluate("getComputedStyle(document.querySelector('.bar')).backgroundColor") == "rgb(192, 57, 43)"
    check_page(page, "widget", shots=SHOTS)


def test_a_site_not_allowed_gets_no_widget_and_no_json(
    page: Page, visit: Visit, watch: Watch, stack: Stack, embedder: Site
) -> None:
    with Site() as stranger:
        stranger.pages["/elsewhere.html"] = intranet_page(stack, "division:north", "Elsewhere")
        with page.expect_response(widget_response) as answered:
            visit(f"{stranger.origin}/elsewhere.html")
        csp = answered.value.headers["content-security-policy"]
        ancestors = re.search(r"frame-ancestors ([^;]*)", csp)
        assert ancestors is not None and ancestors.group(1).split() == ["'self'", embedder.origin], csp
        # Chromium refuses to render it: the frame holds its error page, not the widget.
        frame = page.locator('iframe[title="Leaderboard"]').content_frame
        expect(frame.locator("#widget")).to_have_count(0)
        until(lambda: any(f.url.startswith("chrome-error://") for f in page.frames), "the frame's error page")
        url = f"{stack.url}{SPRINT}/board.json?board=division:north"
        refused = page.evaluate("url => fetch(url).then(() => 'read', e => e.name)", url)
        assert refused == "TypeError"
        problems = watch.take()
    framing = [p for p in problems if "violates the following Content Security Policy directive" in p]
    assert framing and all(f"\"frame-ancestors 'self' {embedder.origin}\"" in p for p in framing), problems
    assert any("blocked by CORS policy" in p for p in problems), problems
    assert all(p in framing or "CORS" in p or "Failed to load resource" in p for p in problems), problems
    # And as headers: the JSON names the allowed origin only.
    for origin, allowed in ((embedder.origin, True), (stranger.origin, False), ("null", False)):
        status, headers, _ = stack.call("GET", f"{SPRINT}/board.json?board=program", key="", headers={"Origin": origin})
        assert status == 200
        named = {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin")
        assert named == (origin if allowed else None), (origin, headers)


# --- the score form ---------------------------------------------------------------------------------------------


def test_a_score_sent_from_a_phone_shows_on_the_board(page: Page, visit: Visit, stack: Stack) -> None:
    page.set_viewport_size(VIEWPORTS["phone"])
    before = standing(board(stack, "sprint", "team/green"), "di")
    assert before is not None
    visit(f"{SPRINT}/form?t={stack.submit_token()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Send a score")
    expect(page.get_by_label("Talk time (min)")).to_be_visible()
    check_page(page, "form", shots=SHOTS)
    page.get_by_label("Who").select_option(label="Di Diaz (di)")
    page.get_by_label("Calls made").fill("7")
    # The form fits the phone's width: nothing to scroll sideways.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= VIEWPORTS["phone"]["width"]
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your score was received.")
    calls = before["metrics"]["calls"]["value"] + 7

    def counted_now() -> bool:
        now = standing(board(stack, "sprint", "team/green"), "di")
        return now is not None and now["metrics"]["calls"]["value"] == calls

    until(counted_now, "di's new calls on the boards")
    page.get_by_role("link", name="See the boards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring Sprint")
    page.get_by_role("link", name="South", exact=True).first.click()
    page.get_by_role("link", name="Green", exact=True).click()
    row = page.locator('#board tr[data-id="di"]')
    expect(row).to_contain_text(number(before["points"] + 7))
    expect(row.locator("td").nth(4)).to_contain_text(f"{number(calls)}")  # rank, name, points, adds, calls


# --- payloads ---------------------------------------------------------------------------------------------------

NAMES = [p.name for p in XSS_ROSTER]


def xss_pages(stack: Stack) -> Iterator[tuple[str, int, list[str]]]:
    """Every page of the program `xss` (path, status, the payload texts it must show as text)."""
    t = XSS_TEXTS
    metric, unit = t["metric"], f"({t['unit']})"
    yield "/", 200, [t["program"]]
    yield XSS, 200, [t["program"], t["division"], metric, unit]
    yield f"{XSS}/division/{XSS_DIVISION}", 200, [t["program"], t["division"], t["team"], metric]
    yield f"{XSS}/team/{XSS_TEAM}", 200, [t["program"], t["division"], t["team"], *NAMES, metric]
    yield f"{XSS}/everyone?find={quote(XSS_NAMES[1])}", 200, [t["program"], *NAMES, metric]
    yield f"{XSS}/everyone?find={quote('<svg onload=alert(9)>')}", 200, ["matches “<svg onload=alert(9)>”"]
    yield f"{XSS}/participant/xss-img", 200, [t["program"], t["division"], t["team"], NAMES[1], metric, unit]
    yield f"{XSS}/tv", 200, [t["program"], t["division"], metric]
    yield f"{XSS}/tv?boards=team:{XSS_TEAM}", 200, [t["team"], *NAMES]
    yield f"{XSS}/widget?board=team:{XSS_TEAM}", 200, [t["program"], t["team"], *NAMES]
    token = stack.json("POST", "/v1/programs/xss/tokens/submit")["token"]
    yield f"{XSS}/form?t={token}", 200, [t["program"], metric, unit, *NAMES]
    # (A payload in the path is no good here: the local stack hands path parameters on still percent-encoded.)
    yield f"{XSS}/widget?board={quote('<svg onload=alert(8)>')}", 404, ["no board '<svg onload=alert(8)>'"]


def test_payloads_in_every_text_show_as_text_and_run_nowhere(page: Page, visit: Visit, stack: Stack) -> None:
    """Program name, metric label and unit, division, team and people are payloads; each page shows them as
    they were typed (the watch fails the test on any dialog one would open; assert_inert finds markup)."""
    for path, status, texts in xss_pages(stack):
        if "/tv" in path:
            with page.expect_response(lambda r: "/board.json?" in r.url):
                visit(path, status=status)
            page.wait_for_timeout(100)  # the first poll is rendered
        else:
            visit(path, status=status)
        shown = page.locator("body").inner_text()
        for text in texts:
            assert text in shown, f"{path} does not show {text!r}"
        if status == 200 and path.startswith(XSS):
            assert XSS_TEXTS["program"] in page.title(), f"{path}: {page.title()!r}"
        assert_inert(page)
    everyone = f"{XSS}/everyone?find={quote(XSS_NAMES[1])}"
    visit(everyone)
    expect(page.get_by_label("Find me")).to_have_value(XSS_NAMES[1])
    expect(page.locator("tr.mine")).to_contain_text(XSS_NAMES[1])


# --- who sees what ----------------------------------------------------------------------------------------------

HIDDEN_TEXTS = (*HIDDEN_METRIC, *(p.name for p in OPTED_OUT.values()), *(p.id for p in OPTED_OUT.values()))


def public_pages() -> list[str]:
    """Every page and JSON of the sprint where the hidden metric's or the opted-out people's names could be."""
    return [
        SPRINT,
        f"{SPRINT}/division/north",
        f"{SPRINT}/team/blue",
        f"{SPRINT}/everyone",
        f"{SPRINT}/everyone?find=quinn",
        f"{SPRINT}/participant/cy",
        f"{SPRINT}/tv",
        f"{SPRINT}/tv?boards=team:blue,everyone&metrics=calls,bonus",
        f"{SPRINT}/widget?board=team:blue",
        f"{SPRINT}/widget?board=everyone&rows=50",
        *(f"{SPRINT}/board.json?board={b}" for b in ("program", "division:north", "team:blue", "everyone")),
    ]


def test_hidden_metrics_and_opted_out_people_stay_off_public_pages(page: Page, visit: Visit, stack: Stack) -> None:
    for path in public_pages():
        status, _, body = stack.call("GET", path, key="")
        assert status == 200, (path, status)
        text = body.decode()
        for secret in HIDDEN_TEXTS:
            assert secret.lower() not in text.lower(), f"{path} shows {secret!r}"
    for person in OPTED_OUT.values():
        status, _, _ = stack.call("GET", f"{SPRINT}/participant/{person.id}", key="")
        assert status == 404, person
    # In the browser: the anonymised member is a row without a link; the hidden one is no row at all.
    visit(f"{SPRINT}/team/blue")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Anonymous").get_by_role("link")).to_have_count(0)
    expect(page.get_by_text("1 metric is not shown on this board")).to_be_visible()
    # An API key sees all of it, in the JSON and on the pages.
    blue = board(stack, "sprint", "team/blue")
    assert {s["id"] for s in blue["standings"]} == {"cy", *(p.id for p in OPTED_OUT.values())}
    assert all(HIDDEN_METRIC[0] in s["metrics"] for s in blue["standings"])
    everyone = board(stack, "sprint", "participants")
    assert {p.name for p in OPTED_OUT.values()} <= {s["name"] for s in everyone["standings"]}
    status, _, body = stack.call("GET", f"{SPRINT}/team/blue")
    assert status == 200 and all(secret in body.decode() for secret in HIDDEN_TEXTS[:3]), "the key's page"


# --- unlisted ---------------------------------------------------------------------------------------------------


def test_an_unlisted_program_needs_its_token_and_its_links_keep_it(page: Page, visit: Visit, stack: Stack) -> None:
    visit(BACKROOM, status=401)
    expect(page.get_by_role("heading", level=1)).to_have_text("This board needs its link")
    assert_inert(page)
    assert stack.call("GET", f"{BACKROOM}/board.json", key="")[0] == 401
    token = stack.read_token("backroom")
    visit(f"{BACKROOM}?t={token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Back Room")
    assert stack.call("GET", f"{BACKROOM}/board.json?t={token}", key="")[0] == 200

    def assert_links_keep_it() -> None:
        links = page.eval_on_selector_all(
            "a[href]", "as => as.map(a => a.getAttribute('href')).filter(h => h.startsWith('/p/'))"
        )
        assert links, page.url
        lost = [h for h in links if f"t={token}" not in h]
        assert not lost, f"links of {page.url} without the token: {lost}"
        kept = page.eval_on_selector_all("form[method=get] input[name=t]", "i => i.map(x => x.value)")
        assert kept and set(kept) == {token}, kept

    assert_links_keep_it()
    expect(page.get_by_text(f'data-board="program" data-t="{token}"')).to_be_visible()  # the embed snippet
    for name in ("Upstairs", "Attic", "Ula Unlisted"):
        page.get_by_role("link", name=name, exact=True).first.click()
        expect(page).to_have_url(re.compile(rf"[?&]t={re.escape(token)}"))
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        if name != "Ula Unlisted":
            assert_links_keep_it()
    page.get_by_role("link", name="Everyone").click()
    page.get_by_label("Period").select_option(index=0)  # this period: the only one with standings
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"\?t={re.escape(token)}&period="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Everyone in Back Room")
    # The TV and the widget too: 401 without the token; with it, the board JSON they poll carries it.
    for path in ("tv", "widget"):
        assert stack.call("GET", f"{BACKROOM}/{path}", key="")[0] == 401
        status, _, body = stack.call("GET", f"{BACKROOM}/{path}?t={token}", key="")
        assert status == 200 and f"board.json?t={token}" in body.decode(), path
