"""The MIME a digest is sent as: headers a mail client can act on, both parts, UTF-8.

`mime` is written by hand, for speed; these tests read what it writes with the email package, as a mail client
would, and hold it to what the email package itself wrote (`stdlib_mime`, kept here as the reference).
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.adapters.mail import SesMailer, mime
from podium.services.ports import Email, MailRejected

LINK = "https://podium.example.org/u/" + "WyJ1bnN1YnNjcmliZSIsImRlbW8iLCJoZWFsdGhjYXJlLXNhbGVzIiwicmVwLTAwNyJd" * 2
TRICKY_TEXT = (
    "Hi Zoë\n"
    "Zoë — 1,240 pts ▲3\n"
    f"{'a long line ' * 25}\n"  # 300 characters: soft line breaks
    f"{'x' * 300}\n"  # 300 with no space at all
    "From the board: a line a mailbox might take for the start of a message\n"
    ".\n"  # alone, SMTP's end of the message
    ". a line starting with a dot\n"
    "trailing spaces   \n"
    "a trailing tab\t\n"
    "= signs =3D and =?utf-8?q?not_a_word?= \n"
    "\n"
    "the end\n"
)
TRICKY_HTML = (
    '<table role="presentation" style="width:100%"><tr><td style="font: 16px/1.4 sans-serif">'
    "<p>Zoë — 1,240 pts ▲3</p></td></tr></table>\n"
    f"<p>{'&nbsp;' * 60}</p>\n"
    "From <b>here</b>\n"
    ".\n"
    "<p>spaces before the end</p>   \n"
)


def message(**changes: str) -> Email:
    base = {
        "to": "zoë@example.org",
        "sender": "Podium <podium@example.org>",
        "subject": "Q4 Sales Sprint: you're #1 of 230 — well done, Zoë",
        "html": "<p>Hi Zoë</p>",
        "text": "Hi Zoë",
    }
    return Email(
        **{**base, **changes},
        headers={"List-Unsubscribe": f"<{LINK}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def stdlib_mime(email: Email) -> bytes:
    """The email package's message, as `mime` wrote it before it was written by hand: the reference."""
    built = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    built["From"] = email.sender
    built["To"] = email.to
    built["Subject"] = email.subject
    built["Date"] = formatdate(usegmt=True)
    for name, value in email.headers.items():
        built[name] = value
    built.set_content(email.text, charset="utf-8", cte="quoted-printable")
    built.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return built.as_bytes()


def parsed(raw: bytes) -> EmailMessage:
    read = message_from_bytes(raw, policy=policy.default)
    assert isinstance(read, EmailMessage)
    return read


def parts(raw: bytes) -> tuple[str, str]:
    """The text and HTML as a mail client reads them, line breaks as Python writes them."""
    read = parsed(raw)
    text, html = read.get_body(("plain",)), read.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def lines_of(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    return raw[:-2].split(b"\r\n")


def test_a_long_list_unsubscribe_stays_one_plain_line() -> None:
    raw = mime(message())
    assert f"List-Unsubscribe: <{LINK}>".encode() in raw.split(b"\r\n")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"=?utf-8?q?=3C" not in raw.lower()
    assert parsed(raw)["List-Unsubscribe"] == f"<{LINK}>"


def test_lines_end_in_crlf_and_both_parts_read_back() -> None:
    raw = mime(message())
    assert b"\n" not in raw.replace(b"\r\n", b"")
    read = parsed(raw)
    assert read["Subject"] == "Q4 Sales Sprint: you're #1 of 230 — well done, Zoë"
    assert read.get_body(("plain",)).get_content().strip() == "Hi Zoë"  # type: ignore[union-attr]
    assert read.get_body(("html",)).get_content().strip() == "<p>Hi Zoë</p>"  # type: ignore[union-attr]
    assert read["Date"]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(byte < 128 for byte in raw)  # 7-bit: headers encoded, bodies quoted-printable


def test_both_parts_read_back_exactly_as_given() -> None:
    raw = mime(message(text=TRICKY_TEXT, html=TRICKY_HTML))
    assert parts(raw) == (TRICKY_TEXT, TRICKY_HTML)


def test_a_part_without_a_last_line_break_gets_one_as_the_email_package_gave_it() -> None:
    raw = mime(message(text="the end", html="<p>the end</p>"))
    assert parts(raw) == ("the end\n", "<p>the end</p>\n")


def test_cr_and_crlf_in_a_part_become_line_breaks_never_a_bare_cr() -> None:
    raw = mime(message(text="one\r\ntwo\rthree\n", html="<p>a</p>\r\n<p>b</p>\r\n"))
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert parts(raw) == ("one\ntwo\nthree\n", "<p>a</p>\n<p>b</p>\n")


def test_every_line_is_7_bit_within_the_limits_and_ends_in_crlf() -> None:
    raw = mime(message(text=TRICKY_TEXT, html=TRICKY_HTML))
    assert all(byte < 128 for byte in raw)
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in lines_of(raw))
    body = raw.split(b"\r\n\r\n", 1)[1]
    boundary = parsed(raw).get_boundary()
    assert boundary is not None
    for line in lines_of(body):
        if not line.startswith(b"--" + boundary.encode()):
            assert len(line) <= 76, line  # quoted-printable's limit
            assert not line.endswith((b" ", b"\t")), line  # trailing blanks encoded: a relay may strip them
    assert b"\r\n.\r\n" not in raw  # a line of "." is encoded, not SMTP's end of data


