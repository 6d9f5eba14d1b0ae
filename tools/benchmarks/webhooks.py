"""Webhook delivery through the local stack: time from a write to its first delivery attempt, and
delivery throughput with ten endpoints that each take 50 ms to answer."""

from __future__ import annotations

import functools
import statistics
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
            got = receiver.wait_for(functools.partial(_names, customer["id"]), 60)
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


def _latency_of(session: requests.Session, api: str, receiver: Receiver, body: dict[str, Any],
                timeout: float = 300) -> float:
    """ms from sending one create to its event's first delivery attempt arriving at `receiver`."""
    t0 = time.time()
    response = session.post(f"{api}/v1/customers", json=body, timeout=60)
    response.raise_for_status()
    cid = response.json()["id"]
    got = receiver.wait_for(lambda d: any(x.body["data"]["object"]["id"] == cid for x in d), timeout)
    arrival = next((x.received_at for x in got if x.body["data"]["object"]["id"] == cid), None)
    if arrival is None:
        raise RuntimeError(f"no delivery of {cid} within {timeout:.0f} s")
    return (arrival - t0) * 1000


def burst_with_bystander(info: dict[str, Any], other: dict[str, Any], creates: int, threads: int,
                         idle_samples: int = 5) -> dict[str, Any]:
    """Events per second through fan-out and delivery while `threads` clients of one account create
    `creates` customers (one endpoint), and what that burst does to another account's single event:
    its write → delivery latency before the burst (idle, one at a time) and while it runs (a write a
    second until the burst's last delivery)."""
    session, api = _account_session(info), info["api_url"]
    bystander = _account_session(other)
    mine, theirs = Receiver(), Receiver()
    try:
        _register(session, api, mine)
        _register(bystander, api, theirs)
        idle = [_latency_of(bystander, api, theirs, {"name": f"Idle {i}"}) for i in range(idle_samples)]
        before = len(mine.deliveries)
        counter = iter(range(creates))
        lock = threading.Lock()
        failures: list[str] = []
        acknowledged = [0.0]

        def client() -> None:
            own = requests.Session()
            own.headers.update(session.headers)
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                response = own.post(f"{api}/v1/customers", json={"name": f"Burst {n}"}, timeout=60)
                if not response.ok:
                    failures.append(f"{response.status_code} {response.text[:100]}")
                with lock:
                    acknowledged[0] = max(acknowledged[0], time.time())

        done = threading.Event()
        sent: list[tuple[str, float]] = []  # the bystander's creates during the burst: (id, sent at)

        def bystander_writes() -> None:
            """Another account writes once a second while the burst lasts, not waiting for deliveries."""
            while not done.wait(1.0):
                started = time.time()
                response = bystander.post(f"{api}/v1/customers", json={"name": f"During {len(sent)}"}, timeout=60)
                if response.ok:
                    sent.append((response.json()["id"], started))

        t0 = time.time()
        workers = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        watcher = threading.Thread(target=bystander_writes, daemon=True)
        watcher.start()
        mine.wait_for(lambda d: len(d) - before >= creates - len(failures), 900)
        done.set()
        watcher.join()
        for worker in workers:
            worker.join()
        wanted = {cid for cid, _ in sent}
        got = theirs.wait_for(lambda d: wanted <= {x.body["data"]["object"]["id"] for x in d}, 300)
        arrived: dict[str, float] = {}
        for x in got:
            arrived.setdefault(x.body["data"]["object"]["id"], x.received_at)
        during = [(arrived[cid] - at) * 1000 for cid, at in sent if cid in arrived]
        arrivals = sorted(d.received_at for d in mine.deliveries[before:])
        if len(arrivals) < creates - len(failures):
            raise RuntimeError(f"only {len(arrivals)} of {creates} burst deliveries arrived")
        span = arrivals[-1] - t0
        idle_median = statistics.median(idle)
        during_median = statistics.median(during) if during else float("nan")
        return {"creates": creates, "threads": threads, "failed_creates": len(failures),
                "span_s": span, "events_per_second": len(arrivals) / span,
                "api_per_second": creates / max(acknowledged[0] - t0, 1e-9),
                "bystander_idle_ms": idle_median, "idle_n": len(idle),
                "bystander_burst_ms": during_median, "during_n": len(during),
                "bystander_burst_max_ms": max(during) if during else float("nan"),
                "bystander_ratio": during_median / idle_median if idle_median else float("nan")}
    finally:
        mine.close()
        theirs.close()


def _names(customer_id: str, deliveries: list[Any]) -> bool:
    """Whether one of the deliveries is about this customer."""
    return any(x.body["data"]["object"]["id"] == customer_id for x in deliveries)
