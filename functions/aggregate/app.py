"""Aggregate function: consumes the table's stream and recomputes the standings the records touch.

It reports partial batch failures itself rather than through Powertools' BatchProcessor: recomputing each
aggregate once per batch needs the whole batch before any work starts, and a failed aggregate is reported by the
first record that asked for it, so Lambda retries from there.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from podium.adapters.factory import standings, store
from podium.adapters.streams import events_from_stream
from podium.observability import logger, metrics
from podium.services.aggregate import recompute


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    catalog = store()
    events = events_from_stream(event)
    metrics.add_metric(name="StreamRecords", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    failed = recompute(events, standings(), catalog, datetime.now(UTC))
    if failed:
        logger.warning("some aggregates failed; Lambda will retry from the first", extra={"failed": failed})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
