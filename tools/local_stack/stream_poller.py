"""Reads the table's stream and hands it to the mapped function as Lambda's event source mapping
would: filtered (FilterCriteria), in batches of BatchSize, honouring `batchItemFailures` (retry from
the lowest failed sequence number), bisecting on function errors, capping retries, and sending what
it gives up on to the on-failure queue. Positions are checkpointed so a restart resumes."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local_stack.filters import any_match
from local_stack.runtime import FunctionPool
from local_stack.template import filter_patterns

log = logging.getLogger("local_stack.stream")


def get_records_raw(streams: Any, **kwargs: Any) -> dict[str, Any]:
    """GetRecords as DynamoDB sent it. botocore's parsed form loses empty maps and lists inside
    images ({"M": {}} arrives as {}), so the records are taken from the wire JSON instead."""
    captured: dict[str, Any] = {}

    def keep(http_response: Any, **_: Any) -> None:
        captured["body"] = http_response.content

    streams.meta.events.register_first("after-call.dynamodbstreams.GetRecords", keep, unique_id="raw")
    try:
        parsed = streams.get_records(**kwargs)
    finally:
        streams.meta.events.unregister("after-call.dynamodbstreams.GetRecords", unique_id="raw")
    raw = json.loads(captured["body"]) if captured.get("body") else {}
    return {"Records": raw.get("Records", []), "NextShardIterator": parsed.get("NextShardIterator")}


def _fix_empty(value: Any) -> Any:
    """DynamoDB Local's stream writes an empty map attribute as {} where AWS writes {"M": {}}."""
    if value == {}:
        return {"M": {}}
    if isinstance(value, dict) and "M" in value:
        return {"M": {k: _fix_empty(v) for k, v in value["M"].items()}}
    if isinstance(value, dict) and "L" in value:
        return {"L": [_fix_empty(v) for v in value["L"]]}
    return value


