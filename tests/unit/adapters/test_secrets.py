"""The Secrets port on SSM Parameter Store (moto): SecureStrings come back decrypted, are read once per instance for
a while, and a parameter that is missing or may not be read is a SecretMissing naming it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from podium.adapters.secrets import SsmSecrets
from podium.services.ports import SecretMissing

NAME = "/podium/acme/slack-webhook"
URL = "https://hooks.slack.com/services/T000/B000/XXXX"


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=NAME, Value=URL, Type="SecureString")
        yield client


def test_a_secure_string_comes_back_decrypted(ssm: Any) -> None:
    assert SsmSecrets("us-east-1").get(NAME) == URL


def test_the_client_is_made_at_the_first_read_not_before() -> None:
    secrets = SsmSecrets("us-east-1")
    assert "client" not in vars(secrets)


def test_a_secret_is_read_once_per_instance_while_it_is_fresh(ssm: Any) -> None:
    now = [0.0]
    secrets = SsmSecrets("us-east-1", ttl=300, clock=lambda: now[0])
    assert secrets.get(NAME) == URL
    ssm.put_parameter(Name=NAME, Value="https://hooks.slack.com/services/rotated", Type="SecureString", Overwrite=True)
    now[0] = 299.0
    assert secrets.get(NAME) == URL  # kept
    now[0] = 301.0
    assert secrets.get(NAME) == "https://hooks.slack.com/services/rotated"  # read again once stale
    assert SsmSecrets("us-east-1").get(NAME) == "https://hooks.slack.com/services/rotated"  # another instance reads


def test_a_missing_parameter_is_secret_missing_naming_it(ssm: Any) -> None:
    with pytest.raises(SecretMissing, match="There is no parameter /podium/acme/x-token in SSM Parameter Store"):
        SsmSecrets("us-east-1").get("/podium/acme/x-token")


def test_a_parameter_this_function_may_not_read_is_secret_missing_naming_it(ssm: Any) -> None:
    secrets = SsmSecrets("us-east-1")
    with Stubber(secrets.client) as stub:
        stub.add_client_error("get_parameter", "AccessDeniedException", "not authorized to perform ssm:GetParameter")
        with pytest.raises(SecretMissing, match=f"The parameter {NAME} may not be read"):
            secrets.get(NAME)


def test_other_errors_are_not_mistaken_for_a_missing_secret(ssm: Any) -> None:
    secrets = SsmSecrets("us-east-1")
    with Stubber(secrets.client) as stub:
        stub.add_client_error("get_parameter", "ThrottlingException", "Rate exceeded", http_status_code=400)
        with pytest.raises(Exception, match="ThrottlingException") as raised:
            secrets.get(NAME)
    assert not isinstance(raised.value, SecretMissing)
