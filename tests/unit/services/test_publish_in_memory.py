"""Bulletins of the demo program on the in-memory ports: digests whose numbers are `podium score`'s, no news and
no send twice, opt-outs and bounces, channels that fail, a run killed half-way, and scheduled slots made once."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from demo_program import ORG, PROGRAM, Demo, build_demo

from podium.adapters.digests import render_digest
from podium.adapters.mail import mime
from podium.domain.announcements import Announcement, Card, CardLink, Image
from podium.domain.boards import Board, BoardKind
from podium.domain.bulletins import BadgeKind, BulletinStatus, Snapshot, marks_of
from podium.domain.periods import parse_period, period_of_day
from podium.domain.program import ChannelConfig, Weekday
from podium.domain.submissions import Submission
from podium.domain.text import number
from podium.domain.tokens import BadToken
from podium.services.auth import Principal
from podium.services.boards import read_board, read_scorecard
from podium.services.ports import (
    BulletinState,
    ChannelFailed,
    Delivery,
    Email,
    MailRejected,
    Scope,
    SendState,
    StoredSubmission,
)
from podium.services.publish import Publisher, record_mail_events, scheduled_bulletin_id
from podium_cli.memory import MemoryBulletins, MemoryStream

KEY = b"k" * 32
CHANNELS = [
    {"name": "sales-slack", "kind": "slack", "secret": "/podium/test/slack"},
    {"name": "hook", "kind": "webhook", "secret": "/podium/test/hook", "url": "https://hooks.example.org/podium"},
]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception`."""


@dataclass
class FakeMailer:
    sent: list[Email] = field(default_factory=list)
    kill_before: int | None = None  # die handing over this message (counted from 1): it is in doubt
    kill_after: int | None = None  # die right after SES took this one
    refuse: set[str] = field(default_factory=set)
    calls: int = 0

    def send(self, message: Email) -> str:
        self.calls += 1
        if self.kill_before == self.calls:
            raise Killed
        if message.to in self.refuse:
            raise MailRejected("MessageRejected: Email address is not verified.")
        self.sent.append(message)
        if self.kill_after == self.calls:
            raise Killed
        return f"msg-{self.calls}"

    def max_send_rate(self) -> float:
        return 1e9


@dataclass
class FakeChannel:
    name: str
    posts: list[Announcement]
    fail: bool = False

    def post(self, announcement: Announcement) -> Delivery:
        if self.fail:
            raise ChannelFailed(self.name, "HTTP 500 after 5 attempts", attempts=5, status=500)
        self.posts.append(announcement)
        return Delivery(self.name, reference=f"post-{len(self.posts)}")


@dataclass
class World:
    demo: Demo
    bulletins: MemoryBulletins
    mailer: FakeMailer
    posts: dict[str, list[Announcement]]
    failing: set[str]
    clock: list[datetime]

    def publisher(self, **overrides: Any) -> Publisher:
        def channel_for(config: ChannelConfig) -> FakeChannel:
            return FakeChannel(config.name, self.posts.setdefault(config.name, []), config.name in self.failing)

        base = Publisher(
            store=self.demo.table,  # type: ignore[arg-type]
            standings=self.demo.table,
            bulletins=self.bulletins,
            mailer=self.mailer,
            channel_for=channel_for,  # type: ignore[arg-type]
            render_digest=render_digest,
            render_card=lambda card: Image(b"\x89PNG", f"{card.heading}: {len(card.rows)} rows"),
            signing_key=lambda: KEY,
            public_url="https://podium.example.org",
            sender="Podium <podium@example.org>",
            clock=lambda: self.clock[0],
            sleep=lambda s: None,
        )
        return replace(base, **overrides)

    def final(self, **overrides: Any) -> Any:
        return self.publisher(**overrides).make(ORG, PROGRAM, BulletinStatus.FINAL, "api", self.clock[0])

    def score(self, participant: str, points: float) -> None:
        """A new submission, through the stream, as the ingest function would write it."""
        at = self.clock[0] - timedelta(minutes=5)
        sub = Submission(f"late-{participant}-{points}", participant, at, {"deals_closed": points})
        self.demo.table.put_submissions(ORG, PROGRAM, [StoredSubmission(sub, "json", self.clock[0], "test")])
        MemoryStream(self.demo.table, lambda: self.clock[0]).drain()


