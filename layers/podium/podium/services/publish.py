"""Bulletins: made on a program's schedule or on demand, stored once, then sent (a digest to each participant, a
post to each channel).

Every send is claimed (a conditional write) before it is made and recorded after, so no run, however it ends,
sends anything twice: a run that dies leaves at most its in-flight sends "in doubt" (claimed, never confirmed),
which are reported on the bulletin and never repeated. A run that runs out of time stops between sends and
leaves the bulletin `sending`; the next scheduled run resumes it from the claims.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from podium.domain.announcements import (
    DIVISION_CARDS,
    PARTICIPANTS_BOARD,
    Announcement,
    Card,
    CardLink,
    CardRow,
    Image,
    division_board,
)
from podium.domain.boards import Scorebook
from podium.domain.bulletins import (
    BulletinStatus,
    Digest,
    Line,
    Snapshot,
    address_hash,
    changes,
    digest_of,
    due_slot,
    format_points,
    mail_key,
    marks_of,
    period_name,
    post_key,
    public_name,
    reported_period,
    snapshot_of,
)
from podium.domain.errors import NotFound
from podium.domain.periods import end_instant, parse_period
from podium.domain.program import ChannelConfig, Program, Visibility
from podium.domain.roster import Participant, roster_as_of
from podium.domain.tokens import BadToken, sign, verify
from podium.services.boards import board_period
from podium.services.ports import (
    BulletinRecord,
    Bulletins,
    BulletinState,
    Channel,
    ChannelFailed,
    Email,
    Mailer,
    MailRejected,
    ProgramRecord,
    Send,
    SendState,
    StandingsReader,
    Store,
)
from podium.services.programs import find_program

UNSUBSCRIBE = "unsubscribe"
UNSUBSCRIBE_FOR = timedelta(days=90)
# A scheduled slot is made up to this long after its time (a run missed by an outage), never later.
SCHEDULE_GRACE = timedelta(hours=6)
STOP_BEFORE = 20.0  # seconds left in the run when it stops sending and leaves the rest to the next run
THROTTLE_RETRIES = 3
CARD_ROWS = 10


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class DigestLinks:
    board: str  # the program's board
    scorecard: str  # the participant's scorecard
    unsubscribe: str  # the page that confirms an unsubscribe; a POST to it (RFC 8058 one-click) unsubscribes


def digest_message(
    rendered: RenderedDigest, links: DigestLinks, *, to: str, sender: str, tags: dict[str, str]
) -> Email:
    """A rendered digest as the email SES is handed: its parts and RFC 8058's one-click unsubscribe headers."""
    return Email(
        to=to,
        sender=sender,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        headers={
            "List-Unsubscribe": f"<{links.unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        tags=tags,
    )


class RateLimiter:
    """At most `rate` acquisitions a second, across threads (SES's send rate is per second, per account)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 and math.isfinite(rate) else 0.0
        self.clock, self.sleep = clock, sleep
        self.next = clock()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            at = max(self.next, now)
            self.next = at + self.interval
        if at > now:
            self.sleep(at - now)


@dataclass
class Publisher:
    store: Store
    standings: StandingsReader
    bulletins: Bulletins
    mailer: Mailer | None
    channel_for: Callable[[ChannelConfig], Channel]
    render_digest: Callable[[Digest, DigestLinks], RenderedDigest]
    render_card: Callable[[Card], Image]
    signing_key: Callable[[], bytes]
    public_url: str = ""  # where the pages are: links in emails and posts
    sender: str = ""  # the verified From address; without one no digest is sent
    workers: int = 4
    time_left: Callable[[], float] = field(default=lambda: math.inf)  # seconds left in this run
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # --- making a bulletin ------------------------------------------------------------------------------------

    def make(
        self,
        org: str,
        program_id: str,
        status: BulletinStatus,
        trigger: str,
        at: datetime,
        *,
        bulletin_id: str | None = None,
        period_key: str | None = None,
    ) -> BulletinRecord:
        """Make a bulletin of the program's boards at `at` and, if it is final, send it. A bulletin with
        `bulletin_id` already made is not made again: it is returned (and resumed if it was still sending)."""
        record = find_program(self.store, org, program_id)
        if bulletin_id is not None and (existing := self.bulletins.get_bulletin(org, program_id, bulletin_id)):
            return self.deliver(existing) if existing.state is BulletinState.SENDING else existing
        program = record.program
        period = board_period(program, period_key, at) if period_key else reported_period(program, at)
        previous = self.bulletins.latest_final(org, program_id)
        before = self._snapshot(previous)
        snapshot = snapshot_of(self._scorebook(org, record, period), before, program.bulletins)
        news = snapshot.has_scores and (previous is None or snapshot.fingerprint != previous.fingerprint)
        if status is BulletinStatus.DRAFT:
            state = BulletinState.DRAFT
        elif news or (program.bulletins.quiet_post and program.bulletins.channels):
            state = BulletinState.SENDING
        else:
            state = BulletinState.QUIET
        now = self.clock()
        bulletin = BulletinRecord(
            org=org,
            program=program_id,
            id=bulletin_id or new_bulletin_id(now, trigger),
            status=status.value,
            state=state,
            period=period.key,
            created_at=now,
            trigger=trigger,
            fingerprint=snapshot.fingerprint,
            previous=previous.id if previous else None,
            news=news,
            summary={} if state is not BulletinState.QUIET else {"quiet": "no new scores since the last bulletin"},
            finished_at=now if state is BulletinState.QUIET else None,
        )
        if not self.bulletins.create_bulletin(bulletin, snapshot.as_dict()):
            existing = self.bulletins.get_bulletin(org, program_id, bulletin.id)
            if existing is None:  # pragma: no cover - created and gone between two consistent reads
                raise NotFound(f"no bulletin {bulletin.id!r}")
            bulletin = existing
        return self.deliver(bulletin) if bulletin.state is BulletinState.SENDING else bulletin

    def _scorebook(self, org: str, record: ProgramRecord, period: Any) -> Scorebook:
        program = record.program
        roster = roster_as_of(self.store.list_participants(org, program.id), end_instant(period, program.tz))
        values = {s.participant: s.values for s in self.standings.everyone(org, program.id, period.key)}
        return Scorebook(program, roster, period, values)

    def _snapshot(self, bulletin: BulletinRecord | None) -> Snapshot | None:
        return None if bulletin is None else self._load(bulletin)

    def _load(self, bulletin: BulletinRecord) -> Snapshot:
        return Snapshot.from_dict(self.bulletins.snapshot(bulletin.org, bulletin.program, bulletin.id))

    # --- sending ------------------------------------------------------------------------------------------------

    def deliver(self, bulletin: BulletinRecord) -> BulletinRecord:
        """Send what a final bulletin has not sent yet: its posts, then its digests (news only)."""
        org, program_id = bulletin.org, bulletin.program
        program = find_program(self.store, org, program_id).program
        snapshot = self._load(bulletin)
        previous = None  # the post's climbers are against it; digests carry their own movement
        if bulletin.previous and program.bulletins.channels:
            previous = self._snapshot(self.bulletins.get_bulletin(org, program_id, bulletin.previous))
        done = self.bulletins.sends(org, program_id, bulletin.id)
        if not done and bulletin.news:  # its first run: from now on the board pages show movement since it
            self._keep_marks(bulletin, snapshot)
        posts = self._post_all(bulletin, program, snapshot, previous, done)
        digests, finished = self._mail_all(bulletin, program, snapshot, done)
        summary = {**bulletin.summary, "posts": posts, "digests": digests}
        if finished:
            state = BulletinState.SENT if bulletin.news else BulletinState.QUIET
            bulletin = replace(bulletin, state=state, summary=summary, finished_at=self.clock())
        else:
            bulletin = replace(bulletin, summary={**summary, "paused": "out of time; the next run goes on"})
        self.bulletins.update_bulletin(bulletin)
        return bulletin

    def _keep_marks(self, bulletin: BulletinRecord, snapshot: Snapshot) -> None:
        marks = marks_of(snapshot, bulletin.id, bulletin.created_at)
        if self.bulletins.write_marks(bulletin.org, bulletin.program, marks):
            self.store.touch_pulse(bulletin.org, bulletin.program, f"bulletin:{bulletin.id}")

    def _post_all(
        self,
        bulletin: BulletinRecord,
        program: Program,
        snapshot: Snapshot,
        previous: Snapshot | None,
        done: dict[str, Send],
    ) -> dict[str, dict[str, Any]]:
        outcomes: dict[str, dict[str, Any]] = {}
        made: Announcement | None = None
        for config in program.bulletins.channels:
            key = post_key(config.name)
            send = done.get(key)
            if send is None and self.bulletins.claim_send(
                bulletin.org, bulletin.program, bulletin.id, key, self.clock()
            ):
                if made is None:
                    made = self.announcement(bulletin, program, snapshot, previous)
                send = self._post(
                    config, replace(made, key=f"{bulletin.org}/{bulletin.program}/{bulletin.id}/{config.name}"), key
                )
                self.bulletins.record_send(bulletin.org, bulletin.program, bulletin.id, send)
            elif send is None:  # another run claimed it a moment ago
                send = Send(key, SendState.CLAIMED, self.clock())
            outcomes[config.name] = _outcome(config.kind.value, send)
        return outcomes

    def _post(self, config: ChannelConfig, announcement: Announcement, key: str) -> Send:
        try:
            delivery = self.channel_for(config).post(announcement)
        except ChannelFailed as failure:
            return Send(key, SendState.FAILED, self.clock(), reason=failure.reason, attempts=failure.attempts)
        except Exception as error:  # a bug in one adapter must not stop the other channels or the digests
            return Send(key, SendState.FAILED, self.clock(), reason=f"unexpected error: {error!r}", attempts=1)
        return Send(key, SendState.SENT, self.clock(), reference=delivery.reference, attempts=delivery.attempts)

    def _mail_all(
        self, bulletin: BulletinRecord, program: Program, snapshot: Snapshot, done: dict[str, Send]
    ) -> tuple[dict[str, Any], bool]:
        if not bulletin.news:
            return {"skipped": "no new scores"}, True
        if not program.bulletins.digests:
            return {"skipped": "the program sends no digests (bulletins.digests: false)"}, True
        if self.mailer is None or not self.sender:
            return {"skipped": "no sender address is configured (the SenderAddress parameter)"}, True
        counts: Counter[str] = Counter()
        for send in done.values():
            if send.key.startswith("mail:"):
                counts["in_doubt" if send.state is SendState.CLAIMED else send.state.value] += 1
        roster = {p.id: p for p in self.store.list_participants(bulletin.org, bulletin.program)}
        opted_out = self.bulletins.mail_opt_outs(bulletin.org, bulletin.program)
        suppressed = self.bulletins.suppressed_addresses()
        todo: list[tuple[Line, Participant]] = []
        for line in snapshot.participants:
            who = roster.get(line.id)
            if mail_key(line.id) in done:
                continue
            if who is None or not who.active or not who.email:
                counts["no_address"] += 1
            elif line.id in opted_out:
                counts["opted_out"] += 1
            elif address_hash(who.email) in suppressed:
                counts["suppressed"] += 1
            else:
                todo.append((line, who))
        mailer = self.mailer
        self.signing_key()  # read once, before anything is claimed: without it no digest can be made
        limiter = RateLimiter(mailer.max_send_rate(), sleep=self.sleep)
        lock = threading.Lock()
        stopped = threading.Event()
        period = period_name(parse_period(snapshot.period, program.week_start))

        def send_one(item: tuple[Line, Participant]) -> None:
            if stopped.is_set() or self.time_left() < STOP_BEFORE:
                stopped.set()
                return
            line, who = item
            # Made before the claim: a digest that cannot be made is not left claimed, which would say "in doubt".
            email = self.digest_email(bulletin, program, snapshot, line, who, period)
            if not self.bulletins.claim_send(
                bulletin.org, bulletin.program, bulletin.id, mail_key(line.id), self.clock()
            ):
                return
            send = self._mail(mail_key(line.id), email, limiter, mailer)
            self.bulletins.record_send(bulletin.org, bulletin.program, bulletin.id, send)
            with lock:
                counts[send.state.value] += 1

        workers = max(1, min(self.workers, len(todo)))
        if workers == 1:
            for item in todo:
                send_one(item)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="digest") as pool:
                list(pool.map(send_one, todo))
        return {"sent": 0, **dict(sorted(counts.items()))}, not stopped.is_set()

    def _mail(self, key: str, email: Email, limiter: RateLimiter, mailer: Mailer) -> Send:
        for attempt in range(1, THROTTLE_RETRIES + 2):
            limiter.acquire()
            try:
                message_id = mailer.send(email)
            except MailRejected as rejected:
                if rejected.throttled and attempt <= THROTTLE_RETRIES:
                    self.sleep(float(2**attempt))
                    continue
                return Send(key, SendState.FAILED, self.clock(), reason=rejected.reason, attempts=attempt)
            return Send(key, SendState.SENT, self.clock(), reference=message_id, attempts=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def digest_email(
        self,
        bulletin: BulletinRecord,
        program: Program,
        snapshot: Snapshot,
        line: Line,
        who: Participant,
        period: str,
    ) -> Email:
        digest = digest_of(snapshot, program, line, period)
        links = self.digest_links(bulletin.org, program, line.id)
        tags = {"program": _tag(program.id), "bulletin": _tag(bulletin.id)}
        return digest_message(self.render_digest(digest, links), links, to=who.email, sender=self.sender, tags=tags)

    def digest_links(self, org: str, program: Program, participant: str) -> DigestLinks:
        root = f"{self.public_url}/p/{quote(org, safe='')}/{quote(program.id, safe='')}"
        token = sign(self.signing_key(), UNSUBSCRIBE, [org, program.id, participant], self.clock() + UNSUBSCRIBE_FOR)
        return DigestLinks(
            board=root,
            scorecard=f"{root}/participant/{quote(participant, safe='')}",
            unsubscribe=f"{self.public_url}/u/{token}",
        )

    # --- what a post says ---------------------------------------------------------------------------------------

    def announcement(
        self,
        bulletin: BulletinRecord,
        program: Program,
        snapshot: Snapshot,
        previous: Snapshot | None,
        *,
        boards: Iterable[str] | None = None,
    ) -> Announcement:
        """What the bulletin posts. Its cards: the top 10, then (once anyone has scored) the first DIVISION_CARDS
        division boards in rank order; with `boards`, only the cards of those boards ("participants",
        "division/<id>", any division), as the card route draws them."""
        period = period_name(parse_period(snapshot.period, program.week_start))
        shown = [(p, name) for p in snapshot.participants if p.scored and (name := public_name(p)) is not None]
        rows = tuple(
            CardRow(p.rank, name, p.points, p.movement, _team_name(snapshot, p)) for p, name in shown[:CARD_ROWS]
        )
        lines: list[str] = []
        if not bulletin.news:
            headline = "No new scores since the last bulletin"
            if rows:
                lines.append(f"{rows[0].name} still leads with {format_points(rows[0].points)} points")
        elif not rows:
            headline = "No scores yet"
        else:
            headline = f"{rows[0].name} leads with {format_points(rows[0].points)} points"
            if snapshot.divisions:
                top = snapshot.divisions[0]
                headline = f"{top.name} leads the program; {rows[0].name} is first overall"
            told = changes(snapshot, previous)
            for climber in told.climbers[:1]:
                if (name := public_name(climber)) is not None:
                    lines.append(f"Biggest climb: {name}, up {climber.movement} places to #{climber.rank}")
            if told.newcomers:
                n = len(told.newcomers)
                lines.append(f"{n} new on the board" if n > 1 else "1 newcomer on the board")
        # The bulletin's day, not today's: a card drawn again later (the card route) is the same picture.
        footer = _footer(bulletin.created_at)
        cards = [(PARTICIPANTS_BOARD, Card(program.name, period, "Top 10", rows, footer=footer))]
        cards += _division_cards(program.name, period, snapshot, footer)
        if boards is not None:
            wanted = set(boards)
            cards = [(board, card) for board, card in cards if board in wanted]
        else:
            cards = cards[: 1 + DIVISION_CARDS] if rows else cards[:1]
        link = _card_links(self.public_url, self.signing_key, bulletin)
        images = tuple(
            replace(self.render_card(card), board=board, title=card.heading, url=link(board)) for board, card in cards
        )
        url = ""
        if program.visibility is Visibility.PUBLIC and self.public_url:
            url = f"{self.public_url}/p/{quote(bulletin.org, safe='')}/{quote(program.id, safe='')}"
        return Announcement(
            key=f"{bulletin.org}/{bulletin.program}/{bulletin.id}",
            program=program.name,
            period=period,
            headline=headline,
            lines=tuple(lines),
            rows=rows,
            url=url,
            images=images,
            data={
                "bulletin": bulletin.id,
                "program": program.id,
                "period": snapshot.period,
                "news": bulletin.news,
                "top": [{"rank": r.rank, "name": r.name, "points": r.points, "movement": r.movement} for r in rows],
                "cards": [{"board": i.board, "title": i.title, "url": i.url} for i in images],
            },
        )

    # --- schedules ------------------------------------------------------------------------------------------------

    def run_schedule(self, now: datetime) -> list[BulletinRecord]:
        """Resume every bulletin still sending, and make each scheduled bulletin that is due. One program's
        trouble is its own: the others are still done, and the trouble is raised at the end."""
        made: list[BulletinRecord] = []
        failures: list[tuple[str, Exception]] = []
        for record in self.store.all_programs():
            try:
                made += self._scheduled(record, now)
            except Exception as error:
                failures.append((f"{record.org}/{record.id}", error))
        if failures:
            raise ScheduledRunFailed(failures, made)
        return made

    def _scheduled(self, record: ProgramRecord, now: datetime) -> list[BulletinRecord]:
        settings = record.program.bulletins
        recent = self.bulletins.list_bulletins(record.org, record.id, limit=5)
        done = [self.deliver(b) for b in recent if b.state is BulletinState.SENDING]
        if settings.schedule is None:
            return done
        slot = due_slot(settings.schedule, record.program.tz, now)
        if slot is None or now - slot > SCHEDULE_GRACE or slot < record.created_at:
            return done
        bulletin_id = scheduled_bulletin_id(slot)
        if any(b.id == bulletin_id for b in recent):
            return done
        return [
            *done,
            self.make(record.org, record.id, BulletinStatus.FINAL, "schedule", slot, bulletin_id=bulletin_id),
        ]

    # --- unsubscribing --------------------------------------------------------------------------------------------

    def read_unsubscribe(self, token: str, now: datetime) -> tuple[str, str, str]:
        """The org, program and participant an unsubscribe token was made for (BadToken if none)."""
        fields = verify(self.signing_key(), UNSUBSCRIBE, token, now)
        if len(fields) != 3:
            raise BadToken("this link is not one Podium made")
        return fields[0], fields[1], fields[2]

    def unsubscribe(self, token: str, now: datetime) -> tuple[ProgramRecord, Participant | None]:
        org, program_id, participant = self.read_unsubscribe(token, now)
        record = find_program(self.store, org, program_id)
        self.bulletins.set_mail_opt_out(org, program_id, participant, now, True)
        found = self.store.get_participants(org, program_id, [participant])
        return record, found[0] if found else None


class ScheduledRunFailed(Exception):
    def __init__(self, failures: list[tuple[str, Exception]], made: list[BulletinRecord]) -> None:
        super().__init__("; ".join(f"{where}: {error!r}" for where, error in failures))
        self.failures, self.made = failures, made


def new_bulletin_id(at: datetime, trigger: str) -> str:
    """Sortable by when it was made; a random tail keeps two made in one second apart."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{trigger}-{secrets.token_hex(3)}"


def scheduled_bulletin_id(slot: datetime) -> str:
    """The same for every run that finds the slot due: the slot's bulletin is made once."""
    return f"{slot.astimezone(UTC):%Y%m%dT%H%M%SZ}-schedule"


def _outcome(kind: str, send: Send) -> dict[str, Any]:
    state = "in_doubt" if send.state is SendState.CLAIMED else send.state.value
    out: dict[str, Any] = {"kind": kind, "state": state, "attempts": send.attempts}
    if send.reference:
        out["reference"] = send.reference
    if send.reason:
        out["reason"] = send.reason
    return out


def _team_name(snapshot: Snapshot, line: Line) -> str:
    team = snapshot.team_line(line.team) if line.team else None
    return team.name if team else ""


def _footer(at: datetime) -> str:
    return f"{at.day} {at:%b %Y} · Podium"


def _tag(value: str) -> str:
    """SES tag values take ASCII letters, digits, _ and - only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in value)[:256]


def bulletin_sends(bulletins: Bulletins, bulletin: BulletinRecord) -> Iterable[Send]:
    return bulletins.sends(bulletin.org, bulletin.program, bulletin.id).values()


def suppressions_of(event: Any) -> list[tuple[str, str]]:
    """The addresses an SES event says never to write to again: permanent bounces and complaints. SES publishes
    them through a configuration set (`eventType`) or an identity's notifications (`notificationType`)."""
    if not isinstance(event, dict):
        return []
    kind = event.get("eventType") or event.get("notificationType")
    found: list[tuple[str, str]] = []
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":  # a full mailbox or a busy server may take mail tomorrow
            return []
        reason = f"bounced ({bounce.get('bounceSubType') or 'permanent'})"
        found = [(r.get("emailAddress", ""), reason) for r in bounce.get("bouncedRecipients") or []]
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        found = [(r.get("emailAddress", ""), "complained") for r in complaint.get("complainedRecipients") or []]
    return [(address, reason) for address, reason in found if isinstance(address, str) and "@" in address]


def record_mail_events(bulletins: Bulletins, events: Iterable[Any], at: datetime) -> int:
    count = 0
    for event in events:
        for address, reason in suppressions_of(event):
            bulletins.suppress_address(address, reason, at)
            count += 1
    return count


# --- a post's cards -----------------------------------------------------------------------------------------------


def _division_cards(program: str, period: str, snapshot: Snapshot, footer: str) -> list[tuple[str, Card]]:
    """Each division's board (its teams, ranked) as a card, in the divisions' rank order."""
    cards = []
    for division in snapshot.divisions:
        heading = division.name if "division" in division.name.lower() else f"{division.name} division"
        rows = tuple(
            CardRow(t.rank, t.name, t.points, t.movement, _headcount(t.headcount))
            for t in snapshot.division_teams(division.id)[:CARD_ROWS]
        )
        cards.append((division_board(division.id), Card(program, period, heading, rows, footer=footer)))
    return cards


def _headcount(people: int) -> str:
    return "1 participant" if people == 1 else f"{people:,} participants"


def _card_links(public_url: str, signing_key: Callable[[], bytes], bulletin: BulletinRecord) -> Callable[[str], str]:
    """Each card's signed link (the card route, no key needed) by its board; "" for every card without a public
    URL or a key to sign with."""
    if not public_url:
        return lambda board: ""
    try:
        key = signing_key()
    except Exception:  # the post still goes, its cards uploaded where a channel takes bytes (X, LinkedIn)
        return lambda board: ""
    base = f"{public_url}/v1/programs/{quote(bulletin.program, safe='')}/bulletins/{quote(bulletin.id, safe='')}"

    def link(board: str) -> str:
        token = CardLink(bulletin.org, bulletin.program, bulletin.id, board).token(key, bulletin.created_at)
        return f"{base}/card.png?{urlencode({'board': board, 'link': token})}"

    return link
