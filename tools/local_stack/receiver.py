"""A webhook receiver on 127.0.0.1 for local development, tests and benchmarks: it verifies every
delivery with Stripe's library (`stripe.Webhook.construct_event`) and with the Standard Webhooks
library, using the endpoint's secret, records it, and answers with the status its `answer` function
chooses (200 by default).

    python -m local_stack.receiver --port 4000 --secret whsec_…   # prints each verified event"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks
import stripe


@dataclass
class Delivery:
    event_id: str
    event_type: str
    body: dict[str, Any]
    stripe_verified: bool
    standard_verified: bool
    nth: int  # 1 for the first request carrying this event id, 2 for the next…
    status: int
    received_at: float = field(default_factory=time.time)


# answer(event_id, nth) → the status to send back; may block (a slow or hung endpoint).
Answer = Callable[[str, int], int]


class Receiver:
    def __init__(self, answer: Answer | None = None, secret: str | None = None, port: int = 0) -> None:
        self.answer: Answer = answer or (lambda _event_id, _nth: 200)
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver._receive(raw, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def _verify(self, raw: bytes, headers: dict[str, str]) -> tuple[bool, bool]:
        if not self.secret:
            return False, False
        try:
            stripe.Webhook.construct_event(raw.decode(), headers.get("stripe-signature", ""), self.secret)
            stripe_ok = True
        except (stripe.SignatureVerificationError, ValueError):
            stripe_ok = False
        try:
            standardwebhooks.Webhook(self.secret).verify(raw, headers)
            standard_ok = True
        except standardwebhooks.WebhookVerificationError:
            standard_ok = False
        return stripe_ok, standard_ok

    def _receive(self, raw: bytes, headers: dict[str, str]) -> int:
        body = json.loads(raw)
        stripe_ok, standard_ok = self._verify(raw, headers)
        with self._lock:
            self._seen[body["id"]] += 1
            nth = self._seen[body["id"]]
        status = self.answer(body["id"], nth)
        with self.arrived:
            self.deliveries.append(Delivery(body["id"], body["type"], body, stripe_ok, standard_ok, nth, status))
            self.arrived.notify_all()
        return status

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float) -> list[Delivery]:
        """Block until predicate(deliveries) holds or timeout passes; returns the deliveries so far."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(self.deliveries) and time.monotonic() < deadline:
                self.arrived.wait(min(0.2, max(deadline - time.monotonic(), 0)))
            return list(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="local_stack.receiver", description=__doc__)
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_… secret")
    args = parser.parse_args()
    receiver = Receiver(secret=args.secret, port=args.port)
    print(f"listening on {receiver.url}", flush=True)
    shown = 0
    while True:
        def more(d: list[Delivery], seen: int = shown) -> bool:
            return len(d) > seen

        deliveries = receiver.wait_for(more, 3600)
        for d in deliveries[shown:]:
            print(f"{d.event_type} {d.event_id} stripe-verified={d.stripe_verified} "
                  f"standard-verified={d.standard_verified}", flush=True)
        shown = len(deliveries)


if __name__ == "__main__":
    main()
