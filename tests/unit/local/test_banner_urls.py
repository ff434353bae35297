"""Every URL `podium local` prints answers 200, the pages with HTML and the API root with JSON: the demo is
seeded through the same handlers the running stack uses, and each URL of the banner is asked for as a browser
would, without a key (the demo program is public)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from podium_cli.local.outbox import Outbox
from podium_cli.local.stack import Stack, _local_reply, banner, database_label, seed_demo

ROOT = Path(__file__).resolve().parents[3]
URL = re.compile(r"http://127\.0\.0\.1:3000[^\s)]*")


class NoSchedules:
    def summary(self) -> list[dict[str, Any]]:
        return []


def test_every_url_the_banner_prints_answers(api: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from podium_cli.local import stack as local

    whole = local.shifted_submissions
    # A slice of the demo's scores: every page answers with or without them, and all 2,854 take a minute on moto.
    monkeypatch.setattr(local, "shifted_submissions", lambda *a: "".join(whole(*a).splitlines(True)[:60]))
    stack = Stack(ROOT, tmp_path, 3000, "", api.api, None, threading.Event())
    stack.outbox, stack.scheduler = Outbox(tmp_path / "outbox"), NoSchedules()
    key = seed_demo(stack)
    text = banner(stack, database_label(tmp_path, True), key)
    urls = sorted(set(URL.findall(text)))
    paths = {urlsplit(u).path for u in urls}
    # The pages a person opens first are all there.
    for path in ("/", "/v1", "/outbox", "/p/demo/healthcare-sales/tv", "/p/demo/healthcare-sales/widget.js"):
        assert path in paths, (path, text)
    assert any(p.endswith("/form") for p in paths) and "form?t=pdt_demo_" in text
    for url in urls:
        parts = urlsplit(url)
        local = _local_reply(stack, "GET", parts.path, {}, None)
        if local is not None:
            status = local[0]
        else:
            # The JSON board is the API's: the banner shows it with the key (its `Try: curl` line).
            headers = {"Authorization": f"Bearer {key}"} if parts.path.startswith("/v1/programs") else {}
            status = api.api.request("GET", parts.path, headers=headers, query=parts.query).status
        assert status == 200, url
