"""A local crash loses no webhook: moto's SQS keeps its messages in memory, so a delivery whose retry
was queued when the stack was killed is queued again by the next start, from what the table records."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import requests
from local_stack.receiver import Receiver

from tests.e2e.test_local_stack_console import alive, ready, start, stop, wait_gone

SCHEDULE = "0,6"  # the first attempt at once, the retry 6 s later: the crash comes in between


def test_a_retry_queued_when_the_stack_was_killed_is_delivered_after_the_next_start(tmp_path: Path):
    data = tmp_path / "data"
    receiver = Receiver(lambda _event_id, nth: 500 if nth == 1 else 200)  # the first attempt fails
    try:
        proc, out = start(data, "--port", "0", env={"WEBHOOK_RETRY_SCHEDULE": SCHEDULE})
        info = ready(proc, data, out)
        api, key = info["api_url"], {"Authorization": f"Bearer {info['secret_key']}"}
        endpoint = requests.post(f"{api}/v1/webhook_endpoints", headers=key, timeout=10,
                                 data={"url": receiver.url, "enabled_events[0]": "customer.created"}).json()
        receiver.secret = endpoint["secret"]
        customer = requests.post(f"{api}/v1/customers", headers=key, data={"email": "crash@example.com"},
                                 timeout=10).json()
        first = receiver.wait_for(lambda d: len(d) >= 1, 30)
        assert first and first[0].status == 500
        event_id = first[0].event_id
        time.sleep(1.0)  # the delivery function records the attempt and queues the retry (due in 6 s)
        children = list(info["children"].values())
        os.killpg(proc.pid, signal.SIGKILL)  # the crash: moto, and the queued retry with it, go
        proc.wait(timeout=10)
        assert wait_gone(children, 15) == []
        assert len(receiver.deliveries) == 1  # nothing more arrived: the retry was lost with moto

        second, out2 = start(data, "--port", "0", env={"WEBHOOK_RETRY_SCHEDULE": SCHEDULE})
        try:
            api2 = ready(second, data, out2)["api_url"]
            delivered = receiver.wait_for(lambda d: any(x.status == 200 for x in d), 40)
            again = [d for d in delivered if d.status == 200]
            assert again, (out2.read_text()[-2000:], [(d.nth, d.status) for d in delivered])
            assert again[0].event_id == event_id and again[0].nth == 2 and again[0].verified
            assert again[0].body["data"]["object"]["id"] == customer["id"]
            assert "re-queued 1 webhook deliveries" in out2.read_text()
            health = requests.get(f"{api2}/_local/health", timeout=10).json()
            assert health["recovery"]["requeued"] == 1 and health["recovery"]["deliveries"] == \
                [f"{event_id}→{endpoint['id']}"]
            # The event then counts no pending webhook.
            deadline, pending = time.monotonic() + 15, None
            while time.monotonic() < deadline:
                pending = requests.get(f"{api2}/v1/events/{event_id}", headers=key,
                                       timeout=10).json()["pending_webhooks"]
                if pending == 0:
                    break
                time.sleep(0.3)
            assert pending == 0
        finally:
            assert stop(second) == 0
            assert not alive(second.pid)
    finally:
        receiver.close()

