"""The MIME a digest is sent as: headers a mail client can act on, both parts, UTF-8."""

from __future__ import annotations

from email import message_from_bytes, policy

from podium.adapters.mail import mime
from podium.services.ports import Email

LINK = "https://podium.example.org/u/" + "WyJ1bnN1YnNjcmliZSIsImRlbW8iLCJoZWFsdGhjYXJlLXNhbGVzIiwicmVwLTAwNyJd" * 2


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


def test_a_long_list_unsubscribe_stays_one_plain_line() -> None:
    raw = mime(message())
    assert f"List-Unsubscribe: <{LINK}>".encode() in raw.split(b"\r\n")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"=?utf-8?q?=3C" not in raw.lower()


def test_lines_end_in_crlf_and_both_parts_read_back() -> None:
    raw = mime(message())
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Q4 Sales Sprint: you're #1 of 230 — well done, Zoë"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi Zoë"  # type: ignore[union-attr]
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi Zoë</p>"  # type: ignore[union-attr]
    assert parsed["Date"]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(byte < 128 for byte in raw)  # 7-bit: headers encoded, bodies quoted-printable
