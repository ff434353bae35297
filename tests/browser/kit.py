"""What the browser tests are made of: where Chromium and axe-core are, the viewports, a watch on everything a
page does that a test must not let pass, axe-core's verdict, screenshots, and the local stack they run against.

Standard library and Playwright's sync API only. Nothing here downloads a browser: Playwright drives Debian's
`chromium` (`executable_path`), and axe-core comes from the npm registry with DynamoDB Local (infra/local).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from podium_cli.local.harness import STARTUP_SECONDS, LocalStack, start_local_stack

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Page,
        Request,
        Response,
        Route,
        ViewportSize,
        WebError,
        WebSocketRoute,
    )

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
AXE = ROOT / "infra" / "local" / "node_modules" / "axe-core" / "axe.min.js"

# As root Chromium needs --no-sandbox; without the background-networking flags it tries to reach Google's hosts
# at every start (this machine's network refuses them). Playwright adds some of these itself: repeating is harmless.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1366, "height": 900},
    "phone": {"width": 390, "height": 844},
    "tv": {"width": 1920, "height": 1080},
    "tv-4k": {"width": 3840, "height": 2160},
}
# Where a page's requests may go: this machine's loopback, by address or by name.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Names a page must show as text and never run: the watch fails a test on any dialog they would open.
XSS_NAMES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
SERIOUS = ("serious", "critical")


def chromium_path() -> str | None:
    """Debian's chromium (or PODIUM_CHROMIUM): the browser every test drives; None when it is not installed."""
    wanted = os.environ.get("PODIUM_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (`make install`)"
    if chromium_path() is None:
        return "Debian's chromium is not installed (`apt-get install chromium`; .ci/run installs it)"
    if not AXE.is_file():
        return f"axe-core is not installed at {AXE.relative_to(ROOT)} (`make dynamodb-local`)"
    return None


# --- the watch -----------------------------------------------------------------------------------------------


FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of \d+")


@dataclass
class Watch:
    """Everything the pages of one browser context did that fails a test: console errors, uncaught exceptions,
    JavaScript dialogs (an alert means a payload ran), requests to any host but this machine's loopback (aborted
    before they leave), and pages answered with an HTTP error (400 and up) the test did not `allow_status`.
    `problems` lists them; the conftest fails the test when it is not empty."""

    requests: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)
    _problems: list[str] = field(default_factory=list)
    # Each "Failed to load resource" console error (url, message), and each page answered 400 and up (url,
    # status): Chromium logs a page's own error status as such a console error, judged by its status instead.
    _failed_loads: list[tuple[str, str]] = field(default_factory=list)
    _error_pages: list[tuple[str, int]] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", self._page_error)
        context.on("dialog", self._dialog)
        context.on("request", self._request)
        context.on("response", self._response)
        context.route("**/*", self._route)
        context.route_web_socket(lambda url: not is_local(url), self._websocket)

    def allow_status(self, *statuses: int) -> None:
        """Pages (documents, not their resources) answered with these statuses are what the test expects: an
        error page it checks itself. Chromium logs each as a console error; that one is then not a problem."""
        self.allowed_statuses.update(statuses)

    @property
    def problems(self) -> list[str]:
        pages = {url for url, _ in self._error_pages}
        found = list(self._problems) + [message for url, message in self._failed_loads if url not in pages]
        found += [
            f"page answered {status}: {url} (watch.allow_status({status}) if the test expects it)"
            for url, status in self._error_pages
            if status not in self.allowed_statuses
        ]
        return found

    def take(self) -> list[str]:
        """The problems so far, forgotten: for a test that provokes one on purpose and checks it was seen."""
        taken = self.problems
        self._problems.clear()
        self._failed_loads.clear()
        self._error_pages.clear()
        return taken

    def report(self) -> str:
        return "\n".join(f"  - {p}" for p in self.problems)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        text = f"console error: {message.text} ({url}:{message.location.get('lineNumber')})"
        if FAILED_LOAD.match(message.text):
            self._failed_loads.append((url, text))
        else:
            self._problems.append(text)

    def _page_error(self, error: WebError) -> None:
        self._problems.append(f"page error: {error.error}")

    def _dialog(self, dialog: Dialog) -> None:
        where = dialog.page.url if dialog.page else "?"
        self._problems.append(f"dialog ({dialog.type}): {dialog.message!r} on {where}")
        dialog.dismiss()

    def _request(self, request: Request) -> None:
        self.requests.append(f"{request.method} {request.url}")
        if not is_local(request.url):
            self._problems.append(f"request leaving the machine: {request.method} {request.url}")

    def _websocket(self, socket: WebSocketRoute) -> None:
        """A WebSocket to another host: answered here and closed, never connected."""
        self._problems.append(f"request leaving the machine: WebSocket {socket.url}")
        socket.close(code=1008, reason="not on this machine")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.is_navigation_request():
            self._error_pages.append((response.url, response.status))

    def _route(self, route: Route) -> None:
        """Every request of the context passes here first: one for another host is aborted, never sent."""
        if is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")


