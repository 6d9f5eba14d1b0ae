"""`python -m local_stack.receiver`, the README's webhook receiver: a delivery whose signature verifies
is printed as verified and answered 200; one that does not is answered 400 with the reason, which it
prints too (never as verified); Ctrl-C or kill ends it quietly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from customers_core.signing import new_secret, signature_headers

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver(tmp_path: Path):
    port, secret = _free_port(), new_secret()
    out = tmp_path / "receiver.out"
    with out.open("wb") as terminal:
        proc = subprocess.Popen([sys.executable, "-m", "local_stack.receiver", "--port", str(port), "--secret", secret],
                                cwd=ROOT, stdout=terminal, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while "listening on" not in out.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)
    yield proc, f"http://127.0.0.1:{port}/webhooks", secret, out
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _event(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": "customer.created", "data": {"object": {}}}).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers={"content-type": "application/json", **headers}, timeout=10)


def _lines(out: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(lines := out.read_text().splitlines()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return lines


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_verified_printed_bad_signature_400_with_reason_and_a_quiet_stop(receiver, stop_with):
    proc, url, secret, out = receiver
    now = int(time.time())
    good = _event("evt_good")
    assert _post(url, good, signature_headers(secret, "msg_1", now, good)).status_code == 200

    forged = _event("evt_forged")
    answer = _post(url, forged, signature_headers(new_secret(), "msg_2", now, forged))  # another secret
    assert answer.status_code == 400
    reason = answer.json()["error"]
    assert "Stripe-Signature" in reason and "webhook-signature" in reason

    unsigned = _event("evt_unsigned")
    assert _post(url, unsigned, {}).status_code == 400

    lines = _lines(out, 4)
    assert lines[1].startswith("verified ") and "customer.created evt_good → 200" in lines[1], lines
    assert lines[2].startswith("NOT verified ") and "evt_forged → 400: Stripe-Signature:" in lines[2], lines
    assert lines[3].startswith("NOT verified ") and "evt_unsigned → 400" in lines[3], lines

    proc.send_signal(stop_with)  # Ctrl-C, or kill
    assert proc.wait(timeout=10) == 0
    text = out.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert text.rstrip().splitlines()[-1] == "receiver stopped: 3 deliveries, 1 verified"


def test_a_taken_port_is_one_line_and_exit_code_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "local_stack.receiver", "--port", str(port), "--secret",
                               new_secret()], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"port {port} on 127.0.0.1 is not free (Address already in use): "
                                                "choose another with --port (and register that URL)"]
