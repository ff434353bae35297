"""Every page of the demo program, rendered by the boards function on the in-memory ports after the cascade has
run, checked against `podium score` on the same files: ranks, names, points, per-metric columns, headcounts,
contributions; and what a public audience must not see (hidden metrics, opted-out participants) absent from the
HTML and the JSON, while an API key still sees it. Seconds, not minutes: the same pages run on DynamoDB Local in
the browser tests."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from demo_program import EXAMPLE, ORG, PAGES, PROGRAM, Demo, build_demo

from podium.api.pages import number
from podium.domain.roster import OptOut
from podium.services.auth import program_token
from podium.services.ports import Scope, StoredSubmission
from podium_cli.memory import MemoryStream


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo for the tests that only read it (the cascade over 230 participants takes a few seconds)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_demo(tmp_path_factory.mktemp("demo"), monkeypatch)


# --- reading a page ---------------------------------------------------------------------------------------------

ROW = re.compile(r"<tr[^>]*data-id=\"([^\"]*)\"[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def text(fragment: str) -> str:
    return html.unescape(TAG.sub(" ", fragment)).split()


def rows(page: str) -> list[tuple[str, list[list[str]]]]:
    """Each board row: its data-id and its cells' words."""
    return [(html.unescape(rid), [text(c) for c in CELL.findall(body)]) for rid, body in ROW.findall(page)]


def expected_rows(board: dict[str, Any], metrics: list[str], *, headcount: bool) -> list[tuple[str, list[str]]]:
    out = []
    for s in board["standings"]:
        cells = [str(s["rank"]), s["name"]]
        if headcount:
            cells.append(str(s["headcount"]))
        cells.append(number(s["points"]))
        for key in metrics:
            m = s["metrics"][key]
            cells += [number(m["value"]), f"{number(m['points'])}"]
        out.append((s["id"], cells))
    return out


def words(cells: list[list[str]], skip_adds: bool = False) -> list[str]:
    flat = []
    for cell in cells:
        flat += [w for w in cell if w not in ("pts", "adds") and not w.startswith(("▲", "▼"))]
    return flat


METRICS = [m["key"] for m in yaml.safe_load((EXAMPLE / "program.yaml").read_text())["metrics"]]


@pytest.mark.parametrize(
    ("path", "board", "headcount"),
    [
        (PAGES, "program", True),
        (f"{PAGES}/division/mid-west", "division:mid-west", True),
        (f"{PAGES}/division/south-east", "division:south-east", True),
    ],
)
def test_group_boards_show_what_podium_score_computes(demo: Demo, path: str, board: str, headcount: bool) -> None:
    reply = demo.get(path)
    assert reply.status == 200, reply.body[:300]
    page = reply.body.decode()
    want = demo.score(board)
    got = rows(page)
    assert [rid for rid, _ in got] == [s["id"] for s in want["standings"]]
    for (rid, cells), (_, expected) in zip(got, expected_rows(want, METRICS, headcount=headcount), strict=True):
        flat = words(cells)
        # A team or division name may be several words; compare name words as one string.
        name_words = len(expected[1].split())
        assert flat[0] == expected[0], rid
        assert " ".join(flat[1 : 1 + name_words]) == expected[1], rid
        assert flat[1 + name_words :] == expected[2:], rid
    # Every column says how the metric rolls up.
    assert "average per member" in page and "sum" in page


def test_the_team_board_shows_each_members_contribution_adding_up_to_the_teams_points(demo: Demo) -> None:
    page = demo.get(f"{PAGES}/team/chicago").body.decode()
    want = demo.score("team:chicago")
    division = {s["id"]: s for s in demo.score("division:mid-west")["standings"]}
    got = rows(page)
    assert [rid for rid, _ in got] == [s["id"] for s in want["standings"]]
    adds = []
    for (rid, cells), s in zip(got, want["standings"], strict=True):
        assert " ".join(cells[1]) == s["name"]
        assert cells[2] == [number(s["points"])]
        adds.append(float(cells[3][0].replace(",", "")))
        for i, key in enumerate(METRICS):
            assert cells[4 + i][0] == number(s["metrics"][key]["value"]), (rid, key)
    # What the members add is the team's score on its division board (to the rounding of each share).
    assert sum(adds) == pytest.approx(division["chicago"]["points"], abs=0.01 * len(adds))
    assert "Mid-West" in page  # the way back up: program › division › team


