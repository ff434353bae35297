"""The browser tests' own machinery can fail: the watch sees console errors, exceptions, dialogs and requests off
the machine, axe-core reports real violations (through a strict Content-Security-Policy too), and a test whose
page misbehaves is reported as failed. Pages made with set_content: no stack needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from .conftest import WATCH
from .kit import ARTIFACTS, ROOT, VIEWPORTS, Watch, assert_inert, axe, is_local, screenshot, screenshots

PAGE_WITH_A_MISSING_IMAGE = '<!doctype html><html lang="en"><title>x</title><img src="/missing.png" alt="">'
CLEAN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Clean</title></head>
<body><main><h1>Clean</h1><p>Nothing wrong here.</p></main></body></html>"""


def test_a_clean_page_leaves_the_watch_empty(page: Page, watch: Watch) -> None:
    page.set_content(CLEAN)
    assert axe(page) == []
    assert watch.problems == []


def test_the_watch_sees_a_console_error_and_an_exception(page: Page, watch: Watch) -> None:
    page.set_content("<script>console.error('boom'); console.log('fine'); null.x;</script>")
    problems = watch.take()
    assert len(problems) == 2, problems
    assert problems[0].startswith("console error: boom")
    assert problems[1].startswith("page error: ") and "null" in problems[1]


def test_the_watch_sees_dialogs_and_dismisses_them(page: Page, watch: Watch) -> None:
    page.set_content("<img src=x onerror=alert(2)><script>confirm('sure?')</script>")
    page.wait_for_function("() => document.images[0].complete")
    problems = watch.take()
    assert any("dialog (alert): '2'" in p for p in problems), problems
    assert any("dialog (confirm): 'sure?'" in p for p in problems), problems


def test_the_watch_aborts_and_reports_requests_leaving_the_machine(page: Page, watch: Watch) -> None:
    page.set_content(
        '<img src="https://cdn.example.com/logo.png" alt="">'
        '<script>fetch("http://beacon.example.net/b").catch(() => {}); new WebSocket("wss://live.example.org/feed")</script>'
    )
    page.wait_for_load_state("load")
    page.wait_for_timeout(100)
    problems = watch.take()
    leaving = [p for p in problems if p.startswith("request leaving the machine")]
    assert any("https://cdn.example.com/logo.png" in p for p in leaving), problems
    assert any("http://beacon.example.net/b" in p for p in leaving), problems
    assert any("WebSocket wss://live.example.org/feed" in p for p in leaving), problems
    # The aborted loads are console errors too; nothing reached the network.
    assert all(p.startswith(("request leaving", "console error")) for p in problems), problems


def test_a_page_answered_with_an_error_is_a_problem_unless_allowed(page: Page, watch: Watch) -> None:
    def answer(route: Route) -> None:
        missing = route.request.url.endswith("/missing.png")
        route.fulfill(status=404 if missing else 422, content_type="text/html", body=PAGE_WITH_A_MISSING_IMAGE)

    page.route("http://localhost:9/**", answer)
    assert page.goto("http://localhost:9/form") is not None
    image, form = sorted(watch.take())
    assert image.startswith("console error: Failed to load resource") and "/missing.png" in image
    assert form == "page answered 422: http://localhost:9/form (watch.allow_status(422) if the test expects it)"
    watch.allow_status(422)
    page.goto("http://localhost:9/form")
    assert [p for p in watch.take() if "/missing.png" not in p] == []


def test_local_urls_are_those_on_loopback() -> None:
    assert is_local("http://127.0.0.1:3000/outbox")
    assert is_local("http://localhost:8080/")
    assert is_local("http://[::1]:3000/")
    assert is_local("data:image/png;base64,AAAA")
    assert not is_local("https://127.0.0.1.example.com/")
    assert not is_local("http://192.168.1.10/")
    assert not is_local("https://fonts.googleapis.com/css")


def test_axe_reports_serious_violations_even_under_a_strict_csp(page: Page) -> None:
    page.set_content(
        """<!doctype html><html><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
        <title>Bad</title></head><body>
        <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
        <p style="color:#bbb;background:#fff">low contrast text</p>
        <button></button></body></html>"""
    )
    found = {v["id"]: v for v in axe(page)}
    assert {"image-alt", "color-contrast", "button-name", "html-has-lang"} <= set(found), found
    assert all(v["impact"] in ("serious", "critical") for v in found.values())
    assert found["image-alt"]["nodes"][0]["target"] == ["img"]


def test_assert_inert_finds_payload_markup_that_did_not_fire(page: Page) -> None:
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    data = '<script type="application/json">{"name": "<\\/script><script>alert(1)<\\/script>"}</script>'
    page.set_content(f'<p title="{escaped}">{escaped}</p>{data}')
    assert_inert(page)
    page.set_content('<div onclick="alert(2)">a name</div>')
    with pytest.raises(AssertionError, match="markup from a payload"):
        assert_inert(page)


def test_screenshots_at_every_viewport(page: Page) -> None:
    page.set_content(CLEAN)
    paths = screenshots(page, "machinery/clean page")
    assert [p.name for p in paths] == [f"machinery-clean-page-{v}.png" for v in VIEWPORTS]
    for path in paths:
        assert path.parent == ARTIFACTS and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.viewport_size == VIEWPORTS["desktop"]
    assert screenshot(page, "machinery-one").name == "machinery-one.png"


INNER = """
def test_a_page_that_logged_an_error(watch):
    watch._problems.append("console error: from the page")


def test_a_page_that_alerted(watch):
    watch._problems.append("dialog (alert): 'xss'")


def test_a_quiet_page(watch):
    pass
"""


def test_a_test_whose_page_misbehaved_fails(tmp_path: Path) -> None:
    """pytest, in a process of its own, with this folder's watch and hook: the two tests whose watch saw a
    problem fail with it in the report; the quiet one passes. (The other tests here show that what a real page
    does reaches the watch; this shows that the watch fails the test.)"""
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "__init__.py").write_text("")
    (inner / "conftest.py").write_text("from browser.conftest import pytest_runtest_call, watch  # noqa: F401\n")
    (inner / "test_inner.py").write_text(INNER)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(inner)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "2 failed, 1 passed" in out, out
    assert "the page did what a page must not:\n  - console error: from the page" in out, out
    assert "dialog (alert): 'xss'" in out, out


def test_the_watch_of_a_test_is_the_one_its_pages_report_to(request: pytest.FixtureRequest, watch: Watch) -> None:
    assert request.node.stash[WATCH] is watch


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_viewports_are_the_sizes_of_the_issue(name: str) -> None:
    width, height = {"desktop": (1366, 900), "phone": (390, 844), "tv": (1920, 1080), "tv-4k": (3840, 2160)}[name]
    assert VIEWPORTS[name] == {"width": width, "height": height}
