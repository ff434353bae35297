"""The Bulletins port on the table: headers, snapshots in compressed chunks, sends, opt-outs and suppressions.

A snapshot is JSON, gzipped and cut into items of at most CHUNK_BYTES (DynamoDB's item limit is 400 KB): a
program of 25,000 participants is a few items, written once when the bulletin is made and read once by the next.
The chunks are written before the header, and the header only if no bulletin has its id: a run that dies between
the two leaves chunks the next attempt (with the same, deterministic id) overwrites.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError

from podium.adapters import keys
from podium.adapters.dynamodb import DynamoStore, Item, condition_failed, get_item
from podium.domain.bulletins import BoardMarks
from podium.services.ports import BulletinRecord, BulletinState, Send, SendState

CHUNK_BYTES = 350_000


class BulletinItem(Item):
    status = UnicodeAttribute()
    state = UnicodeAttribute()
    period = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    trigger = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    previous = UnicodeAttribute(null=True)
    news = BooleanAttribute()
    summary = UnicodeAttribute(null=True)  # JSON
    finished_at = UTCDateTimeAttribute(null=True)
    chunks = NumberAttribute()


class ChunkItem(Item):
    data = BinaryAttribute(legacy_encoding=False)


class SendItem(Item):
    state = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    reference = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    attempts = NumberAttribute(null=True)


class MarkItem(Item):
    """An opt-out or a suppression: its presence is the fact."""

    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)


class BoardMarksItem(Item):
    """A board's marks (domain.bulletins.BoardMarks) as gzipped JSON; chunk 0 says how many chunks there are."""

    bulletin = UnicodeAttribute()
    period = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    chunks = NumberAttribute(null=True)
    data = BinaryAttribute(legacy_encoding=False, null=True)  # none on the header


