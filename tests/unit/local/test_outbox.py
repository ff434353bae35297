"""The outbox: SES and SES v2 sends kept as .eml files with HTML previews, channel posts kept as JSON, listed on a
page that escapes what it shows. SES is moto's server, as in the local stack."""

from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from podium_cli.local.outbox import Outbox, outbox_page, ses_server

HTML = "<p>Hello <b>Ann</b></p>"
TEXT = "Hello Ann\nYou lead the board."


@dataclass
class Ses:
    outbox: Outbox
    v1: Any
    v2: Any


@pytest.fixture
def ses(tmp_path: Path) -> Iterator[Ses]:
    outbox = Outbox(tmp_path / "outbox")
    with ses_server(outbox) as endpoint:
        yield Ses(outbox, boto3.client("ses", endpoint_url=endpoint), boto3.client("sesv2", endpoint_url=endpoint))


def saved(outbox: Outbox, record: dict[str, Any]) -> EmailMessage:
    message = message_from_bytes((outbox.folder / record["files"]["eml"]).read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content().strip(), text.get_content().strip()


def test_an_ses_v1_email_from_an_unverified_sender_is_kept_with_both_parts(ses: Ses) -> None:
    sent = ses.v1.send_email(
        Source="Podium <digest@podium.example>",
        Destination={"ToAddresses": ["ann@example.com"], "CcAddresses": ["bob@example.com"]},
        Message={"Subject": {"Data": "Your week"}, "Body": {"Text": {"Data": TEXT}, "Html": {"Data": HTML}}},
    )
    (record,) = ses.outbox.entries()
    assert (record["kind"], record["api"], record["message_id"]) == ("email", "ses SendEmail", sent["MessageId"])
    assert (record["from"], record["to"], record["cc"]) == (
        "Podium <digest@podium.example>",
        ["ann@example.com"],
        ["bob@example.com"],
    )
    message = saved(ses.outbox, record)
    assert (message["Subject"], message["To"]) == ("Your week", "ann@example.com")
    assert parts(message) == (HTML, TEXT)


def test_moto_keeps_one_body_part_so_the_outbox_keeps_the_request(ses: Ses) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    sent = ses.v2.send_email(
        FromEmailAddress="digest@podium.example",
        Destination={"ToAddresses": ["ann@example.com"]},
        Content={"Simple": {"Subject": {"Data": "Both"}, "Body": {"Text": {"Data": TEXT}, "Html": {"Data": HTML}}}},
    )
    (in_moto,) = [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages if m.id == sent["MessageId"]]
    assert in_moto.body == HTML  # the text part is gone there
    (record,) = ses.outbox.entries()
    assert parts(saved(ses.outbox, record)) == (HTML, TEXT)


def test_an_ses_v2_simple_email_with_text_only_is_kept(ses: Ses) -> None:
    ses.v2.send_email(
        FromEmailAddress="digest@podium.example",
        Destination={"ToAddresses": ["ann@example.com"], "BccAddresses": ["audit@example.com"]},
        ReplyToAddresses=["coach@example.com"],
        Content={"Simple": {"Subject": {"Data": "Plain"}, "Body": {"Text": {"Data": TEXT}}}},
    )
    (record,) = ses.outbox.entries()
    assert (record["api"], record["bcc"]) == ("sesv2 SendEmail (Simple)", ["audit@example.com"])
    message = saved(ses.outbox, record)
    assert message["Reply-To"] == "coach@example.com"
    assert message.get_body(("html",)) is None
    assert message.get_content().strip() == TEXT


def raw_email(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Podium <raw@podium.example>"
    message["To"] = "ann@example.com"
    message["Subject"] = subject
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")
    return message.as_bytes()


def test_raw_emails_through_ses_v1_and_v2_are_kept_byte_for_byte(ses: Ses) -> None:
    v1_raw, v2_raw = raw_email("Raw one"), raw_email("Raw two")
    ses.v1.send_raw_email(RawMessage={"Data": v1_raw})
    ses.v2.send_email(Destination={"ToAddresses": ["ann@example.com"]}, Content={"Raw": {"Data": v2_raw}})
    newest, oldest = ses.outbox.entries()
    assert (oldest["api"], oldest["subject"], oldest["to"]) == ("ses SendRawEmail", "Raw one", ["ann@example.com"])
    assert (newest["api"], newest["subject"]) == ("sesv2 SendEmail (Raw)", "Raw two")
    assert (ses.outbox.folder / oldest["files"]["eml"]).read_bytes() == v1_raw
    assert (ses.outbox.folder / newest["files"]["eml"]).read_bytes() == v2_raw


def test_a_send_ses_refuses_is_not_kept(ses: Ses) -> None:
    with pytest.raises(ClientError):
        ses.v2.send_email(
            FromEmailAddress="digest@podium.example",
            Destination={"ToAddresses": ["not an address"]},
            Content={"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}},
        )
    assert ses.outbox.entries() == []


def test_the_html_preview_shows_the_email_without_running_its_scripts(ses: Ses) -> None:
    ses.v2.send_email(
        FromEmailAddress="digest@podium.example",
        Destination={"ToAddresses": ["ann@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "<script>alert(1)</script>"},
                "Body": {"Text": {"Data": TEXT}, "Html": {"Data": "<p>Hi</p><script>alert(2)</script>"}},
            }
        },
    )
    (record,) = ses.outbox.entries()
    preview = (ses.outbox.folder / record["files"]["html"]).read_text()
    assert "<script>" not in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    assert '<iframe sandbox title="HTML part" srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;alert(2)' in preview
    assert "You lead the board." in preview


def test_a_channel_post_is_kept_with_its_destination_and_no_credentials(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    headers = {
        "Content-Type": "application/json",
        "X-Podium-Destination": "slack:#sales",
        "Authorization": "Bearer s3cret",
    }
    outbox.record_post("POST", "/outbox/channels/slack", headers, b'{"text": "Ann leads\\nby 3 points"}')
    outbox.record_post("PUT", "/outbox/channels/x", {"Content-Type": "text/plain"}, b"just text")
    text_post, slack_post = outbox.entries()
    assert (slack_post["destination"], slack_post["method"], slack_post["path"]) == (
        "slack:#sales",
        "POST",
        "/outbox/channels/slack",
    )
    assert slack_post["body"] == {"text": "Ann leads\nby 3 points"}
    assert slack_post["summary"] == "Ann leads"
    assert slack_post["headers"]["Authorization"] == "[redacted]"
    assert "s3cret" not in (tmp_path / slack_post["files"]["json"]).read_text()
    assert (text_post["body"], text_post["to"]) == ("just text", ["/outbox/channels/x"])


@pytest.mark.parametrize(
    "name", ["../secret.json", "..", "sub/x.json", "..%2fsecret.json", ".hidden", "", "nothere.json"]
)
def test_only_files_inside_the_outbox_are_served(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.json").write_text("{}")
    outbox = Outbox(tmp_path / "outbox")
    (outbox.folder / "sub").mkdir()
    (outbox.folder / "sub" / "x.json").write_text("{}")
    (outbox.folder / ".hidden").write_text("{}")
    assert outbox.file(name) is None


def test_a_file_of_the_outbox_is_served(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    record = outbox.record_post("POST", "/outbox/channels/teams", {}, b"{}")
    assert outbox.file(record["files"]["json"]) == (tmp_path / record["files"]["json"]).resolve()


def test_the_page_escapes_what_it_lists(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.record_post(
        "POST", "/outbox/channels/slack", {"X-Podium-Destination": "<b>x</b>"}, b'{"text": "<script>1</script>"}'
    )
    page = outbox_page(outbox, [])
    assert "<script>1" not in page and "<b>x" not in page
    assert "&lt;script&gt;1&lt;/script&gt;" in page


def test_an_empty_outbox_says_so_and_names_the_functions_with_schedules(tmp_path: Path) -> None:
    schedule = {
        "function": "DigestFunction",
        "expression": "cron(0 8 ? * MON *)",
        "timezone": "UTC",
        "next": "2026-11-30T08:00:00Z",
    }
    page = outbox_page(Outbox(tmp_path), [schedule])
    assert "Nothing has been sent yet." in page
    assert "DigestFunction" in page and "podium local fire DigestFunction" in page
    assert "no function a schedule" in outbox_page(Outbox(tmp_path), [])


def test_the_page_lists_the_newest_rows_and_says_how_many_there_are(tmp_path: Path) -> None:
    from podium_cli.local.outbox import OUTBOX_PAGE_ROWS

    outbox = Outbox(tmp_path / "outbox")
    for i in range(OUTBOX_PAGE_ROWS + 5):
        outbox.record_post("POST", "/slack", {"Content-Type": "application/json"}, f'{{"text": "post {i}"}}'.encode())
    page = outbox_page(outbox, [])
    assert page.count("<tr>") == OUTBOX_PAGE_ROWS + 1  # the header row too
    assert f"The newest {OUTBOX_PAGE_ROWS} of {OUTBOX_PAGE_ROWS + 5}" in page
    assert f"post {OUTBOX_PAGE_ROWS + 4}" in page and "post 0<" not in page


def test_a_post_s_pictures_are_kept_once_and_only_this_stack_s_links_are_shown(tmp_path: Path) -> None:
    from podium_cli.local.outbox import Picture

    outbox = Outbox(tmp_path)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    for _ in range(2):  # the same picture twice: one file
        outbox.record_post("POST", "/2/media/upload", {}, b"{}", [Picture(data=png)])
    outbox.record_post(
        "POST",
        "/slack/a",
        {"Content-Type": "application/json"},
        b'{"text": "hi"}',
        [
            Picture("ours", url="http://127.0.0.1:8765/v1/programs/p/bulletins/b/card.png?board=participants&link=t"),
            Picture("protocol-relative", url="http://127.0.0.1:8765//evil.example/x.png"),
            Picture("another port", url="http://127.0.0.1:9999/x.png"),
            Picture("script", url="javascript:alert(1)"),
            Picture("not a picture", data=b"MZ\x90\x00"),
        ],
    )
    assert len(list(tmp_path.glob("picture-*.png"))) == 1 and not list(tmp_path.glob("picture-*[!g]"))
    slack = outbox.entries()[0]
    assert "file" not in slack["pictures"][4] and slack["pictures"][4]["bytes"] == 4

    page = outbox_page(outbox, [], "http://127.0.0.1:8765")
    assert 'src="/v1/programs/p/bulletins/b/card.png?board=participants&amp;link=t"' in page
    assert 'src="/evil.example/x.png"' in page  # one leading slash: still this stack
    assert 'src="//' not in page and 'src="javascript' not in page and 'src="http' not in page
    assert "http://127.0.0.1:9999/x.png" in page and "javascript:alert(1)" in page  # named, not fetched
    assert page.count('src="/outbox/picture-') == 2
