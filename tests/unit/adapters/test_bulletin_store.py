"""The Bulletins port: the DynamoDB adapter (on moto and DynamoDB Local) and its in-memory twin keep the same
contract: a bulletin is made once, its snapshot comes back whole however large, a send is claimed once, the
baseline is the newest final bulletin with news."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import BACKENDS, fresh_table
from podium.domain.bulletins import Badge, BadgeKind, BoardMarks
from podium.services.ports import BulletinRecord, Bulletins, BulletinState, Send, SendState
from podium_cli.memory import MemoryBulletins

AT = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture(params=[*BACKENDS, "memory"])
def bulletins(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bulletins]:
    if request.param == "memory":
        yield MemoryBulletins()
        return
    from podium.adapters.factory import bulletins as build

    with fresh_table(request.param, monkeypatch):
        yield build()


def record(bid: str, status: str = "final", state: BulletinState = BulletinState.SENT, **kw: Any) -> BulletinRecord:
    return BulletinRecord("org-a", "contest", bid, status, state, "2026-W48", AT, "api", "f" * 32, **kw)


def test_a_bulletin_is_made_once_and_read_back(bulletins: Bulletins) -> None:
    first = record("20261130T140000Z-schedule", summary={"digests": {"sent": 3}})
    assert bulletins.create_bulletin(first, {"period": "2026-W48", "participants": []})
    assert not bulletins.create_bulletin(record("20261130T140000Z-schedule", news=False), {"period": "x"})
    got = bulletins.get_bulletin("org-a", "contest", first.id)
    assert got == first
    assert bulletins.snapshot("org-a", "contest", first.id) == {"period": "2026-W48", "participants": []}
    assert bulletins.get_bulletin("org-b", "contest", first.id) is None  # another org sees nothing


def test_a_large_snapshot_comes_back_whole(bulletins: Bulletins) -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    # Random text does not compress: a few megabytes of it spans many items.
    people = [{"id": f"p{i}", "name": "".join(rng.choices("abcdefghij", k=200))} for i in range(5_000)]
    snapshot = {"period": "2026-W48", "participants": people}
    assert bulletins.create_bulletin(record("b1"), snapshot)
    assert bulletins.snapshot("org-a", "contest", "b1") == snapshot


def test_newest_first_and_the_baseline_skips_drafts_and_quiet_ones(bulletins: Bulletins) -> None:
    bulletins.create_bulletin(record("20261101T000000Z-a"), {})
    bulletins.create_bulletin(record("20261102T000000Z-b", state=BulletinState.SENDING), {})
    bulletins.create_bulletin(record("20261103T000000Z-c", state=BulletinState.QUIET, news=False), {})
    bulletins.create_bulletin(record("20261104T000000Z-d", status="draft", state=BulletinState.DRAFT), {})
    listed = [b.id for b in bulletins.list_bulletins("org-a", "contest")]
    assert listed == ["20261104T000000Z-d", "20261103T000000Z-c", "20261102T000000Z-b", "20261101T000000Z-a"]
    assert [b.id for b in bulletins.list_bulletins("org-a", "contest", limit=2)] == listed[:2]
    baseline = bulletins.latest_final("org-a", "contest")
    assert baseline is not None and baseline.id == "20261102T000000Z-b"
    assert bulletins.latest_final("org-a", "other") is None


def test_update_keeps_the_snapshot_and_changes_the_outcome(bulletins: Bulletins) -> None:
    made = record("b1", state=BulletinState.SENDING)
    bulletins.create_bulletin(made, {"period": "2026-W48"})
    done = BulletinRecord(**{**made.__dict__, "state": BulletinState.SENT, "summary": {"posts": {"x": 1}}})
    done = BulletinRecord(**{**done.__dict__, "finished_at": AT + timedelta(minutes=2)})
    bulletins.update_bulletin(done)
    assert bulletins.get_bulletin("org-a", "contest", "b1") == done
    assert bulletins.snapshot("org-a", "contest", "b1") == {"period": "2026-W48"}


def test_a_send_is_claimed_once(bulletins: Bulletins) -> None:
    assert bulletins.claim_send("org-a", "contest", "b1", "mail:p1", AT)
    assert not bulletins.claim_send("org-a", "contest", "b1", "mail:p1", AT)
    assert bulletins.claim_send("org-a", "contest", "b2", "mail:p1", AT)  # another bulletin's send
    bulletins.record_send("org-a", "contest", "b1", Send("mail:p1", SendState.SENT, AT, "msg-1", attempts=1))
    assert bulletins.claim_send("org-a", "contest", "b1", "post:slack", AT)
    sends = bulletins.sends("org-a", "contest", "b1")
    assert sends["mail:p1"] == Send("mail:p1", SendState.SENT, AT, "msg-1", attempts=1)
    assert sends["post:slack"].state is SendState.CLAIMED
    assert not bulletins.claim_send("org-a", "contest", "b1", "mail:p1", AT)  # sent: still claimed


def test_opt_outs_and_suppressions(bulletins: Bulletins) -> None:
    bulletins.set_mail_opt_out("org-a", "contest", "p1", AT, True)
    bulletins.set_mail_opt_out("org-a", "contest", "p2", AT, True)
    bulletins.set_mail_opt_out("org-a", "contest", "p2", AT, False)
    assert bulletins.mail_opt_outs("org-a", "contest") == {"p1"}
    assert bulletins.mail_opt_outs("org-b", "contest") == set()
    from podium.domain.bulletins import address_hash

    bulletins.suppress_address("Dana@Example.org ", "bounced", AT)
    assert bulletins.suppressed_addresses() == {address_hash("dana@example.org")}


def marks(bulletin: str, at: datetime, boards: dict[str, dict[str, int]], **badges: Any) -> dict[str, BoardMarks]:
    return {
        ref: BoardMarks(bulletin, "2026-W48", at, ranks, {p: badges[p] for p in ranks if p in badges})
        for ref, ranks in boards.items()
    }


def test_board_marks_are_kept_per_board_and_replaced_whole(bulletins: Bulletins) -> None:
    badge = (Badge(BadgeKind.RANK, "Reached the top 3"),)
    first = marks(
        "b1", AT, {"participants": {"p1": 1, "p2": 2}, "team:north": {"p1": 1}, "team:gone": {"p2": 1}}, p1=badge
    )
    assert bulletins.write_marks("org-a", "contest", first)
    got = bulletins.read_marks("org-a", "contest", ["participants", "team:north", "team:nobody"])
    assert got == {"participants": first["participants"], "team:north": first["team:north"]}
    assert got["team:north"].badges == {"p1": badge}
    assert bulletins.read_marks("org-b", "contest", ["participants"]) == {}  # another org sees nothing

    # The next bulletin's marks replace all of them: a board it no longer has keeps none of the older ones.
    later = AT + timedelta(days=7)
    second = marks("b2", later, {"participants": {"p1": 2, "p2": 1}, "team:north": {"p1": 1}})
    assert bulletins.write_marks("org-a", "contest", second)
    got = bulletins.read_marks("org-a", "contest", ["participants", "team:north", "team:gone"])
    assert set(got) == {"participants", "team:north"} and got["participants"].bulletin == "b2"
    # An older bulletin's run, late, changes nothing.
    assert not bulletins.write_marks("org-a", "contest", first)
    assert bulletins.read_marks("org-a", "contest", ["participants"])["participants"].ranks == {"p1": 2, "p2": 1}


def test_large_board_marks_come_back_whole(bulletins: Bulletins) -> None:
    rng = random.Random(11)  # noqa: S311 - test data
    # Random ids barely compress: 40,000 of them span more than one item.
    ranks = {"".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=24)): i for i in range(1, 40_001)}
    assert bulletins.write_marks("org-a", "contest", marks("b1", AT, {"participants": ranks}))
    assert bulletins.read_marks("org-a", "contest", ["participants"])["participants"].ranks == ranks
