"""The demo program on the in-memory ports, after the cascade: what the in-memory page and bulletin tests read.

`build_demo` loads examples/healthcare-sales into a MemoryTable, runs the stream to the end, and points the
route modules at it; `Demo.score` runs `podium score` on the same files, the oracle the tests compare with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from podium.domain.program import program_from_dict
from podium.domain.records import read_roster_csv, read_submissions_csv
from podium.services.auth import issue_key, program_token
from podium.services.ports import ApiKey, ProgramRecord, Scope, StoredSubmission
from podium_cli.memory import MemoryBulletins, MemoryStream, MemoryTable, with_history

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "healthcare-sales"
PODIUM = str(Path(sys.executable).with_name("podium"))
ORG, PROGRAM = "demo", "healthcare-sales"
PAGES = f"/p/{ORG}/{PROGRAM}"


@dataclass
class PageTable(MemoryTable):
    """The in-memory table, with what page requests read besides programs, rosters and standings."""

    keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)

    def get_key(self, org: str, key_id: str) -> ApiKey | None:
        return self.keys.get((org, key_id))

    def list_programs(self, org: str) -> list[ProgramRecord]:
        return [r for r in self.programs.values() if r.org == org]

    def all_programs(self) -> list[ProgramRecord]:
        return list(self.programs.values())


@dataclass
class Demo:
    api: Any
    table: PageTable
    key: str
    read_token: str
    submit_token: str
    now: datetime
    files: dict[str, Path]
    bulletins: MemoryBulletins  # what the pages read the latest final bulletin's marks from

    def get(self, path: str, query: str = "", **headers: str) -> Any:
        reply = self.api.request("GET", path, headers=headers, query=query)
        return reply

    def score(self, board: str) -> dict[str, Any]:
        """`podium score --json` on the same files: the oracle."""
        files = self.files
        command = [PODIUM, "score", str(files["program"]), str(files["submissions"]), "--roster", str(files["roster"])]
        out = subprocess.run(
            [*command, "--board", board, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)


def build_demo(tmp: Path, monkeypatch: pytest.MonkeyPatch, *, visibility: str = "public", tweak: Any = None) -> Demo:
    document = yaml.safe_load((EXAMPLE / "program.yaml").read_text())
    document["visibility"] = visibility
    roster_text = (EXAMPLE / "roster.csv").read_text()
    if tweak is not None:
        document, roster_text = tweak(document, roster_text)
    files = {"program": tmp / "program.json", "roster": tmp / "roster.csv", "submissions": EXAMPLE / "submissions.csv"}
    files["program"].write_text(json.dumps(document))
    files["roster"].write_text(roster_text)
    program = program_from_dict(document)
    roster = read_roster_csv(roster_text.splitlines(keepends=True))
    with (EXAMPLE / "submissions.csv").open() as f:
        submissions = read_submissions_csv(f, program, roster, known_ids=set(), reject_inactive=False).submissions
    now = max(s.at for s in submissions) + timedelta(minutes=1)
    created = now - timedelta(days=3)

    table = PageTable()
    clock = [created]

    def tick() -> datetime:
        clock[0] += timedelta(milliseconds=1)
        return clock[0]

    read_token, read_hash = program_token(ORG, PROGRAM, Scope.READ)
    submit_token, submit_hash = program_token(ORG, PROGRAM, Scope.SUBMIT)
    hashes = {"read": read_hash, "submit": submit_hash}
    table.save_program(ProgramRecord(ORG, PROGRAM, document, 1, created, created, token_hashes=hashes))
    people = list(roster.participants.values())
    table.save_participants(ORG, PROGRAM, with_history(people, {}, created), created)
    table.put_submissions(ORG, PROGRAM, [StoredSubmission(s, "csv", tick(), "test") for s in submissions])
    MemoryStream(table, tick).drain()
    issued = issue_key(ORG, "reader", frozenset({Scope.READ}), created)
    table.keys[(ORG, issued.key.id)] = issued.key

    from podium.api import board_routes, page_routes
    from podium_cli.local.apigw import LocalApi

    bulletins = MemoryBulletins()
    for module in (page_routes, board_routes):
        monkeypatch.setattr(module, "store", lambda: table)
        monkeypatch.setattr(module, "standings", lambda: table)
        monkeypatch.setattr(module, "bulletins", lambda: bulletins)
        monkeypatch.setattr(module, "now", lambda: now)
    monkeypatch.setattr("podium.api.app.store", lambda: table)
    monkeypatch.setenv("PODIUM_TABLE", "in-memory")
    api = LocalApi(ROOT, {"PodiumTable": "in-memory"})
    return Demo(api, table, issued.token, read_token, submit_token, now, files, bulletins)
