"""Idempotency keys over HTTP: parallel requests with one key, and stripe-python's own retries."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import requests
import stripe


def _count(stack, key: str, email: str) -> int:
    listed = requests.get(f"{stack['api_url']}/v1/customers", params={"email": email}, headers={"x-api-key": key},
                          timeout=10).json()
    return len(listed["data"])


def test_ten_parallel_requests_with_one_key_create_one_customer(stack, new_account):
    key, idem = new_account("test"), str(uuid.uuid4())
    barrier = threading.Barrier(10)

    def post(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(f"{stack['api_url']}/v1/customers", json={"email": "parallel@example.com"},
                             headers={"x-api-key": key, "Idempotency-Key": idem}, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(post, range(10)))
    statuses = sorted(r.status_code for r in responses)
    originals = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    assert set(statuses) <= {200, 409} and len(originals) == 1, statuses
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "idempotency_key_in_use"
        else:
            assert r.json()["id"] == originals[0].json()["id"]
    assert _count(stack, key, "parallel@example.com") == 1
    # Once finished, every repeat is a replay.
    late = requests.post(f"{stack['api_url']}/v1/customers", json={"email": "parallel@example.com"},
                         headers={"x-api-key": key, "Idempotency-Key": idem}, timeout=30)
    assert late.status_code == 200 and late.headers["Idempotent-Replayed"] == "true"


class _DropFirstResponse(BaseHTTPRequestHandler):
    """Forwards to the stack, but loses the first POST's response (the connection just closes), as a
    network failure after the server did the work would."""

    upstream = ""
    posts: ClassVar[list[dict]] = []
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        response = requests.request(method, self.upstream + self.path, data=body, headers=headers, timeout=30)
        if method == "POST":
            with self.lock:
                type(self).posts.append({"idempotency_key": self.headers.get("Idempotency-Key"),
                                         "replayed": response.headers.get("Idempotent-Replayed")})
                first = len(type(self).posts) == 1
            if first:
                self.close_connection = True
                self.connection.shutdown(2)
                return
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def do_POST(self) -> None:
        self._forward("POST")

    def do_GET(self) -> None:
        self._forward("GET")

    def log_message(self, *args) -> None:
        pass


def test_stripe_python_retries_with_its_own_key_and_creates_no_duplicate(stack, new_account):
    key = new_account("test")
    _DropFirstResponse.upstream, _DropFirstResponse.posts = stack["api_url"], []
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _DropFirstResponse)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        client = stripe.StripeClient(key, base_addresses={"api": f"http://127.0.0.1:{proxy.server_address[1]}"},
                                     max_network_retries=2)
        customer = client.v1.customers.create(params={"email": "retried@example.com", "name": "Retried"})
    finally:
        proxy.shutdown()
    posts = _DropFirstResponse.posts
    assert len(posts) == 2, posts
    assert posts[0]["idempotency_key"] and posts[0]["idempotency_key"] == posts[1]["idempotency_key"]
    assert posts[1]["replayed"] == "true"
    assert customer.email == "retried@example.com"
    assert _count(stack, key, "retried@example.com") == 1


def test_stripe_python_raises_its_idempotency_error_for_a_reused_key(stack, new_account):
    key, idem = new_account("test"), str(uuid.uuid4())
    client = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    client.v1.customers.create(params={"email": "first@example.com"}, options={"idempotency_key": idem})
    try:
        client.v1.customers.create(params={"email": "second@example.com"}, options={"idempotency_key": idem})
    except stripe.IdempotencyError as exc:
        assert isinstance(exc.json_body, dict)
        assert exc.http_status == 400 and exc.json_body["error"]["code"] == "idempotency_key_reused"
    else:
        raise AssertionError("a reused key with other parameters was accepted")
    assert _count(stack, key, "second@example.com") == 0