def _with_channels(document: dict[str, Any], roster: str) -> tuple[dict[str, Any], str]:
    document = {**document, "bulletins": {"schedule": "MON 08:00", "channels": CHANNELS}}
    return document, roster


@pytest.fixture
def world(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    demo = build_demo(tmp_path, monkeypatch, tweak=_with_channels)
    yield World(demo, demo.bulletins, FakeMailer(), {}, set(), [demo.now])


def _parsed(message: Email) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(mime(message), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_a_final_bulletin_mails_everyone_their_own_numbers(world: World) -> None:
    made = world.final()
    assert made.state is BulletinState.SENT and made.news
    active = [p for p in world.demo.table.list_participants(ORG, PROGRAM) if p.active and p.email]
    assert sorted(m.to for m in world.mailer.sent) == sorted(p.email for p in active)
    assert made.summary["digests"]["sent"] == len(active)

    oracle = {s["id"]: s for s in world.demo.score("participants")["standings"]}
    of = len(oracle)
    by_address = {p.email: p.id for p in active}
    for message in world.mailer.sent:
        parsed = _parsed(message)
        assert parsed["List-Unsubscribe"].startswith("<https://podium.example.org/u/")
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = parsed.get_body(("plain",)).get_content()
        html = parsed.get_body(("html",)).get_content()
        want = oracle[by_address[message.to]]
        if want["points"] > 0:
            assert f"Rank: #{want['rank']} of {of}" in text, text
            assert f"Points: {number(want['points'])}" in text, text
            assert f"#{want['rank']}" in html
        assert want["name"].split()[0] in text

    # Both posts went out once, with the top of the board as the public sees it.
    assert [len(world.posts[c["name"]]) for c in CHANNELS] == [1, 1]
    post = world.posts["sales-slack"][0]
    top = world.demo.score("participants")["standings"][:10]
    assert [(r.rank, r.name) for r in post.rows] == [(s["rank"], s["name"]) for s in top]
    assert post.key.endswith("/sales-slack") and post.image is not None
    assert made.summary["posts"]["sales-slack"]["state"] == "sent"


def test_no_new_scores_sends_nothing_and_new_ones_send_again(world: World) -> None:
    world.final()
    sent = len(world.mailer.sent)
    world.clock[0] += timedelta(hours=1)
    quiet = world.final()
    assert quiet.state is BulletinState.QUIET and not quiet.news
    assert len(world.mailer.sent) == sent
    assert [len(world.posts[c["name"]]) for c in CHANNELS] == [1, 1]

    world.clock[0] += timedelta(hours=1)
    last = world.demo.score("participants")["standings"][-1]["id"]
    world.score(last, 40)  # 800 points of deals: to the top
    again = world.final()
    assert again.news and again.state is BulletinState.SENT
    assert len(world.mailer.sent) == 2 * sent
    # Compared with the first final bulletin, not the quiet one: the climber's movement is on their line.
    snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, again.id))
    line = snapshot.line(last)
    assert line is not None and line.rank == 1 and line.movement is not None and line.movement > 0
    assert any(b.kind == "rank" for b in line.badges)
    climber = world.posts["sales-slack"][-1]
    assert any("Biggest climb" in text for text in climber.lines)


def test_a_draft_sends_nothing_and_is_no_baseline(world: World) -> None:
    draft = world.publisher().make(ORG, PROGRAM, BulletinStatus.DRAFT, "api", world.clock[0])
    assert draft.state is BulletinState.DRAFT
    assert world.mailer.sent == [] and world.posts == {}
    assert world.bulletins.latest_final(ORG, PROGRAM) is None
    final = world.final()
    assert final.previous is None and final.state is BulletinState.SENT


