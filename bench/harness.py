"""What the benchmarks share: offline AWS settings and a DynamoDB Local of their own."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable


def offline_aws(table: str, **extra: str) -> None:
    """Settings that keep boto3 off real AWS and Powertools quiet, for handlers run in this process."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "PODIUM_TABLE": table,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "PodiumBench",
            **extra,
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def on_dynamodb_local(run: Callable[[str], None]) -> int:
    """Run `run(endpoint)` against a DynamoDB Local in memory started for it, and stop it afterwards."""
    from podium_cli.local.dynamodb import start

    print("starting DynamoDB Local …", file=sys.stderr, flush=True)
    ddb = start()
    try:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.endpoint
        run(ddb.endpoint)
    finally:
        ddb.stop()
    return 0