def test_the_parts_are_utf_8_quoted_printable_alternatives() -> None:
    read = parsed(mime(message(text=TRICKY_TEXT, html=TRICKY_HTML)))
    assert read["MIME-Version"] == "1.0"
    assert read.get_content_type() == "multipart/alternative"
    kinds = [(p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"]) for p in read.iter_parts()]
    assert kinds == [("text/plain", "utf-8", "quoted-printable"), ("text/html", "utf-8", "quoted-printable")]
    assert not read.defects and not any(p.defects for p in read.iter_parts())


def test_the_boundary_is_new_each_time_and_cannot_turn_up_in_a_part() -> None:
    first, second = parsed(mime(message())).get_boundary(), parsed(mime(message())).get_boundary()
    assert first and second and first != second
    assert "=_" in first  # quoted-printable never writes "=_"


def test_a_non_ascii_subject_is_encoded_words_and_reads_back() -> None:
    subject = "Q4 Sales Sprint: you're #1 of 230 — well done, Zoë ▲3 " + "é" * 120 + " ok?=_ =?x?q?y?="
    raw = mime(message(subject=subject))
    line = next(line for line in lines_of(raw) if line.startswith(b"Subject: "))
    assert line.startswith(b"Subject: Q4 Sales Sprint: you're #1 of 230 =?utf-8?q?")  # ASCII words stay readable
    words = re.findall(rb"=\?utf-8\?q\?[^?]*\?=", line)
    assert words and all(len(word) <= 75 for word in words)  # RFC 2047's limit on a word
    assert parsed(raw)["Subject"] == subject


def test_an_ascii_subject_that_looks_like_an_encoded_word_reads_back_as_it_is() -> None:
    subject = "Ranks =?utf-8?q?=41?= moved"
    assert parsed(mime(message(subject=subject)))["Subject"] == subject


def test_non_ascii_addresses_are_encoded_and_read_back() -> None:
    raw = mime(message(sender="Podium — Zoë's team <podium@example.org>", to="Zoë Okafor <zoe@example.org>"))
    assert all(byte < 128 for byte in raw)
    read = parsed(raw)
    assert read["From"].addresses[0].display_name == "Podium — Zoë's team"
    assert read["From"].addresses[0].addr_spec == "podium@example.org"
    assert read["To"].addresses[0].display_name == "Zoë Okafor"
    assert read["To"].addresses[0].addr_spec == "zoe@example.org"
    assert b"\r\nTo: =?utf-8?q?Zo=C3=AB?= Okafor <zoe@example.org>\r\n" in raw


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hi\r\nBcc: everyone@example.org"},
        {"subject": "Hi\nthere"},
        {"subject": "Zoë\rthere"},
        {"to": "zoe@example.org\r\nBcc: everyone@example.org"},
        {"sender": "Podium <podium@example.org>\n"},
        {"sender": "Zoë <podium@example.org>\r\n\r\n<p>a body of my own</p>"},
    ],
)
def test_a_line_break_in_a_header_raises_rather_than_write_a_header_of_its_own(changes: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="line break"):
        mime(message(**changes))


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Unsubscribe": f"<{LINK}>\r\nBcc: everyone@example.org"},
        {"X-Podium": "a\nb"},
        {"X-Bad: name": "a"},
        {"X Bad": "a"},
        {"": "a"},
        {"Content-Type": "text/plain"},
        {"from": "someone@example.org"},
    ],
)
def test_a_bad_extra_header_raises(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        mime(Email("zoe@example.org", "podium@example.org", "Hi", "<p>Hi</p>", "Hi", headers=headers))


def test_the_ses_mailer_rejects_a_message_it_cannot_write_so_the_run_goes_on() -> None:
    mailer = SesMailer("eu-west-1")  # no client is made: the message fails before any call
    with pytest.raises(MailRejected, match="line break"):
        mailer.send(message(subject="Hi\r\nBcc: everyone@example.org"))


def test_a_header_past_998_characters_is_folded_at_a_space_and_reads_back() -> None:
    value = " ".join(f"<https://podium.example.org/u/{n:04d}/{'a' * 80}>," for n in range(20)).rstrip(",")
    raw = mime(Email("zoe@example.org", "podium@example.org", "Hi", "<p>Hi</p>", "Hi", {"X-Links": value}))
    assert all(len(line) <= 998 for line in lines_of(raw))
    assert parsed(raw)["X-Links"] == value


def test_a_word_too_long_for_any_line_raises() -> None:
    with pytest.raises(ValueError, match="longer than 998"):
        mime(message(subject="x" * 1000))


@pytest.mark.parametrize(
    "email",
    [
        message(),
        message(text=TRICKY_TEXT, html=TRICKY_HTML),
        message(text="", html=""),
        message(sender="Podium — Zoë <podium@example.org>", to="p00001@example.org", subject="ASCII only"),
        message(subject="▲" * 40),
    ],
)
def test_it_reads_as_the_email_package_s_message_read(email: Email) -> None:
    ours, reference = parsed(mime(email)), parsed(stdlib_mime(email))
    for name in ("From", "To", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
        assert str(ours[name]) == str(reference[name]), name
    assert ours.get_content_type() == reference.get_content_type()
    assert parts(mime(email)) == parts(stdlib_mime(email))


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)  # anything UTF-8 can write
# Few characters, many blanks and breaks: where quoted-printable's line lengths go wrong.
EDGES = st.text(st.sampled_from(["a", " ", "\t", "\n", "\r", "=", "é", "."]), max_size=400)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, EDGES), st.one_of(TEXT, EDGES))
def test_any_text_reads_back_as_the_email_package_s_did(text: str, html: str) -> None:
    email = message(text=text, html=html)
    raw = mime(email)
    assert all(byte < 128 for byte in raw)
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in lines_of(body))  # the boundary lines too: 2 + 34
    assert parts(raw) == parts(stdlib_mime(email))