def test_unsubscribing_stops_the_next_digest(world: World) -> None:
    world.final()
    first = world.mailer.sent[0]
    link = _parsed(first)["List-Unsubscribe"].strip("<>")
    token = link.rsplit("/", 1)[1]
    p = world.publisher()
    with pytest.raises(BadToken):
        p.unsubscribe(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), world.clock[0])
    with pytest.raises(BadToken, match="expired"):
        p.unsubscribe(token, world.clock[0] + timedelta(days=91))
    record, who = p.unsubscribe(token, world.clock[0])
    assert who is not None and who.email == first.to and record.id == PROGRAM

    world.clock[0] += timedelta(hours=1)
    world.score(world.demo.score("participants")["standings"][-1]["id"], 5)
    again = world.final()
    later = world.mailer.sent[len(world.mailer.sent) - again.summary["digests"]["sent"] :]
    assert first.to not in {m.to for m in later}
    assert again.summary["digests"]["opted_out"] == 1


def test_a_permanent_bounce_suppresses_the_address_and_a_transient_one_does_not(world: World) -> None:
    people = [p for p in world.demo.table.list_participants(ORG, PROGRAM) if p.active and p.email]
    hard, soft = people[0].email, people[1].email
    events = [
        {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": hard}]}},
        {"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": soft}]}},
        {"notificationType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": people[2].email}]}},
    ]
    assert record_mail_events(world.bulletins, events, world.clock[0]) == 2
    made = world.final()
    to = {m.to for m in world.mailer.sent}
    assert hard not in to and people[2].email not in to and soft in to
    assert made.summary["digests"]["suppressed"] == 2


def test_a_failing_channel_is_recorded_and_the_rest_still_go(world: World) -> None:
    world.failing.add("sales-slack")
    world.mailer.refuse.add(world.demo.table.list_participants(ORG, PROGRAM)[0].email)
    made = world.final()
    assert made.state is BulletinState.SENT
    assert made.summary["posts"]["sales-slack"] == {
        "kind": "slack",
        "state": "failed",
        "attempts": 5,
        "reason": "HTTP 500 after 5 attempts",
    }
    assert made.summary["posts"]["hook"]["state"] == "sent" and len(world.posts["hook"]) == 1
    assert made.summary["digests"]["failed"] == 1 and made.summary["digests"]["sent"] > 200
    # Resuming the bulletin posts nothing again, to either channel.
    world.failing.clear()
    world.publisher().deliver(made)
    assert world.posts.get("sales-slack", []) == [] and len(world.posts["hook"]) == 1


@pytest.mark.parametrize("where", ["kill_before", "kill_after"])
def test_a_run_killed_half_way_never_sends_anyone_two(world: World, where: str) -> None:
    setattr(world.mailer, where, 100)
    with pytest.raises(Killed):
        world.final()
    (bulletin,) = world.bulletins.list_bulletins(ORG, PROGRAM)
    assert bulletin.state is BulletinState.SENDING
    world.mailer.kill_before = world.mailer.kill_after = None
    [resumed] = world.publisher().run_schedule(world.clock[0])  # the next scheduled run resumes it
    assert resumed.id == bulletin.id and resumed.state is BulletinState.SENT
    to = [m.to for m in world.mailer.sent]
    assert len(to) == len(set(to)), "someone got two"
    active = {p.email for p in world.demo.table.list_participants(ORG, PROGRAM) if p.active and p.email}
    missing = active - set(to)
    sends = world.bulletins.sends(ORG, PROGRAM, bulletin.id)
    in_doubt = {k for k, s in sends.items() if s.state is SendState.CLAIMED}
    if where == "kill_after":  # SES took it before the kill: everyone has exactly one
        assert missing == set() and resumed.summary["digests"]["in_doubt"] == 1
    else:  # the one being handed over is in doubt, reported, and not sent again
        assert len(missing) == 1 and len(in_doubt) == 1 and resumed.summary["digests"]["in_doubt"] == 1
    assert resumed.summary["digests"]["sent"] + resumed.summary["digests"]["in_doubt"] == len(active)


