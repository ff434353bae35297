"""Logger and metrics, in a neutral module so that services and handlers share them without cycles.

No Powertools Tracer: the X-Ray SDK it imports builds botocore clients at import, which more than doubled every
cold start (bench/imports.py). `Tracing: Active` in template.yaml still traces each invocation end to end.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="podium")
metrics = Metrics(namespace="Podium", service="podium")
