"""The one place Logger and Metrics are created. Log lines never carry personal data."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="customers-api")