def test_a_run_out_of_time_stops_between_sends_and_the_next_run_goes_on(world: World) -> None:
    left = iter([100.0] * 50 + [1.0] * 10_000)
    made = world.final(time_left=lambda: next(left), workers=1)
    assert made.state is BulletinState.SENDING and "paused" in made.summary
    sent = len(world.mailer.sent)
    assert 0 < sent < 100
    [done] = world.publisher().run_schedule(world.clock[0])
    assert done.state is BulletinState.SENT
    to = [m.to for m in world.mailer.sent]
    assert len(to) == len(set(to)) and done.summary["digests"].get("in_doubt", 0) == 0


def test_a_scheduled_slot_is_made_once(world: World) -> None:
    # The demo's week: the Monday 08:00 (Chicago) slot after its last score reports that week.
    now = world.clock[0].astimezone(UTC)
    monday = now + timedelta(days=(7 - now.weekday()) % 7 or 7)
    slot = datetime(monday.year, monday.month, monday.day, 14, 0, tzinfo=UTC)  # 08:00 CST
    program = world.demo.table.get_program(ORG, PROGRAM)
    assert program is not None
    world.clock[0] = slot + timedelta(minutes=3)
    first = world.publisher().run_schedule(slot + timedelta(minutes=3))
    assert [b.id for b in first] == [scheduled_bulletin_id(slot)]
    assert first[0].trigger == "schedule" and first[0].state is BulletinState.SENT
    assert first[0].period == world.demo.score("participants")["period"]
    sent = len(world.mailer.sent)
    assert world.publisher().run_schedule(slot + timedelta(minutes=8)) == []
    assert len(world.mailer.sent) == sent
    # Too late (past the grace): a slot missed by a long outage is not made hours after.
    assert world.publisher().run_schedule(slot + timedelta(days=1)) == []


def test_cards_show_the_public_board(world: World) -> None:
    cards: list[Card] = []

    def card(c: Card) -> Image:
        cards.append(c)
        return Image(b"", "")

    made = world.final(render_card=card)
    top, *divisions = cards
    assert top.program == "Q4 Sales Sprint" and top.heading == "Top 10" and len(top.rows) == 10
    assert top.period.startswith("week of ")
    assert top.footer == f"{made.created_at.day} {made.created_at:%b %Y} · Podium"  # the bulletin's day

    # Then each division's board of its teams, in the divisions' rank order, with each team's headcount.
    snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, made.id))
    assert len(snapshot.divisions) == 5
    assert [c.heading for c in divisions] == [f"{d.name} division" for d in snapshot.divisions]
    assert [d.rank for d in snapshot.divisions] == sorted(d.rank for d in snapshot.divisions)
    for division, drawn in zip(snapshot.divisions, divisions, strict=True):
        teams = snapshot.division_teams(division.id)
        assert [(r.rank, r.name, r.points, r.movement) for r in drawn.rows] == [
            (t.rank, t.name, t.points, t.movement) for t in teams[:10]
        ]
        assert [r.detail for r in drawn.rows] == [f"{t.headcount} participants" for t in teams[:10]]
        assert drawn.footer == top.footer and drawn.program == top.program and drawn.period == top.period


