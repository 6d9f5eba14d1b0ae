"""The local stack runs every function in one process: first imports on several threads at once must
not meet half-initialised modules (they did after a restart: the stream poller and an HTTP request)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

_SCRIPT = """
import sys, threading
from local_stack import runtime, template
functions = template.functions()
chosen = [functions[name] for name in ("StreamFanoutFunction", "RetrieveCustomerFunction",
                                       "WebhookDeliveryFunction", "ListCustomersFunction")]
barrier, errors = threading.Barrier(len(chosen)), []
def load(function):
    barrier.wait()
    try:
        runtime.load_environment(function)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=load, args=(f,)) for f in chosen]
for t in threads: t.start()
for t in threads: t.join()
print(errors[0] if errors else "ok")
"""


def test_first_imports_on_four_threads_at_once_succeed_in_fresh_processes():
    # Before imports were serialised, 8 of 12 fresh processes failed this way; 6 all passing by luck
    # would have had a chance of about (4/12)^6, 1 in 700.
    env = {**os.environ, "TABLE_NAME": "runtime-test",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tools"), str(ROOT / "layers" / "core" / "python")])}
    outcomes = [subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                               check=True, timeout=120).stdout.strip() for _ in range(6)]
    assert outcomes == ["ok"] * 6, outcomes
