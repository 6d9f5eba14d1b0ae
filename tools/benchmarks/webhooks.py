"""Webhook delivery through the local stack: time from a write to its first delivery attempt, and
delivery throughput with ten endpoints that each take 50 ms to answer."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from local_stack.receiver import Receiver

SLOW_ANSWER_S = 0.05


def _register(session: requests.Session, api: str, receiver: Receiver) -> None:
    response = session.post(f"{api}/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]},
                            timeout=30)
    response.raise_for_status()
    receiver.secret = response.json()["secret"]


def _account_session(info: dict[str, Any]) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {info['secret_key']}"
    return session


def write_to_delivery(info: dict[str, Any], writes: int) -> list[float]:
    """ms from sending a create to its event's first delivery attempt arriving, one write at a time."""
    session, api = _account_session(info), info["api_url"]
    receiver = Receiver()
    _register(session, api, receiver)
    latencies = []
    try:
        for i in range(writes):
            t0 = time.time()
            customer = session.post(f"{api}/v1/customers", json={"name": f"Latency {i}"}, timeout=30).json()
            got = receiver.wait_for(lambda d, cid=customer["id"]: any(
                x.body["data"]["object"]["id"] == cid for x in d), 60)
            arrival = next(x.received_at for x in got if x.body["data"]["object"]["id"] == customer["id"])
            latencies.append((arrival - t0) * 1000)
    finally:
        receiver.close()
        for endpoint in session.get(f"{api}/v1/webhook_endpoints", timeout=30).json()["data"]:
            session.delete(f"{api}/v1/webhook_endpoints/{endpoint['id']}", timeout=30)
    return latencies


def throughput(info: dict[str, Any], endpoints: int, customers: int) -> dict[str, float]:
    """Deliveries per second with `endpoints` endpoints each answering after 50 ms; the most requests
    any moment had in flight at the receivers shows whether deliveries overlap."""
    session, api = _account_session(info), info["api_url"]
    lock = threading.Lock()
    in_flight = {"now": 0, "max": 0}

    def slow(_event_id: str, _nth: int) -> int:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(SLOW_ANSWER_S)
        with lock:
            in_flight["now"] -= 1
        return 200

    receivers = [Receiver(slow) for _ in range(endpoints)]
    try:
        for receiver in receivers:
            _register(session, api, receiver)
        t0 = time.time()
        for start in range(0, customers, 100):
            session.post(f"{api}/v1/customers", json=[{"name": f"Throughput {n}"} for n in
                                                       range(start, min(start + 100, customers))],
                         timeout=60).raise_for_status()
        expected = endpoints * customers
        for receiver in receivers:
            receiver.wait_for(lambda d: len(d) >= customers, 600)
        arrivals = sorted(d.received_at for r in receivers for d in r.deliveries)
        if len(arrivals) < expected:
            raise RuntimeError(f"only {len(arrivals)} of {expected} deliveries arrived")
        span = arrivals[-1] - arrivals[0]
        return {"deliveries": float(len(arrivals)), "span_s": span, "per_second": len(arrivals) / span,
                "max_in_flight": float(in_flight["max"]), "from_first_write_s": arrivals[-1] - t0,
                "serial_bound_per_second": 1 / SLOW_ANSWER_S}
    finally:
        for receiver in receivers:
            receiver.close()
