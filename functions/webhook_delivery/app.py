"""SQS → signed webhook POSTs. The messages of a batch are delivered concurrently, so a slow or
failing endpoint never holds up another's delivery; each message's outcome is reported on its own
(partial batch response)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.dal.table import get_table
from customers_core.logic import fanout
from customers_core.logic.delivery import Outcome, deliver
from customers_core.observability import logger

metrics = Metrics()  # namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME


def carry_out(record: dict[str, Any], outcome: Outcome) -> bool:
    """Act on the outcome with SQS; True if the message is done (deleted by the event source)."""
    if outcome.wait is not None:
        fanout.hide(record["receiptHandle"], outcome.wait)
        return False
    if outcome.retry is not None:
        fanout.send_later(outcome.retry, outcome.delay)
    if outcome.dead_letter is not None:
        fanout.dead_letter(outcome.dead_letter)
    return True


# Outcomes that were an HTTP attempt, and which of those failed (the failure-rate alarm's inputs).
ATTEMPTED = {"delivered", "retry", "dead_lettered", "disabled_gone", "disabled_failing", "failed"}
FAILED = ATTEMPTED - {"delivered"}


def handle_record(record: dict[str, Any]) -> tuple[bool, str]:
    try:
        outcome = deliver(get_table(), json.loads(record["body"]))
        return carry_out(record, outcome), outcome.result
    except Exception:
        # Left on the queue: it is received again after the visibility timeout; the queue's redrive
        # policy dead-letters a message that keeps failing like this.
        logger.exception("delivery message failed", extra={"message_id": record.get("messageId")})
        return False, "error"


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    if not records:
        return {"batchItemFailures": []}
    with ThreadPoolExecutor(max_workers=len(records)) as pool:
        outcomes = list(pool.map(handle_record, records))
    results = [result for _, result in outcomes]
    metrics.add_metric(name="WebhookDeliveryAttempts", unit=MetricUnit.Count,
                       value=sum(r in ATTEMPTED for r in results))
    metrics.add_metric(name="WebhookDeliveryFailures", unit=MetricUnit.Count, value=sum(r in FAILED for r in results))
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                  for r, (done, _) in zip(records, outcomes, strict=True) if not done]}
