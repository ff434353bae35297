"""Builds the adapters from configuration, once per process (at first use, not at import).

The adapter modules are imported here, at first use, too: they bring PynamoDB and botocore (about as much as
`import boto3`), which a handler's module need not load before its first request builds the store.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from podium.config import settings

if TYPE_CHECKING:
    from podium.adapters.bulletins import DynamoBulletins
    from podium.adapters.dynamodb import DynamoStore
    from podium.adapters.standings import DynamoStandings
    from podium.services.publish import Publisher


@cache
def store() -> DynamoStore:
    from podium.adapters.dynamodb import DynamoStore

    s = settings()
    return DynamoStore(s.table, s.region, s.dynamodb_endpoint)


@cache
def standings() -> DynamoStandings:
    from podium.adapters.standings import DynamoStandings

    return DynamoStandings(store())


@cache
def bulletins() -> DynamoBulletins:
    from podium.adapters.bulletins import DynamoBulletins

    return DynamoBulletins(store())


@cache
def publisher() -> Publisher:
    """Bulletins, with SES, the channels' secrets in SSM and the signing key in Secrets Manager. The endpoints
    come from the standard AWS_ENDPOINT_URL_* settings (moto's on the local stack)."""
    from podium.adapters.cards import render_card
    from podium.adapters.channels import channel_for
    from podium.adapters.digests import render_digest
    from podium.adapters.mail import SesMailer
    from podium.adapters.secrets import SsmSecrets
    from podium.adapters.signing import SecretsManagerKey
    from podium.services.publish import Publisher

    s = settings()
    secrets = SsmSecrets(s.region)
    return Publisher(
        store=store(),
        standings=standings(),
        bulletins=bulletins(),
        mailer=SesMailer(s.region, s.configuration_set) if s.mail_from else None,
        channel_for=lambda config: channel_for(config, secrets),
        render_digest=render_digest,
        render_card=render_card,
        signing_key=SecretsManagerKey(s.signing_secret, s.region),
        public_url=s.public_url,
        sender=s.mail_from,
    )
