"""DynamoDB stream → events. Each customer change record becomes one event item and its delivery
messages (logic.fanout), and what the change's request left for afterwards is done
(dal.customers.settle_change); a record that fails is reported alone (partial batch response), so its
neighbours are neither blocked nor re-sent."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from customers_core.dal.customers import settle_change
from customers_core.dal.table import Item, get_table
from customers_core.logic.fanout import record_event
from customers_core.observability import logger
from customers_core.settings import get_settings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# The webhook endpoints of each account+mode, read once per batch (a burst of one account's changes
# then costs one Query, not one per record); a new batch reads them afresh.
_endpoints_of_batch: dict[str, list[Item]] = {}


def handle_record(record: DynamoDBRecord) -> None:
    settle_change(get_table(), record.raw_event)
    event_id = record_event(get_table(), record.raw_event, get_settings().event_retention_days, _endpoints_of_batch)
    if event_id:
        logger.info("event recorded", extra={"event_id": event_id, "stream_event_id": record.event_id})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _endpoints_of_batch.clear()
    try:
        return process_partial_response(event=event, record_handler=handle_record, processor=processor,
                                        context=context)
    finally:
        _endpoints_of_batch.clear()