class DynamoBulletins:
    def __init__(self, store: DynamoStore) -> None:
        self.headers = store.bind(BulletinItem)
        self.chunks = store.bind(ChunkItem)
        self.send_items = store.bind(SendItem)
        self.marks = store.bind(MarkItem)
        self.board_marks = store.bind(BoardMarksItem)

    # --- bulletins ------------------------------------------------------------------------------------------

    def create_bulletin(self, record: BulletinRecord, snapshot: dict[str, Any]) -> bool:
        pk = keys.bulletins_pk(record.org, record.program)
        if get_item(self.headers, pk, keys.bulletin_sk(record.id)) is not None:
            return False
        packed = _pack(snapshot)
        parts = [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)] or [b""]
        with self.chunks.batch_write() as batch:
            for n, part in enumerate(parts):
                batch.save(self.chunks(pk, keys.chunk_sk(record.id, n), kind="bulletin_chunk", data=part))
        item = self._header(record, len(parts))
        try:
            item.save(condition=self.headers.sk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def get_bulletin(self, org: str, program: str, bulletin: str) -> BulletinRecord | None:
        item = get_item(self.headers, keys.bulletins_pk(org, program), keys.bulletin_sk(bulletin))
        return None if item is None else _record(org, program, item)

    def list_bulletins(self, org: str, program: str, limit: int = 20) -> list[BulletinRecord]:
        items = self.headers.query(
            keys.bulletins_pk(org, program),
            self.headers.sk.startswith(keys.BULLETIN_PREFIX),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
        )
        return [_record(org, program, i) for i in items]

    def latest_final(self, org: str, program: str) -> BulletinRecord | None:
        # Newest first, in pages: drafts between finals are few, and reading stops at the first final.
        items = self.headers.query(
            keys.bulletins_pk(org, program),
            self.headers.sk.startswith(keys.BULLETIN_PREFIX),
            scan_index_forward=False,
            page_size=10,
            consistent_read=True,
        )
        for item in items:
            if item.status == "final" and item.state != BulletinState.QUIET.value:
                return _record(org, program, item)
        return None

    def snapshot(self, org: str, program: str, bulletin: str) -> dict[str, Any]:
        pk = keys.bulletins_pk(org, program)
        header = get_item(self.headers, pk, keys.bulletin_sk(bulletin))
        if header is None:
            raise KeyError(bulletin)
        items = self.chunks.query(
            pk, self.chunks.sk.startswith(f"{keys.CHUNK_PREFIX}{bulletin}#"), consistent_read=True
        )
        # Only the chunks the header counts: a longer snapshot of an attempt that died may have left more.
        packed = b"".join(i.data or b"" for i in list(items)[: int(header.chunks)])
        data: dict[str, Any] = json.loads(gzip.decompress(packed))
        return data

    def update_bulletin(self, record: BulletinRecord) -> None:
        h = self.headers
        h(keys.bulletins_pk(record.org, record.program), keys.bulletin_sk(record.id)).update(
            actions=[
                h.state.set(record.state.value),
                h.news.set(record.news),
                h.summary.set(json.dumps(record.summary, sort_keys=True)),
                *([h.finished_at.set(record.finished_at)] if record.finished_at else []),
            ],
            condition=h.sk.exists(),
        )

    def _header(self, record: BulletinRecord, chunks: int) -> BulletinItem:
        return self.headers(
            keys.bulletins_pk(record.org, record.program),
            keys.bulletin_sk(record.id),
            kind="bulletin",
            status=record.status,
            state=record.state.value,
            period=record.period,
            created_at=record.created_at,
            trigger=record.trigger,
            fingerprint=record.fingerprint,
            previous=record.previous,
            news=record.news,
            summary=json.dumps(record.summary, sort_keys=True),
            finished_at=record.finished_at,
            chunks=chunks,
        )

    # --- what the board pages keep of the latest final bulletin ------------------------------------------------

    def write_marks(self, org: str, program: str, marks: Mapping[str, BoardMarks]) -> bool:
        if not marks:
            return False
        first = next(iter(marks.values()))
        pk, model = keys.marks_pk(org, program), self.board_marks
        header = get_item(model, pk, keys.MARKS_HEADER_SK)
        if header is not None and (header.at, header.bulletin) > (first.at, first.bulletin):
            return False
        written: set[str] = set()
        with model.batch_write() as batch:
            for board, mark in marks.items():
                packed = _pack(mark.as_dict())
                parts = [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)]
                for n, part in enumerate(parts):
                    sk = keys.marks_sk(board, n)
                    written.add(sk)
                    batch.save(
                        model(
                            pk,
                            sk,
                            kind="board_marks",
                            bulletin=mark.bulletin,
                            period=mark.period,
                            at=mark.at,
                            chunks=len(parts) if n == 0 else None,
                            data=part,
                        )
                    )
            # A board the bulletin no longer has (a team gone from the roster) keeps no marks of an older one.
            kept = model.query(pk, model.sk.startswith(keys.MARKS_PREFIX), attributes_to_get=["pk", "sk"])
            for item in kept:
                if item.sk not in written:
                    batch.delete(model(pk, item.sk))
        model(
            pk, keys.MARKS_HEADER_SK, kind="board_marks", bulletin=first.bulletin, period=first.period, at=first.at
        ).save()
        return True

    def read_marks(self, org: str, program: str, boards: Iterable[str]) -> dict[str, BoardMarks]:
        pk, model = keys.marks_pk(org, program), self.board_marks
        firsts = {keys.marks_board_of(i.sk): i for i in model.batch_get([(pk, keys.marks_sk(b)) for b in set(boards)])}
        more = [(pk, keys.marks_sk(b, n)) for b, i in firsts.items() for n in range(1, int(i.chunks or 1))]
        rest = {i.sk: i for i in model.batch_get(more)} if more else {}
        found = {}
        for board, first in firsts.items():
            parts = [first, *(rest.get(keys.marks_sk(board, n)) for n in range(1, int(first.chunks or 1)))]
            if any(p is None or p.bulletin != first.bulletin for p in parts):
                continue  # between two bulletins' writes: no movement rather than a mix of two
            data = json.loads(gzip.decompress(b"".join(p.data or b"" for p in parts if p is not None)))
            found[board] = BoardMarks.from_dict(first.bulletin, first.period, first.at, data)
        return found

    # --- sends ----------------------------------------------------------------------------------------------

    def claim_send(self, org: str, program: str, bulletin: str, key: str, at: datetime) -> bool:
        item = self.send_items(
            keys.sends_pk(org, program, bulletin), keys.send_sk(key), kind="send", state="claimed", at=at
        )
        try:
            item.save(condition=self.send_items.sk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def record_send(self, org: str, program: str, bulletin: str, send: Send) -> None:
        self.send_items(
            keys.sends_pk(org, program, bulletin),
            keys.send_sk(send.key),
            kind="send",
            state=send.state.value,
            at=send.at,
            reference=send.reference or None,
            reason=send.reason or None,
            attempts=send.attempts,
        ).save()

    def sends(self, org: str, program: str, bulletin: str) -> dict[str, Send]:
        items = self.send_items.query(keys.sends_pk(org, program, bulletin), consistent_read=True)
        found = {}
        for i in items:
            key = keys.send_key_of(i.sk)
            found[key] = Send(key, SendState(i.state), i.at, i.reference or "", i.reason or "", int(i.attempts or 0))
        return found

    # --- who gets no digest -----------------------------------------------------------------------------------

    def mail_opt_outs(self, org: str, program: str) -> set[str]:
        items = self.marks.query(keys.mail_opt_outs_pk(org, program), consistent_read=True)
        return {i.sk.removeprefix(keys.OPT_OUT_PREFIX) for i in items}

    def set_mail_opt_out(self, org: str, program: str, participant: str, at: datetime, opted_out: bool) -> None:
        item = self.marks(keys.mail_opt_outs_pk(org, program), keys.mail_opt_out_sk(participant), kind="opt_out", at=at)
        if opted_out:
            item.save()
        else:
            item.delete()

    def suppressed_addresses(self) -> set[str]:
        return {i.sk for i in self.marks.query(keys.SUPPRESSED_PK)}

    def suppress_address(self, address: str, reason: str, at: datetime) -> None:
        self.marks(keys.SUPPRESSED_PK, keys.suppressed_sk(address), kind="suppressed", at=at, reason=reason).save()


def _pack(data: Any) -> bytes:
    return gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0)


def _record(org: str, program: str, item: BulletinItem) -> BulletinRecord:
    return BulletinRecord(
        org=org,
        program=program,
        id=item.sk.removeprefix(keys.BULLETIN_PREFIX),
        status=item.status,
        state=BulletinState(item.state),
        period=item.period,
        created_at=item.created_at,
        trigger=item.trigger,
        fingerprint=item.fingerprint,
        previous=item.previous,
        news=bool(item.news),
        summary=json.loads(item.summary) if item.summary else {},
        finished_at=item.finished_at,
    )
