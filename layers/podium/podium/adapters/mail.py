"""The Mailer port on Amazon SES v2: one raw MIME message per digest, so its List-Unsubscribe headers go with it.

Messages carry the configuration set (bounce and complaint events reach the mail-events function through SNS)
and tags naming the program and bulletin. The send rate is the account's (GetAccount's MaxSendRate) unless
PODIUM_SES_MAX_SEND_RATE says otherwise; if the account cannot be read, one a second, SES's sandbox rate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from functools import cached_property
from typing import Any

from podium.services.ports import Email, MailRejected

THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException", "MaxSendingRateExceeded"}
SANDBOX_RATE = 1.0
# CRLF, as SMTP wants; headers folded only past RFC 5322's hard limit of 998. At 78 a long List-Unsubscribe URL,
# which has no space to fold at, is written as an RFC 2047 encoded word, and no mail client reads a link in that.
MIME_POLICY = policy.SMTP.clone(max_line_length=998)


def mime(email: Email) -> bytes:
    """The message as SES sends it: a text part and an HTML alternative, UTF-8, with the email's own headers."""
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = email.sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    for name, value in email.headers.items():
        message[name] = value
    # Quoted-printable keeps every line 7-bit and short, whatever the policy's header limit.
    message.set_content(email.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()


class SesMailer:
    def __init__(
        self,
        region: str,
        configuration_set: str = "",
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.region, self.configuration_set, self.endpoint = region, configuration_set, endpoint
        self.env = os.environ if env is None else env

    @cached_property
    def client(self) -> Any:
        import boto3

        return boto3.client("sesv2", region_name=self.region, endpoint_url=self.endpoint)

    def send(self, email: Email) -> str:
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {"Raw": {"Data": mime(email)}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in email.tags.items()],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            reply = self.client.send_email(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            raise MailRejected(f"SES refused it: {code} {message}".strip(), throttled=code in THROTTLED) from None
        return str(reply.get("MessageId", ""))

    def max_send_rate(self) -> float:
        configured = self.env.get("PODIUM_SES_MAX_SEND_RATE", "").strip()
        if configured:
            return float(configured)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            quota = self.client.get_account().get("SendQuota", {})
        except (ClientError, BotoCoreError):
            return SANDBOX_RATE
        return float(quota.get("MaxSendRate") or SANDBOX_RATE)
