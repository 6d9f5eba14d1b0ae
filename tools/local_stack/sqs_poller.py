"""Polls an SQS queue (moto's) for its mapped function the way Lambda's SQS event source mapping
does: batches of up to BatchSize messages, several batches in flight at once (Lambda scales its
pollers out), the batch handed over in Lambda's record shape; messages the function reports in
`batchItemFailures` — or all of them, when it raises — stay on the queue and come back after their
visibility timeout (or whatever the function set it to); the rest are deleted."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from local_stack.runtime import FunctionPool

log = logging.getLogger("local_stack.sqs")


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes") or {}
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": {k: attributes[k] for k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                                  "ApproximateFirstReceiveTimestamp") if k in attributes},
        "messageAttributes": message.get("MessageAttributes") or {}, "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region,
    }


class QueuePoller:
    def __init__(self, *, sqs: Any, queue_url: str, pool: FunctionPool, mapping: dict[str, Any],
                 workers: int = 4, region: str = "us-east-1") -> None:
        self.sqs, self.queue_url, self.pool, self.region = sqs, queue_url, pool, region
        self.batch_size = min(int(mapping.get("BatchSize", 10)), 10)
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.stop_event = threading.Event()
        self.last_ok: float | None = None
        self.errors = 0
        self.last_error: str | None = None
        self.threads = [threading.Thread(target=self._run, name=f"sqs-{pool.function.logical_id}-{n}", daemon=True)
                        for n in range(workers)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll_once()
                self.last_ok = time.time()
            except Exception as exc:  # keep polling: moto may be restarting
                if self.stop_event.is_set():
                    return  # stopping: moto may be gone already
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                log.exception("queue poll failed")
                self.stop_event.wait(0.5)

    def status(self) -> dict[str, Any]:
        """For /_local/health: its threads alive, and when one last polled without an error."""
        function = self.pool.function.logical_id
        return {"name": f"sqs-{function}", "kind": "sqs", "function": function,
                "alive": all(t.is_alive() for t in self.threads),
                "last_ok_s_ago": round(time.time() - self.last_ok, 1) if self.last_ok else None,
                "errors": self.errors, "last_error": self.last_error}

    def poll_once(self) -> int:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                            WaitTimeSeconds=1, AttributeNames=["All"],
                                            MessageAttributeNames=["All"])
        messages = response.get("Messages") or []
        if not messages:
            return 0
        records = [lambda_record(m, self.queue_arn, self.region) for m in messages]
        try:
            result = self.pool.invoke({"Records": records})
            failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])} \
                if isinstance(result, dict) else set()
        except Exception:
            log.exception("queue function raised; the batch stays on the queue")
            return len(messages)
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(done[start:start + 10])])
        return len(messages)
