"""Fixtures of the browser tests: one Chromium and one local stack for them all, a watched page per test.

Package-scoped, not session-scoped: in a run of every test, the browser and the stack stop once the last
browser test is done, not after the other suites have run beside them.

`page` is a Playwright page in a new browser context (desktop viewport) whose every console error, uncaught
exception, JavaScript dialog and request off this machine fails the test (see kit.Watch). `stack` is
`podium local --in-memory` with the organisation `web`, the program `sprint` and a roster with payload names
(and two more programs: one whose every text is a payload, one unlisted); `embedder` is another origin's site.

Without chromium (or Playwright, or axe-core) the tests are skipped, except on CI (CI set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .kit import CHROMIUM_ARGS, VIEWPORTS, Site, Stack, Watch, chromium_path, missing_browser, start_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response

WATCH = pytest.StashKey[Watch]()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests must run on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    reason = missing_browser()
    if reason:
        _unavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, launched once (never a browser Playwright downloads)."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def embedder() -> Iterator[Site]:
    """Another site on this machine (its own port): the one origin the program `sprint` allows to frame its
    widget and read its boards' JSON (`allowed_origins`). Tests put pages in `embedder.pages`."""
    with Site() as site:
        yield site


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, embedder: Site) -> Iterator[Stack]:
    """One `podium local --in-memory` for every browser test (org `web`, program `sprint`, its roster; the
    programs `xss` and `backroom`: kit.start_stack)."""
    stack = start_stack(tmp_path_factory.mktemp("browser-stack") / "podium", allowed_origins=(embedder.origin,))
    yield stack
    stack.local.stop()


@pytest.fixture
def watch(request: pytest.FixtureRequest) -> Watch:
    """What the test's pages did wrong; the test fails when it is not empty at the end (`watch.take()` reads
    and forgets it, for a test that provokes a problem on purpose)."""
    watch = Watch()
    request.node.stash[WATCH] = watch
    return watch


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no storage), desktop-sized, in English, on UTC, watched."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"], locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(10_000)
    watch.attach(context)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def visit(page: Page, watch: Watch, request: pytest.FixtureRequest) -> Callable[..., Response]:
    """`visit("/p/web/sprint", status=200)`: the page goes to a path of the stack (or a whole URL) and must be
    answered with `status`; an error status asked for here is allowed by the watch. Returns the response."""

    def go(url: str, status: int = 200) -> Response:
        if url.startswith("/"):
            url = request.getfixturevalue("stack").url + url
        if status >= 400:
            watch.allow_status(status)
        response = page.goto(url)
        assert response is not None, f"no response for {url}"
        assert response.status == status, f"{url} answered {response.status}, not {status}"
        return response

    return go


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose pages logged an error, threw, opened a dialog or reached off the machine fails, with the
    list; when it failed anyway, the list is added to its report."""
    try:
        result = yield
    except BaseException:
        watch = item.stash.get(WATCH, None)
        if watch is not None and watch.problems:
            item.add_report_section("call", "browser", watch.report())
        raise
    watch = item.stash.get(WATCH, None)
    if watch is not None and watch.problems:
        pytest.fail(f"the page did what a page must not:\n{watch.report()}", pytrace=False)
    return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