def test_a_post_carries_the_top_10_then_each_division_with_alt_text_and_a_signed_link(world: World) -> None:
    made = world.final()
    snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, made.id))
    (post,) = world.posts["sales-slack"]
    assert [i.board for i in post.images] == ["participants", *(f"division/{d.id}" for d in snapshot.divisions)]
    assert [i.title for i in post.images] == ["Top 10", *(f"{d.name} division" for d in snapshot.divisions)]
    assert post.image is post.images[0]
    assert all(i.alt and i.png for i in post.images)
    for image in post.images:
        # A link Slack and Teams fetch without a key: the card route, signed for this one card.
        base = f"https://podium.example.org/v1/programs/{PROGRAM}/bulletins/{made.id}/card.png?"
        assert image.url.startswith(base)
        query = parse_qs(image.url.removeprefix(base))
        assert query["board"] == [image.board]
        link = CardLink.read(KEY, query["link"][0], world.clock[0] + timedelta(days=399))
        assert link == CardLink(ORG, PROGRAM, made.id, image.board)
        with pytest.raises(BadToken, match="expired"):
            CardLink.read(KEY, query["link"][0], world.clock[0] + timedelta(days=401))
    assert post.data["cards"] == [{"board": i.board, "title": i.title, "url": i.url} for i in post.images]


def test_cards_are_capped_and_without_divisions_or_scores_only_the_top_10_is_drawn(world: World) -> None:
    made = world.final()
    snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, made.id))
    program = world.demo.table.get_program(ORG, PROGRAM)
    assert program is not None
    p = world.publisher()

    def boards(snap: Snapshot, **options: Any) -> list[str]:
        return [i.board for i in p.announcement(made, program.program, snap, None, **options).images]

    many = tuple(replace(d, id=f"d{i}", rank=i + 1) for i, d in enumerate(snapshot.divisions * 3))
    assert boards(replace(snapshot, divisions=many)) == ["participants", *(f"division/d{i}" for i in range(9))]
    flat = Snapshot(snapshot.period, snapshot.participants, tuple(replace(t, parent=None) for t in snapshot.teams))
    assert boards(flat) == ["participants"]
    nobody = Snapshot(snapshot.period, tuple(replace(line, scored=False) for line in snapshot.participants))
    assert boards(replace(nobody, teams=snapshot.teams, divisions=snapshot.divisions)) == ["participants"]
    # The card route draws the one it is asked for, any division's.
    last = f"division/{snapshot.divisions[-1].id}"
    assert boards(snapshot, boards=[last]) == [last]


def test_without_a_public_url_or_a_signing_key_cards_have_no_link(world: World) -> None:
    world.final(public_url="")
    assert all(i.url == "" and i.png for i in world.posts["sales-slack"][0].images)

    def no_key() -> bytes:
        raise RuntimeError("Secrets Manager is unreachable")

    world.clock[0] += timedelta(hours=1)
    world.score(world.demo.score("participants")["standings"][-1]["id"], 5)
    made = world.final(signing_key=no_key, sender="")  # no digests either: only the posts need the key here
    assert made.summary["posts"]["sales-slack"]["state"] == "sent"
    assert all(i.url == "" for i in world.posts["sales-slack"][-1].images)


# --- what the board pages show of the latest final bulletin --------------------------------------------------------

READER = Principal(ORG, frozenset({Scope.READ}), "test")


def _board(world: World, kind: BoardKind, ref: str | None = None, period: str | None = None) -> Board:
    return read_board(
        world.demo.table, world.demo.table, world.bulletins, READER, PROGRAM, kind, ref, period, world.clock[0]
    )


def test_boards_show_no_movement_before_any_final_bulletin(world: World) -> None:
    world.publisher().make(ORG, PROGRAM, BulletinStatus.DRAFT, "api", world.clock[0])  # a draft is no baseline
    board = _board(world, BoardKind.PARTICIPANTS)
    assert board.moved_since is None and {s.movement for s in board.standings} == {None}
    assert board.as_dict()["movement_since"] is None