def test_everyone_is_paginated_and_find_me_jumps_to_the_page_with_the_participant(demo: Demo) -> None:
    want = demo.score("participants")["standings"]
    first = rows(demo.get(f"{PAGES}/everyone").body.decode())
    assert [rid for rid, _ in first] == [s["id"] for s in want[:50]]
    target = want[123]
    page = demo.get(f"{PAGES}/everyone", query=f"find={target['name'].split()[-1]}").body.decode()
    assert 'class="mine"' in page
    mine = re.search(r'<tr class="mine"[^>]*data-id="([^"]+)"', page)
    assert mine is not None
    found = next(s for s in want if s["id"] == mine.group(1))
    assert target["name"].split()[-1] in found["name"]
    page3 = rows(demo.get(f"{PAGES}/everyone", query="page=3").body.decode())
    assert [rid for rid, _ in page3] == [s["id"] for s in want[100:150]]


def test_the_scorecard_shows_rank_points_neighbours_team_rank_and_history(demo: Demo) -> None:
    everyone = demo.score("participants")["standings"]
    me = everyone[40]
    page = demo.get(f"{PAGES}/participant/{me['id']}").body.decode()
    plain = " ".join(text(page))
    assert f"#{me['rank']} of {len(everyone)} in the program" in plain
    assert number(me["points"]) in plain
    for other in everyone[38:43]:
        assert html.escape(other["name"]) in page
    assert "<svg" in page and page.count("<rect") >= 1
    card = demo.get(f"/v1/programs/{PROGRAM}/participants/{me['id']}/scorecard", Authorization=f"Bearer {demo.key}")
    data = json.loads(card.body)
    assert data["standing"]["rank"] == me["rank"] and [n["rank"] for n in data["neighbours"]] == [
        s["rank"] for s in everyone[38:43]
    ]
    team = demo.score(f"team:{data['team']['id']}")["standings"]
    assert data["team"]["rank_in_team"] == next(s["rank"] for s in team if s["id"] == me["id"])


def test_every_page_answers_and_each_page_kind_reads_like_a_page(demo: Demo) -> None:
    for path, query in [
        ("/", ""),
        (f"/p/{ORG}", ""),
        (PAGES, ""),
        (f"{PAGES}/everyone", ""),
        (f"{PAGES}/division/mid-west", ""),
        (f"{PAGES}/team/chicago", ""),
        (f"{PAGES}/participant/rep-007", ""),
        (f"{PAGES}/tv", "boards=division:mid-west,program"),
        (f"{PAGES}/widget", "board=division:mid-west"),
        (f"{PAGES}/form", f"t={demo.submit_token}"),
    ]:
        reply = demo.get(path, query)
        assert reply.status == 200, (path, reply.body[:200])
        headers = {k.lower(): v for k, v in reply.headers.items()}
        assert headers["content-type"].startswith("text/html"), path
        assert "frame-ancestors" in headers["content-security-policy"], path
        assert headers.get("etag"), path
    api = json.loads(demo.get("/v1").body)
    assert api["openapi"] == "/v1/openapi.json"
    assert demo.get(f"{PAGES}/widget.js").status == 200