def lambda_record(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams API record in the shape Lambda delivers it."""
    change = dict(raw["dynamodb"])
    for image in ("NewImage", "OldImage"):
        if image in change:
            change[image] = {k: _fix_empty(v) for k, v in change[image].items()}
    if isinstance(change.get("ApproximateCreationDateTime"), float):  # the wire has fractions; Lambda whole seconds
        change["ApproximateCreationDateTime"] = int(change["ApproximateCreationDateTime"])
    return {"eventID": raw["eventID"], "eventName": raw["eventName"], "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb", "awsRegion": raw.get("awsRegion", "us-east-1"),
            "dynamodb": change, "eventSourceARN": stream_arn}


class StreamPoller(threading.Thread):
    def __init__(self, *, streams: Any, dynamodb: Any, sqs: Any, table_name: str, pool: FunctionPool,
                 mapping: dict[str, Any], failure_queue_url: str | None, checkpoint_path: Path,
                 poll_interval: float = 0.2) -> None:
        super().__init__(name=f"stream-{pool.function.logical_id}", daemon=True)
        self.streams, self.dynamodb, self.sqs = streams, dynamodb, sqs
        self.table_name, self.pool, self.mapping = table_name, pool, mapping
        self.failure_queue_url = failure_queue_url
        self.checkpoint_path = checkpoint_path
        self.poll_interval = poll_interval
        self.batch_size = int(mapping.get("BatchSize", 100))
        self.max_retries = int(mapping.get("MaximumRetryAttempts", -1))
        self.bisect = bool(mapping.get("BisectBatchOnFunctionError", False))
        self.patterns = filter_patterns(mapping)
        self.stop_event = threading.Event()
        self.checkpoints: dict[str, str] = (
            json.loads(checkpoint_path.read_text()) if checkpoint_path.exists() else {})
        self.finished: set[str] = set(self.checkpoints.get("_finished", "").split())
        self.iterators: dict[str, str] = {}
        self.stream_arn = ""
        self.last_ok: float | None = None
        self.errors = 0
        self.last_error: str | None = None

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                busy = self.poll_once()
                self.last_ok = time.time()
            except Exception as exc:  # keep polling: DynamoDB Local may be restarting
                if self.stop_event.is_set():
                    return  # stopping: DynamoDB Local may be gone already
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                log.exception("stream poll failed")
                busy = False
            if not busy:
                self.stop_event.wait(self.poll_interval)

    def status(self) -> dict[str, Any]:
        """For /_local/health: alive, and when it last read the stream without an error."""
        return {"name": self.name, "kind": "dynamodb-stream", "function": self.pool.function.logical_id,
                "alive": self.is_alive(), "last_ok_s_ago": round(time.time() - self.last_ok, 1) if self.last_ok
                else None, "errors": self.errors, "last_error": self.last_error}

    def stop(self) -> None:
        self.stop_event.set()

    def poll_once(self) -> bool:
        if not self.stream_arn:
            table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
            self.stream_arn = table["LatestStreamArn"]
        busy = False
        for shard in self._shards():
            shard_id = shard["ShardId"]
            if shard_id in self.finished:
                continue
            iterator = self.iterators.get(shard_id) or self._iterator(shard_id)
            response = get_records_raw(self.streams, ShardIterator=iterator, Limit=self.batch_size)
            records = [lambda_record(r, self.stream_arn) for r in response.get("Records", [])]
            if records:
                busy = True
                self._deliver(shard_id, records)
                # Re-read from the checkpoint: a batch given up on, or delivered, is behind us.
                self.iterators.pop(shard_id, None)
                continue
            nxt = response.get("NextShardIterator")
            if nxt is None:
                self.finished.add(shard_id)
                self._save()
            else:
                self.iterators[shard_id] = nxt
        return busy

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(desc.get("Shards", []))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _iterator(self, shard_id: str) -> str:
        seq = self.checkpoints.get(shard_id)
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if seq:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return str(self.streams.get_shard_iterator(**kwargs)["ShardIterator"])

    # -- delivery with the event source mapping's failure semantics --------------------------------
    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        wanted = [r for r in records if any_match(self.patterns, r)]
        if wanted:
            self._invoke_until_done(shard_id, wanted)
        self._checkpoint(shard_id, records[-1])

    def _invoke_until_done(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        pending, attempt = batch, 0
        while pending and not self.stop_event.is_set():
            try:
                result = self.pool.invoke({"Records": pending})
                failed_ids = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])} \
                    if isinstance(result, dict) else set()
                function_error = False
            except Exception:
                log.exception("stream function raised")
                failed_ids, function_error = set(), True
            if not function_error and not failed_ids:
                return
            if function_error:
                if self.bisect and len(pending) > 1:
                    half = len(pending) // 2
                    self._invoke_until_done(shard_id, pending[:half])
                    self._invoke_until_done(shard_id, pending[half:])
                    return
                first = 0
            else:
                seqs = [r["dynamodb"]["SequenceNumber"] for r in pending]
                known = [seqs.index(s) for s in failed_ids if s in seqs]
                first = min(known) if known else 0
            if first:
                self._checkpoint(shard_id, pending[first - 1])
            pending = pending[first:]
            attempt += 1
            if 0 <= self.max_retries < attempt:
                self._give_up(shard_id, pending[:1] if len(pending) > 1 else pending, attempt)
                pending = pending[1:]
                attempt = 0
                continue
            time.sleep(min(0.05 * 2 ** attempt, 1.0))

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        """Lambda's on-failure record for a stream batch: where it was, not what it held."""
        log.error("giving up on %d stream record(s) after %d attempts", len(records), attempts)
        if not self.failure_queue_url:
            return
        now = datetime.now(UTC).isoformat()
        function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.pool.function.logical_id}"
        message = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts,
                               "functionArn": function_arn},
            "version": "1.0", "timestamp": now,
            "DDBStreamBatchInfo": {
                "shardId": shard_id, "streamArn": self.stream_arn, "batchSize": len(records),
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": now, "approximateArrivalOfLastRecord": now,
            },
        }
        self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(message))

    def _checkpoint(self, shard_id: str, record: dict[str, Any]) -> None:
        self.checkpoints[shard_id] = record["dynamodb"]["SequenceNumber"]
        self._save()

    def _save(self) -> None:
        self.checkpoints["_finished"] = " ".join(sorted(self.finished))
        tmp = self.checkpoint_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.checkpoints))
        tmp.replace(self.checkpoint_path)