def test_every_board_shows_movement_since_the_latest_final_bulletin(world: World) -> None:
    made = world.final()
    before = {(k, r): _board(world, k, r) for k, r in _boards(world)}
    # Right after it, nobody has moved since it, on any board.
    for board in before.values():
        assert board.moved_since == made.created_at
        assert {s.movement for s in board.standings} == {0}, board.ref

    last = before[BoardKind.PARTICIPANTS, None].standings[-1]
    world.clock[0] += timedelta(minutes=10)
    world.score(last.id, 500)  # from last to first
    everyone = _board(world, BoardKind.PARTICIPANTS)
    after = {s.id: s for s in everyone.standings}
    was = {s.id: s.rank for s in before[BoardKind.PARTICIPANTS, None].standings}
    assert after[last.id].rank == 1 and after[last.id].movement == last.rank - 1
    assert all(s.movement == was[s.id] - s.rank for s in everyone.standings)
    assert sum(1 for s in everyone.standings if (s.movement or 0) < 0) >= 1

    # The team board ranks the team's members: movement is in the team's ranks, not the program's.
    team = world.demo.table.get_participants(ORG, PROGRAM, [last.id])[0].team_id
    assert team is not None
    team_before = {s.id: s.rank for s in before[BoardKind.TEAM, team].standings}
    team_board = _board(world, BoardKind.TEAM, team)
    assert all(s.movement == team_before[s.id] - s.rank for s in team_board.standings)
    assert next(s for s in team_board.standings if s.id == last.id).movement == team_before[last.id] - 1

    # A board of a period before the bulletin's shows no movement: the bulletin is not "since" for it.
    reported = parse_period(made.period, Weekday.MONDAY)
    assert reported.first_day is not None
    earlier = period_of_day(reported.first_day - timedelta(days=1), reported.kind, Weekday.MONDAY)
    old = _board(world, BoardKind.PARTICIPANTS, period=earlier.key)
    assert old.moved_since is None and {s.movement for s in old.standings} <= {None}


def _boards(world: World) -> list[tuple[BoardKind, str | None]]:
    roster = world.demo.table.list_participants(ORG, PROGRAM)
    teams = sorted({p.team_id for p in roster if p.team_id})
    divisions = sorted({p.division_id for p in roster if p.division_id})
    return [
        (BoardKind.PROGRAM, None),
        (BoardKind.PARTICIPANTS, None),
        *((BoardKind.DIVISION, d) for d in divisions),
        *((BoardKind.TEAM, t) for t in teams),
    ]


def test_the_scorecard_shows_the_badges_of_the_latest_final_bulletin(world: World) -> None:
    world.final()
    last = _board(world, BoardKind.PARTICIPANTS).standings[-1]
    world.clock[0] += timedelta(minutes=10)
    world.score(last.id, 500)
    made = world.final()
    card = read_scorecard(
        world.demo.table, world.demo.table, world.bulletins, READER, PROGRAM, last.id, None, world.clock[0]
    )
    kinds = {b.kind for b in card.badges}
    assert BadgeKind.TOP_IMPROVER in kinds and BadgeKind.RANK in kinds, card.badges
    assert card.badges_at == made.created_at
    snapshot = Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, made.id))
    line = snapshot.line(last.id)
    assert line is not None and card.badges == line.badges
    assert card.as_dict()["badges"] == [b.as_dict() for b in line.badges]
    assert card.standing.movement == 0 and card.as_dict()["movement_since"] == made.created_at.isoformat()


def test_a_final_bulletin_changes_the_pages_etag(world: World) -> None:
    before = world.demo.table.get_pulse(ORG, PROGRAM)
    made = world.final()
    after = world.demo.table.get_pulse(ORG, PROGRAM)
    assert before is not None and after is not None
    assert after.changed == f"bulletin:{made.id}" != before.changed


def test_older_marks_never_replace_newer_ones(world: World) -> None:
    first = world.final()
    world.clock[0] += timedelta(minutes=10)
    world.score(_board(world, BoardKind.PARTICIPANTS).standings[-1].id, 500)
    second = world.final()
    older = marks_of(Snapshot.from_dict(world.bulletins.snapshot(ORG, PROGRAM, first.id)), first.id, first.created_at)
    assert not world.bulletins.write_marks(ORG, PROGRAM, older)
    kept = world.bulletins.read_marks(ORG, PROGRAM, ["participants"])
    assert kept["participants"].bulletin == second.id
