"""Publish function: bulletins on each program's schedule and on demand, their previews, and unsubscribing.
`mail_events` takes SES's bounce and complaint events (through SNS) and suppresses those addresses."""

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from podium.api import bulletin_routes
from podium.api.app import build_app
from podium.observability import logger, metrics

app = build_app(bulletin_routes.router)
RESERVE_MS = bulletin_routes.RESERVE_MS


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return scheduled(context)
    return app.resolve(event, context)


def scheduled(context: LambdaContext) -> dict[str, Any]:
    from dataclasses import replace

    from podium.adapters.factory import publisher

    p = replace(publisher(), time_left=lambda: (context.get_remaining_time_in_millis() - RESERVE_MS) / 1000)
    made = p.run_schedule(datetime.now(UTC))
    for b in made:
        logger.info("bulletin", extra={"org": b.org, "program": b.program, "bulletin": b.id, "state": b.state})
        sent = b.summary.get("digests", {}).get("sent", 0) if isinstance(b.summary.get("digests"), dict) else 0
        metrics.add_metric(name="DigestsSent", unit=MetricUnit.Count, value=sent)
    metrics.add_metric(name="Bulletins", unit=MetricUnit.Count, value=len(made))
    return {"bulletins": [{"org": b.org, "program": b.program, "id": b.id, "state": b.state.value} for b in made]}


@logger.inject_lambda_context
def mail_events(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from podium.adapters.factory import bulletins
    from podium.services.publish import record_mail_events

    messages = []
    for record in event.get("Records", []):
        try:
            messages.append(json.loads(record.get("Sns", {}).get("Message", "")))
        except ValueError:
            logger.warning("not an SES event", extra={"message_id": record.get("Sns", {}).get("MessageId")})
    suppressed = record_mail_events(bulletins(), messages, datetime.now(UTC))
    return {"suppressed": suppressed}
