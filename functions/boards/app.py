"""Boards function: standings at every level and participants' scorecards, as JSON and as pages; read-only."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from podium.api.app import build_app
from podium.api.board_routes import router
from podium.api.page_routes import router as pages
from podium.observability import logger, metrics

app = build_app(router, pages)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