def is_local(url: str) -> bool:
    """True for a URL that stays on this machine: loopback hosts, and data:, blob: and about: URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


# --- axe-core and screenshots ------------------------------------------------------------------------------


def axe(page: Page, impacts: tuple[str, ...] = SERIOUS, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, those of the given impacts (serious and critical by
    default): each {id, impact, help, url, nodes: [{target, html, summary}]}. Injected through the DevTools
    protocol, so a page's Content-Security-Policy does not block it (nor is it loosened for the page itself)."""
    if page.evaluate("typeof window.axe") != "object":
        page.evaluate(_axe_source())
    results = page.evaluate(
        "options => window.axe.run(document, options)", {"resultTypes": ["violations"], **(options or {})}
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "url": v["helpUrl"],
            "nodes": [
                {"target": n["target"], "html": n["html"][:300], "summary": n.get("failureSummary", "")}
                for n in v["nodes"]
            ],
        }
        for v in results["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page, with each one named if there are."""
    violations = axe(page)
    assert not violations, f"axe-core on {page.url}:\n" + json.dumps(violations, indent=1, ensure_ascii=False)


_AXE_SOURCE: list[str] = []


def _axe_source() -> str:
    if not _AXE_SOURCE:
        _AXE_SOURCE.append(AXE.read_text())
    return _AXE_SOURCE[0]


def screenshot(page: Page, name: str, viewport: str | None = None) -> Path:
    """A full-page PNG of the page as it is now, in tests/artifacts/browser/NAME[-VIEWPORT].png (not in git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    path = ARTIFACTS / (f"{stem}-{viewport}.png" if viewport else f"{stem}.png")
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshots(page: Page, name: str, viewports: tuple[str, ...] = tuple(VIEWPORTS)) -> list[Path]:
    """The page at each viewport (desktop, phone, TV, 4K TV by default), one PNG each; the page is left at the
    viewport it had. Each resize lets the page lay itself out again; the watch still sees all it does."""
    before = page.viewport_size
    paths = []
    try:
        for viewport in viewports:
            page.set_viewport_size(VIEWPORTS[viewport])
            paths.append(screenshot(page, name, viewport))
    finally:
        if before is not None:
            page.set_viewport_size(before)
    return paths


def assert_inert(page: Page) -> None:
    """No element on the page was made by a payload of XSS_NAMES (or the roster's `<script>alert(3)</script>`
    team): no script whose whole text is `alert(N)`, no event-handler attribute calling alert. The watch fails
    the test if one ran; this catches one that was injected but did not fire. Escaped payloads in text, in
    attributes or inside a script's JSON data are fine."""
    injected = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap(el => {
            const found = [];
            if (el.tagName === 'SCRIPT' && /^\\s*alert\\(\\d\\)\\s*$/.test(el.textContent)) found.push(el.outerHTML);
            for (const a of el.attributes) {
                if (a.name.startsWith('on') && a.value.includes('alert(')) found.push(el.outerHTML);
            }
            return found;
        })"""
    )
    assert not injected, f"markup from a payload on {page.url}: {injected}"


def check_page(
    page: Page,
    name: str,
    axe_viewports: tuple[str, ...] = ("desktop", "phone"),
    shots: tuple[str, ...] = tuple(VIEWPORTS),
) -> list[Path]:
    """What every page must pass, as it is now: no markup from a payload, no serious or critical axe-core
    violation (at a desktop's and a phone's width), and a screenshot at every viewport of `shots` (returned;
    all of them unless told: a 4K PNG costs a second of a busy machine, worth it for a page made for TVs)."""
    assert_inert(page)
    before = page.viewport_size
    try:
        for viewport in axe_viewports:
            page.set_viewport_size(VIEWPORTS[viewport])
            violations = axe(page)
            assert not violations, f"axe-core on {page.url} ({viewport}):\n" + json.dumps(
                violations, indent=1, ensure_ascii=False
            )
    finally:
        if before is not None:
            page.set_viewport_size(before)
    return screenshots(page, name, shots)


# --- another site on this machine ---------------------------------------------------------------------------


class Site:
    """A web server of another origin on this machine (127.0.0.1, a port of its own): the intranet page that
    embeds a widget or reads a board's JSON. `pages` maps a path to the HTML it answers; anything else is a 404.
    Standard library only, in a thread; `with Site() as site:` stops it at the end."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        pages: dict[str, str] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                html = pages.get(self.path.split("?")[0])
                body = (html or "not here").encode()
                self.send_response(200 if html is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = Thread(target=self.server.serve_forever, name=f"site-{self.port}", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- the local stack ---------------------------------------------------------------------------------------


@dataclass
class Stack:
    """`podium local --in-memory` in its own process, with an organisation, a program and its roster; the tests
    call it over HTTP as a browser or a client would."""

    local: LocalStack
    org: str
    program: str
    key: str = ""

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`; routes start with /v1, the local pages with /outbox."""
        return self.local.url

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        content_type: str = "application/json",
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request with the admin key (or `key`; "" for none) and any other `headers`; (status, headers,
        body), errors included."""
        headers = {"Content-Type": content_type, **(headers or {})}
        token = self.key if key is None else key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - our own loopback stack
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method: str, path: str, payload: Any = None, key: str | None = None) -> Any:
        """A JSON request that must succeed (2xx); its parsed answer."""
        status, _, body = self.call(method, path, None if payload is None else json.dumps(payload), key=key)
        assert 200 <= status < 300, f"{method} {path}: {status} {body[:500]!r}"
        return json.loads(body) if body else None

    def submit_token(self) -> str:
        """A new public submit token of the program (the one the program's HTML forms carry)."""
        return str(self.json("POST", f"/v1/programs/{self.program}/tokens/submit")["token"])

    def submit(self, participant: str, **values: float) -> None:
        """One score now, as JSON with the admin key."""
        self.json("POST", f"/v1/programs/{self.program}/submissions", {"participant": participant, "values": values})

    def submit_many(self, scores: Mapping[str, Mapping[str, float]], program: str | None = None) -> None:
        """Scores now for several people ({participant: {metric: value}}), in one JSON request."""
        rows = [{"participant": who, "values": values} for who, values in scores.items()]
        self.json("POST", f"/v1/programs/{program or self.program}/submissions", rows)

    def read_token(self, program: str) -> str:
        """A new public read token of a program: the `?t=` an unlisted program's page links carry."""
        return str(self.json("POST", f"/v1/programs/{program}/tokens/read")["token"])

    def form_post(self, fields: dict[str, str]) -> tuple[int, bytes]:
        """A form post to the program's submissions without a key (the form's `token` field carries one)."""
        status, _, body = self.call("POST", f"/v1/programs/{self.program}/submissions", urlencode(fields), FORM, key="")
        return status, body


FORM = "application/x-www-form-urlencoded"
# The program most tests look at: public, with a metric the public never sees (its points still count), units,
# and a cap (the scorecard's progress bar). Its allowed_origins are the embedding site's (start_stack).
PROGRAM: dict[str, Any] = {
    "id": "sprint",
    "name": "Spring Sprint",
    "timezone": "UTC",
    "period": "week",
    "visibility": "public",
    "metrics": [
        {"key": "calls", "label": "Calls made"},
        {"key": "deals", "label": "Deals closed", "points": {"per_unit": 10}},
        {"key": "nps", "label": "NPS", "period_aggregate": "latest", "min": -100, "max": 100, "team_rollup": "mean"},
        {"key": "talk", "label": "Talk time", "unit": "min", "points": {"per_unit": 0.5, "cap": 60}},
        {"key": "bonus", "label": "Manager bonus", "hidden": True, "points": {"per_unit": 5}},
    ],
}
HIDDEN_METRIC = ("bonus", "Manager bonus")


@dataclass(frozen=True)
class Person:
    """A roster row: id, name, team, division, and how the person shows on public boards (opt_out)."""

    id: str
    name: str
    team: str
    division: str
    opt_out: str = ""


# Three divisions: North and South of two teams each, with two people whose names are payloads in a team whose
# name is one too, and two people who opted out of public boards (one anonymised, one hidden); West has as many
# teams as a TV page shows at once (TV_ROWS), one person each, one team with a name too long for its row.
TV_ROWS = 16
OPTED_OUT = {
    "anonymise": Person("optout-a", "Quinn Quiet", "Blue", "North", "anonymise"),
    "hide": Person("optout-h", "Gil Gone", "Blue", "North", "hide"),
}
WEST_TEAMS = (
    "Aurora",
    "Borealis",
    "Cascade",
    "Delta Force",
    "Ember",
    "Falcons",
    "Glacier",
    "Harbour",
    "Ironbark",
    "Juniper",
    "Kestrel",
    "Lighthouse",
    "Monsoon",
    "Nightjar",
    "Orchard",
    "The Extraordinarily Long-Named Customer Success Squad of the Western Seaboard",
)
ROSTER_ROWS = [
    Person("ann", "Ann Archer", "Red", "North"),
    Person("bob", "Bob Baker", "Red", "North"),
    Person("cy", "Cy Cole", "Blue", "North"),
    *OPTED_OUT.values(),
    Person("di", "Di Diaz", "Green", "South"),
    Person("el", "Élodie Éclair", "Green", "South"),
    Person("xss-script", XSS_NAMES[0], "<script>alert(3)</script>", "South"),
    Person("xss-img", XSS_NAMES[1], "<script>alert(3)</script>", "South"),
    *(Person(f"w{i:02}", f"West Rep {i}", team, "West") for i, team in enumerate(WEST_TEAMS, 1)),
]

# A second public program whose every text is a payload: its name, its metric's label and unit, a division, a
# team and two people. Each must show as text on every page and run nowhere (Watch, assert_inert).
XSS_TEXTS = {
    "program": "</title><script>alert(4)</script>",
    "metric": "<img src=x onerror=alert(5)>",
    "unit": "<i>u</i>",
    "division": '"><svg onload=alert(6)>',
    "team": "<script>alert(3)</script>",
}
XSS_PROGRAM: dict[str, Any] = {
    "id": "xss",
    "name": XSS_TEXTS["program"],
    "timezone": "UTC",
    "period": "week",
    "visibility": "public",
    "metrics": [{"key": "calls", "label": XSS_TEXTS["metric"], "unit": XSS_TEXTS["unit"]}],
}
XSS_ROSTER = [
    Person("xss-script", XSS_NAMES[0], XSS_TEXTS["team"], XSS_TEXTS["division"]),
    Person("xss-img", XSS_NAMES[1], XSS_TEXTS["team"], XSS_TEXTS["division"]),
]

# An unlisted program: its pages need its read token in the URL (?t=), and are listed nowhere.
UNLISTED_PROGRAM: dict[str, Any] = {
    "id": "backroom",
    "name": "Back Room",
    "timezone": "UTC",
    "period": "week",
    "visibility": "unlisted",
    "metrics": [{"key": "calls", "label": "Calls made"}],
}
UNLISTED_ROSTER = [
    Person("ula", "Ula Unlisted", "Attic", "Upstairs"),
    Person("uma", "Uma Unseen", "Cellar", "Downstairs"),
]


def roster_csv(rows: list[Person] = ROSTER_ROWS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "email", "team", "division", "opt_out"])
    writer.writerows((p.id, p.name, "", p.team, p.division, p.opt_out) for p in rows)
    return out.getvalue()


def start_stack(
    data_dir: Path, org: str = "web", timeout: float = STARTUP_SECONDS, allowed_origins: tuple[str, ...] = ()
) -> Stack:
    """`podium local --no-demo --in-memory` on a free port (DynamoDB Local in memory, or moto's server where
    Java is missing), an organisation `org` with its admin key, the program PROGRAM (whose widget and board JSON
    `allowed_origins` may use) and the roster ROSTER_ROWS, and the programs XSS_PROGRAM and UNLISTED_PROGRAM."""
    local = _start_in_memory(data_dir, timeout)
    try:
        stack = Stack(local, org, str(PROGRAM["id"]), local.create_org(org))
        programs = [
            ({**PROGRAM, "allowed_origins": list(allowed_origins)}, ROSTER_ROWS),
            (XSS_PROGRAM, XSS_ROSTER),
            (UNLISTED_PROGRAM, UNLISTED_ROSTER),
        ]
        for document, roster in programs:
            stack.json("PUT", f"/v1/programs/{document['id']}", document)
            status, _, body = stack.call("PUT", f"/v1/programs/{document['id']}/roster", roster_csv(roster), "text/csv")
            assert status == 200, body
    except BaseException:
        local.stop()
        raise
    return stack


# DynamoDB Local's JVM, for a stack that lives a minute and stores a few items: the client compiler only and one
# GC thread. Its start then costs about half the CPU (5 s instead of 10 on this 2-core machine), and it idles
# lighter while the stream poller asks it for records ten times a second.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData"


def _start_in_memory(data_dir: Path, timeout: float) -> LocalStack:
    """The harness's `podium local --no-demo --in-memory`, with a JVM tuned to start fast (QUICK_JVM, through
    JAVA_TOOL_OPTIONS, which every JVM reads)."""
    java_options = f"{QUICK_JVM} {os.environ.get('JAVA_TOOL_OPTIONS', '')}".strip()
    env = {**os.environ, "JAVA_TOOL_OPTIONS": java_options}
    return start_local_stack(ROOT, data_dir, timeout=timeout, in_memory=True, env=env)
