"""The pages the local stack serves today, in a real browser: the outbox, and the pages a score form lands on
(thank you, or what was wrong). Each loads with no console error and no request off the machine (the watch),
passes axe-core (serious and critical), is saved as screenshots, and shows payload names as text, inert."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape

import pytest
from playwright.sync_api import Page, Response, expect

from .kit import XSS_NAMES, Stack, Watch, check_page


def score_form(stack: Stack, token: str) -> str:
    """A score form as an intranet page would carry it: posted across sites to the program's submissions."""
    action = escape(f"{stack.url}/v1/programs/{stack.program}/submissions")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report a score</title></head>
<body><main><h1>Report a score</h1>
<form method="post" action="{action}">
  <input type="hidden" name="token" value="{escape(token)}">
  <label>Who <input name="participant"></label>
  <label>Calls <input name="calls"></label>
  <button>Send</button>
</form></main></body></html>"""


def send_form(page: Page, stack: Stack, participant: str, calls: str) -> int:
    """Fill in and send the score form in the browser; the status of the page it lands on."""
    page.set_content(score_form(stack, stack.submit_token()))
    page.get_by_label("Who").fill(participant)
    page.get_by_label("Calls").fill(calls)
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Send").click()
    response = landed.value
    assert response is not None
    assert response.url == f"{stack.url}/v1/programs/{stack.program}/submissions"
    return response.status


def test_the_outbox_page(page: Page, stack: Stack, visit: Callable[..., Response]) -> None:
    for text in XSS_NAMES:
        status, _, body = stack.call(
            "POST", "/outbox/channels/slack", json.dumps({"text": f"{text} leads the board"}), key=""
        )
        assert status == 200, body
    visit("/outbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    for text in XSS_NAMES:
        expect(page.get_by_role("cell", name=f"{text} leads the board")).to_be_visible()
    check_page(page, "outbox")


def test_a_score_form_lands_on_the_thank_you_page(page: Page, stack: Stack) -> None:
    assert send_form(page, stack, "ann", "4") == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your score was received.")
    expect(page).to_have_title("Score received · Podium")
    check_page(page, "form-thank-you")


def test_a_participant_with_a_payload_name_can_send_the_form(page: Page, stack: Stack) -> None:
    assert send_form(page, stack, "xss-script", "1") == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")


@pytest.mark.parametrize("swap", [False, True], ids=["script-as-participant", "img-as-participant"])
def test_payloads_in_the_form_show_inert_on_the_error_page(page: Page, watch: Watch, stack: Stack, swap: bool) -> None:
    participant, calls = reversed(XSS_NAMES) if swap else XSS_NAMES
    watch.allow_status(422)
    assert send_form(page, stack, participant, calls) == 422
    expect(page.get_by_role("heading", level=1)).to_have_text("Your score was not accepted.")
    # Both fields are wrong: someone not on the roster, and calls that are not a number.
    expect(page.get_by_role("listitem").filter(has_text="participant")).to_contain_text(participant)
    expect(page.get_by_role("listitem").filter(has_text="not a number")).to_contain_text(calls)
    check_page(page, f"form-error-{'img' if swap else 'script'}-as-participant")


def test_visit_checks_the_status_and_lets_an_expected_error_page_pass(
    page: Page, watch: Watch, visit: Callable[..., Response]
) -> None:
    visit("/outbox/no-such-file.json", status=404)
    assert watch.problems == []
    with pytest.raises(AssertionError, match="answered 404, not 200"):
        visit("/outbox/no-such-file.json")
