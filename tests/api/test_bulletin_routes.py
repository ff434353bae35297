"""The bulletin routes through the template's handlers, on moto and on DynamoDB Local: bad bodies are 400s with a
code, scopes are checked (a digest preview holds a fresh unsubscribe link: admin only), previews answer what a
final bulletin would send, and an unsubscribe link works once and only as signed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from test_admin import assert_error, make_key, put_program, put_roster

from conftest import PUBLIC_URL, Client

ROUTE = "/v1/programs/sprint/bulletins"


@pytest.fixture
def program(admin: Client) -> Client:
    put_program(admin)
    put_roster(admin)
    r = admin.call("POST", "/v1/programs/sprint/submissions", [{"participant": "ann", "values": {"calls": 4}}])
    assert r.status == 200, r.text
    return admin


def draft(admin: Client) -> dict[str, Any]:
    r = admin.call("POST", ROUTE, {"status": "draft"})
    assert r.status == 201, r.text
    assert r.headers["location"] == f"{ROUTE}/{r.json['id']}"
    return dict(r.json)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([], 400, "bad_request"),
        ({"status": "sent"}, 400, "invalid_status"),
        ({"status": "final", "colour": "red"}, 400, "bad_request"),
        ({"status": "draft", "period": "2026-W99"}, 400, None),
        ({"status": "draft", "period": "last week"}, 400, None),
    ],
)
def test_a_bad_body_is_a_400_with_a_code(program: Client, body: Any, status: int, code: str | None) -> None:
    error = assert_error(program.call("POST", ROUTE, body), status, code)
    assert error["message"]


def test_a_body_that_is_not_json_is_a_400(program: Client) -> None:
    assert_error(program.call("POST", ROUTE, "{nope", content_type="application/json"), 400)


def test_no_body_makes_a_draft_that_sends_nothing(program: Client) -> None:
    r = program.call("POST", ROUTE)
    assert r.status == 201, r.text
    assert (r.json["status"], r.json["state"]) == ("draft", "draft")
    listed = program.call("GET", ROUTE)
    assert [b["id"] for b in listed.json["bulletins"]] == [r.json["id"]]


def test_an_unknown_program_or_bulletin_is_a_404(program: Client) -> None:
    assert_error(program.call("POST", "/v1/programs/nope/bulletins", {"status": "draft"}), 404)
    assert_error(program.call("GET", f"{ROUTE}/20261204T000000Z-api-000000"), 404)
    made = draft(program)
    assert_error(program.call("GET", f"{ROUTE}/{made['id']}/digests/nobody"), 404)


def test_scopes(program: Client) -> None:
    read = make_key(program, "read")["key"]
    submit = make_key(program, "submit")["key"]
    made = draft(program)
    assert_error(program.call("POST", ROUTE, {"status": "final"}, key=read), 403, "forbidden")
    assert_error(program.call("POST", ROUTE, {"status": "final"}, key=submit), 403, "forbidden")
    assert program.call("GET", f"{ROUTE}/{made['id']}", key=read).status == 200
    assert program.call("GET", f"{ROUTE}/{made['id']}/post", key=read).status == 200
    assert_error(program.call("GET", f"{ROUTE}/{made['id']}/digests/ann", key=read), 403, "forbidden")


def test_the_previews_show_what_would_be_sent(program: Client, stream: Any) -> None:
    stream.drain()  # the standings the bulletin reads
    made = draft(program)
    post = program.call("GET", f"{ROUTE}/{made['id']}/post")
    assert post.status == 200 and "Ann" in post.json["text"], post.text
    card = program.call("GET", f"{ROUTE}/{made['id']}/card.png")
    assert card.status == 200 and card.headers["content-type"] == "image/png"
    assert bytes(card.raw.body).startswith(b"\x89PNG\r\n\x1a\n")
    html = program.call("GET", f"{ROUTE}/{made['id']}/digests/ann")
    assert html.status == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["x-digest-subject"].startswith("Sprint")
    text = program.call("GET", f"{ROUTE}/{made['id']}/digests/ann", query="format=text")
    assert text.headers["content-type"].startswith("text/plain")
    assert "Rank: #1 of 3" in text.text and "Points: 4" in text.text, text.text
    assert f"{PUBLIC_URL}/u/" in text.text


def test_an_unsubscribe_link_asks_then_stops_and_a_changed_one_is_refused(program: Client) -> None:
    made = draft(program)
    text = program.call("GET", f"{ROUTE}/{made['id']}/digests/ann", query="format=text").text
    found = re.search(r"/u/(\S+)", text)
    assert found is not None, text
    token = found.group(1)

    page = program.call("GET", f"/u/{token}", key="")
    assert page.status == 200 and "<form" in page.text and "Sprint" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"

    done = program.call("POST", f"/u/{token}", "confirm=stop", key="", content_type="application/x-www-form-urlencoded")
    assert done.status == 200 and "<form" not in done.text, done.text
    again = program.call(
        "POST", f"/u/{token}", "List-Unsubscribe=One-Click", key="", content_type="application/x-www-form-urlencoded"
    )
    assert (again.status, again.text) == (200, "unsubscribed\n")  # the same again changes nothing, and says so

    changed = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = program.call(
        "POST", f"/u/{changed}", "List-Unsubscribe=One-Click", key="", content_type="application/x-www-form-urlencoded"
    )
    assert_error(bad, 400, "bad_token")
    page = program.call("GET", f"/u/{changed}", key="")
    assert page.status == 400 and "text/html" in page.headers["content-type"]


def test_boards_and_scorecards_show_movement_and_badges_since_the_final_bulletin(program: Client, stream: Any) -> None:
    r = program.call("POST", "/v1/programs/sprint/submissions", [{"participant": "bob", "values": {"calls": 2}}])
    assert r.status == 200, r.text
    stream.drain()
    board = program.call("GET", "/v1/programs/sprint/boards/participants").json
    assert board["movement_since"] is None and {s["movement"] for s in board["standings"]} == {None}

    made = program.call("POST", ROUTE, {"status": "final"})
    assert made.status in (201, 202), made.text
    board = program.call("GET", "/v1/programs/sprint/boards/participants").json
    assert board["movement_since"] == made.json["created_at"]
    assert [(s["id"], s["movement"]) for s in board["standings"]] == [("ann", 0), ("bob", 0), ("cat", 0)]

    # Cat scores past both: up two places since the bulletin, and the others down one.
    r = program.call("POST", "/v1/programs/sprint/submissions", [{"participant": "cat", "values": {"deals": 1}}])
    assert r.status == 200, r.text
    stream.drain()
    board = program.call("GET", "/v1/programs/sprint/boards/participants").json
    assert [(s["id"], s["movement"]) for s in board["standings"]] == [("cat", 2), ("ann", -1), ("bob", -1)]
    team = program.call("GET", "/v1/programs/sprint/boards/team/red").json
    assert [(s["id"], s["movement"]) for s in team["standings"]] == [("cat", 1), ("ann", -1)]
    page = program.call("GET", "/p/acme/sprint/everyone")
    assert page.status == 200 and "places moved since the bulletin of" in page.text
    assert 'title="up 2 since the bulletin of' in page.text

    # The first bulletin's badges are on the scorecard, as its digest told them.
    card = program.call("GET", "/v1/programs/sprint/participants/ann/scorecard").json
    assert card["badges_at"] == made.json["created_at"]
    assert {"kind": "rank", "text": "Reached first place"} in card["badges"]
    html = program.call("GET", "/p/acme/sprint/participant/ann")
    assert "Reached first place" in html.text and "Earned at the bulletin of" in html.text


def test_each_card_opens_with_a_key_or_with_the_signed_link_its_post_names(program: Client, stream: Any) -> None:
    stream.drain()
    made = draft(program)
    post = program.call("GET", f"{ROUTE}/{made['id']}/post").json
    boards = [i["board"] for i in post["images"]]
    assert len(boards) == 2 and boards[0] == "participants" and boards[1].startswith("division/"), post["images"]
    assert [i["title"] for i in post["images"]] == ["Top 10", "North division"]
    path = f"{ROUTE}/{made['id']}/card.png"
    pngs = []
    for image in post["images"]:
        assert image["alt"].startswith("Leaderboard for Sprint")
        linked_path, _, query = image["url"].removeprefix(PUBLIC_URL).partition("?")
        assert linked_path == path
        keyed = program.call("GET", path, query=urlencode({"board": image["board"]}))
        linked = program.call("GET", path, query=query, key="")  # as Slack fetches it: no key
        assert keyed.status == linked.status == 200, linked.text
        assert linked.headers["content-type"] == "image/png"
        assert linked.headers["cache-control"] == keyed.headers["cache-control"] == "private, max-age=300"
        assert bytes(linked.raw.body) == bytes(keyed.raw.body)
        assert bytes(linked.raw.body).startswith(b"\x89PNG\r\n\x1a\n")
        pngs.append(bytes(keyed.raw.body))
    assert pngs[0] != pngs[1]
    assert bytes(program.call("GET", path).raw.body) == pngs[0]  # no board: the top 10

    top_link = parse_qs(post["images"][0]["url"].partition("?")[2])["link"][0]
    other = urlencode({"board": boards[1], "link": top_link})
    assert_error(program.call("GET", path, query=other, key=""), 401, "unauthenticated")  # one link, one card
    changed = urlencode(
        {"board": boards[0], "link": top_link[:-3] + ("AAA" if not top_link.endswith("AAA") else "BBB")}
    )
    assert_error(program.call("GET", path, query=changed, key=""), 401, "unauthenticated")
    assert_error(program.call("GET", path, query="board=division/north", key=""), 401, "unauthenticated")
    assert_error(program.call("GET", path, query="board=team/red"), 400)
    assert_error(program.call("GET", path, query="board=division/nowhere"), 404)
