"""A webhook receiver on 127.0.0.1 for local development, tests and benchmarks: it verifies every
delivery with Stripe's library (`stripe.Webhook.construct_event`) and with the Standard Webhooks
library, using the endpoint's secret, records it, and answers with the status its `answer` function
chooses (200 by default). With `reject_unverified` (the command line's way), a delivery whose
signature does not verify is answered 400 with the reason, so the sender records it as failed and
retries, as a real endpoint would.

    python -m local_stack.receiver --port 4000 --secret whsec_…   # prints each event, verified or why not"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
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
    reason: str | None = None  # why the signature did not verify (None when it did, or no secret is set)

    @property
    def verified(self) -> bool:
        return self.stripe_verified and self.standard_verified


# answer(event_id, nth) → the status to send back; may block (a slow or hung endpoint).
Answer = Callable[[str, int], int]


class Receiver:
    def __init__(self, answer: Answer | None = None, secret: str | None = None, port: int = 0, *,
                 reject_unverified: bool = False) -> None:
        self.answer: Answer = answer or (lambda _event_id, _nth: 200)
        self.secret = secret
        self.reject_unverified = reject_unverified
        self.deliveries: list[Delivery] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, reason = receiver._receive(raw, {k.lower(): v for k, v in self.headers.items()})
                body = json.dumps({"error": reason}).encode() if reason and status >= 400 else b""
                self.send_response(status)
                if body:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def _verify(self, raw: bytes, headers: dict[str, str]) -> tuple[bool, bool, str | None]:
        """(Stripe's library verified it, Standard Webhooks' did, why not) with the secret set."""
        if not self.secret:
            return False, False, None
        reasons = []
        try:
            stripe.Webhook.construct_event(raw.decode(), headers.get("stripe-signature", ""), self.secret)
            stripe_ok = True
        except (stripe.SignatureVerificationError, ValueError) as exc:
            stripe_ok = False
            reasons.append(f"Stripe-Signature: {exc}")
        try:
            standardwebhooks.Webhook(self.secret).verify(raw, headers)
            standard_ok = True
        except standardwebhooks.WebhookVerificationError as exc:
            standard_ok = False
            reasons.append(f"webhook-signature: {exc}")
        return stripe_ok, standard_ok, "; ".join(reasons) or None

    def _receive(self, raw: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
        try:
            body = json.loads(raw)
            event_id, event_type = str(body["id"]), str(body["type"])
        except (ValueError, KeyError, TypeError):
            body, event_id, event_type = {}, "", ""
        stripe_ok, standard_ok, reason = self._verify(raw, headers)
        if not event_id:
            reason = "the body is not an event (JSON with id and type)"
        with self._lock:
            self._seen[event_id] += 1
            nth = self._seen[event_id]
        rejected = bool(reason) and (self.reject_unverified or not event_id)
        status = 400 if rejected else self.answer(event_id, nth)
        with self.arrived:
            self.deliveries.append(Delivery(event_id, event_type, body, stripe_ok, standard_ok, nth, status,
                                            reason=reason))
            self.arrived.notify_all()
        return status, reason if rejected else None

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


def describe(delivery: Delivery) -> str:
    """One line per delivery, as the command line prints it."""
    what = f"{delivery.event_type or '?'} {delivery.event_id or '(no event id)'}"
    retry = f" (attempt {delivery.nth})" if delivery.nth > 1 else ""
    if delivery.verified:
        return f"verified      {what}{retry} → {delivery.status}"
    return f"NOT verified  {what}{retry} → {delivery.status}: {delivery.reason or 'no secret to verify with'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_stack.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_… secret")
    args = parser.parse_args(argv)
    try:
        receiver = Receiver(secret=args.secret, port=args.port, reject_unverified=True)
    except OSError as exc:
        print(f"port {args.port} on 127.0.0.1 is not free ({exc.strerror}): choose another with --port "
              "(and register that URL)", file=sys.stderr)
        return 2
    print(f"listening on {receiver.url}; each delivery is verified with the secret (Stripe's and Standard "
          "Webhooks' libraries) and printed; a bad signature is answered 400. Ctrl-C stops.", flush=True)
    # SIGTERM (`kill`) ends it as quietly as Ctrl-C does; so does SIGINT where a shell started it in
    # the background with SIGINT ignored.
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    shown = 0
    try:
        while True:
            def more(d: list[Delivery], seen: int = shown) -> bool:
                return len(d) > seen

            deliveries = receiver.wait_for(more, 3600)
            for delivery in deliveries[shown:]:
                print(describe(delivery), flush=True)
            shown = len(deliveries)
    except KeyboardInterrupt:
        pass
    with contextlib.suppress(Exception):
        receiver.close()
    verified = sum(1 for d in receiver.deliveries if d.verified)
    print(f"\nreceiver stopped: {len(receiver.deliveries)} deliveries, {verified} verified", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
