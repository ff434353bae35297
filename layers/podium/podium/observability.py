"""Logger, tracer and metrics, in a neutral module so that services and handlers share them without cycles."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="podium")
tracer = Tracer(service="podium")
metrics = Metrics(namespace="Podium", service="podium")