def test_an_unchanged_poll_is_a_304_and_a_new_score_changes_the_etag(demo: Demo) -> None:
    first = demo.get(f"{PAGES}/division/mid-west")
    etag = {k.lower(): v for k, v in first.headers.items()}["etag"]
    again = demo.get(f"{PAGES}/division/mid-west", **{"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    j = demo.get(f"{PAGES}/board.json", "board=division:mid-west")
    jtag = {k.lower(): v for k, v in j.headers.items()}["etag"]
    assert demo.get(f"{PAGES}/board.json", "board=division:mid-west", **{"If-None-Match": jtag}).status == 304


# --- who sees what ----------------------------------------------------------------------------------------------


def hide_and_opt_out(document: dict[str, Any], roster: str) -> tuple[dict[str, Any], str]:
    for metric in document["metrics"]:
        if metric["key"] == "revenue":
            metric["hidden"] = True
    lines = roster.splitlines()
    out = [lines[0] + ",opt_out"]
    for line in lines[1:]:
        pid = line.split(",")[0]
        out.append(line + ("," + {"rep-007": "anonymise", "rep-008": "hide"}.get(pid, "")))
    return document, "\n".join(out) + "\n"


def test_hidden_metrics_and_opted_out_participants_never_reach_the_public(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = build_demo(tmp_path, monkeypatch, tweak=hide_and_opt_out)
    people = {p.id: p for p in demo.table.list_participants(ORG, PROGRAM)}
    assert people["rep-007"].opt_out is OptOut.ANONYMISE and people["rep-008"].opt_out is OptOut.HIDE
    anonymised, hidden = people["rep-007"], people["rep-008"]
    team = people["rep-007"].team_id
    for path, query in [
        (f"{PAGES}/everyone", "page=1"),
        (f"{PAGES}/everyone", "page=2"),
        (f"{PAGES}/everyone", "page=3"),
        (f"{PAGES}/everyone", "page=4"),
        (f"{PAGES}/everyone", "page=5"),
        (f"{PAGES}/team/{team}", ""),
        (f"{PAGES}/team/{hidden.team_id}", ""),
        (f"{PAGES}/division/mid-west", ""),
        (PAGES, ""),
        (f"{PAGES}/board.json", "board=participants"),
        (f"{PAGES}/board.json", f"board=team:{team}"),
        (f"{PAGES}/tv", f"boards=team:{team}"),
        (f"{PAGES}/widget", f"board=team:{team}&rows=50"),
    ]:
        body = demo.get(path, query).body.decode()
        assert "Revenue" not in body and '"revenue"' not in body, path
        assert html.escape(anonymised.name) not in body and anonymised.name not in body, path
        assert hidden.name not in body and "rep-008" not in body, path
        assert '"rep-007"' not in body and "participant/rep-007" not in body, path
    team_page = demo.get(f"{PAGES}/team/{team}").body.decode()
    assert "Anonymous" in team_page and "not shown on this board" in team_page
    assert demo.get(f"{PAGES}/participant/rep-007").status == 404
    assert demo.get(f"{PAGES}/participant/rep-008").status == 404
    # The totals still hold the hidden metric and the hidden participant.
    want = demo.score(f"team:{team}")
    public = json.loads(demo.get(f"{PAGES}/board.json", f"board=division:{anonymised.division_id}").body)
    division = {s["id"]: s for s in demo.score(f"division:{anonymised.division_id}")["standings"]}
    assert {s["id"]: s["points"] for s in public["standings"]} == {k: v["points"] for k, v in division.items()}
    # An API key with read sees everything, as JSON and as pages.
    full = json.loads(demo.get(f"/v1/programs/{PROGRAM}/boards/team/{team}", Authorization=f"Bearer {demo.key}").body)
    assert full == {**want, "hidden_metrics": 0} or [s["id"] for s in full["standings"]] == [
        s["id"] for s in want["standings"]
    ]
    assert "revenue" in full["standings"][0]["metrics"] and "rep-007" in {s["id"] for s in full["standings"]}
    page = demo.get(f"{PAGES}/team/{team}", Authorization=f"Bearer {demo.key}").body.decode()
    assert anonymised.name in page and "Revenue" in page
    # A program read token is a public audience too.
    via_token = json.loads(
        demo.get(f"/v1/programs/{PROGRAM}/boards/team/{team}", Authorization=f"Bearer {demo.read_token}").body
    )
    assert "revenue" not in via_token["standings"][0]["metrics"] and via_token["hidden_metrics"] == 1


def test_unlisted_pages_need_their_read_token_and_keep_it_in_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = build_demo(tmp_path, monkeypatch, visibility="unlisted")
    refused = demo.get(PAGES)
    assert refused.status == 401 and b"needs its link" in refused.body
    assert demo.get(f"{PAGES}/board.json", "board=program").status == 401
    page = demo.get(PAGES, f"t={demo.read_token}").body.decode()
    assert f"division/mid-west?t={demo.read_token}" in page
    assert demo.get("/").body.decode().count(PROGRAM) == 0  # never listed
    # An API key in a URL is refused: logs and referrers would keep it.
    assert demo.get(PAGES, f"t={demo.key}").status == 401


def test_private_programs_answer_api_keys_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = build_demo(tmp_path, monkeypatch, visibility="private")
    assert demo.get(PAGES, f"t={demo.read_token}").status == 403
    assert demo.get(f"/v1/programs/{PROGRAM}/boards/program", Authorization=f"Bearer {demo.read_token}").status == 403
    assert demo.get(PAGES, Authorization=f"Bearer {demo.key}").status == 200


def test_another_organisations_token_finds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = build_demo(tmp_path, monkeypatch, visibility="unlisted")
    other, _ = program_token("other", PROGRAM, Scope.READ)
    assert demo.get(PAGES, f"t={other}").status in (401, 404)
    assert demo.get(f"/p/other/{PROGRAM}", f"t={demo.read_token}").status in (401, 404)


def test_the_form_needs_its_submit_token_and_lists_metrics_with_their_bounds(demo: Demo) -> None:
    assert demo.get(f"{PAGES}/form").status == 401
    assert demo.get(f"{PAGES}/form", f"t={demo.read_token}").status == 404
    page = demo.get(f"{PAGES}/form", f"t={demo.submit_token}").body.decode()
    for key in METRICS:
        assert f'name="{key}"' in page
    assert 'name="token"' in page and 'name="participant"' in page and 'min="0"' in page
    assert f'action="/v1/programs/{PROGRAM}/submissions"' in page


def test_an_unchanged_poll_reads_only_the_pulse_and_a_new_score_changes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = build_demo(tmp_path, monkeypatch)
    reads: list[str] = []
    for name in ("get_program", "list_participants", "division_teams", "divisions", "everyone", "team_standings"):
        original = getattr(demo.table, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            reads.append(_name)
            return _original(*args)

        monkeypatch.setattr(demo.table, name, counted)
    division = f"{PAGES}/division/mid-west"
    first = demo.get(division)
    tag = {k.lower(): v for k, v in first.headers.items()}["etag"]
    assert tag.startswith('W/"p') and reads  # drawn in full, tagged from the pulse
    for path, query in [(division, ""), (f"{PAGES}/board.json", "board=division:mid-west"), (f"{PAGES}/tv", "")]:
        reads.clear()
        polled = demo.get(path, query)
        ptag = {k.lower(): v for k, v in polled.headers.items()}["etag"]
        reads.clear()
        again = demo.get(path, query, **{"If-None-Match": ptag})
        assert again.status == 304 and reads == [], (path, reads)
    # A new score: the stream's batch touches the pulse, the same poll now gets the new board.
    from podium.domain.submissions import Submission

    chicago = next(p for p in demo.table.list_participants(ORG, PROGRAM) if p.team_id == "chicago")
    new = Submission("late-deal", chicago.id, demo.now - timedelta(minutes=5), {"deals_closed": 9})
    demo.table.put_submissions(ORG, PROGRAM, [StoredSubmission(new, "json", demo.now, "test")])
    MemoryStream(demo.table, lambda: demo.now).drain()
    fresh = demo.get(division, **{"If-None-Match": tag})
    assert fresh.status == 200 and {k.lower(): v for k, v in fresh.headers.items()}["etag"] != tag


def test_a_percent_encoded_path_reaches_the_page_decoded_as_api_gateway_hands_it_over(demo: Demo) -> None:
    assert demo.get(f"{PAGES}/participant/%72ep-007").status == 200  # %72 is r
    assert demo.get(f"{PAGES}/team/%63hicago").status == 200


def test_the_period_picker_offers_the_periods_that_have_standings(demo: Demo) -> None:
    page = demo.get(f"{PAGES}/division/mid-west").body.decode()
    options = re.findall(r'<option value="([^"]+)"', page)
    pulse = demo.table.get_pulse(ORG, PROGRAM)
    assert pulse is not None and pulse.periods
    assert options and set(options) <= set(pulse.periods) | {options[0]}
    assert len(options) < 8  # not every recent week: only those with scores
