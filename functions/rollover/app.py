"""Rollover function: on a schedule, starts each new period's standings for metrics that carry values forward."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from podium.adapters.factory import store
from podium.observability import logger, metrics
from podium.services.rollover import start_new_periods


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = start_new_periods(store(), datetime.now(UTC))
    for s in started:
        logger.info("period started", extra={"org": s.org, "program": s.program, "period": s.period})
    metrics.add_metric(name="PeriodsStarted", unit=MetricUnit.Count, value=len(started))
    return {"started": [{"org": s.org, "program": s.program, "period": s.period} for s in started]}
