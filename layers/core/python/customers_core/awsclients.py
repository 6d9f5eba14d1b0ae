"""boto3 clients, created one at a time.

`boto3.client()` uses the shared default session, and creating clients from one session on several
threads at once is not thread-safe (boto/boto3#1592: KeyError 'credential_provider' and the like).
The delivery function's threads, and the local stack's functions sharing one process, can make their
first client at the same moment; the lock makes that safe. The clients themselves are thread-safe."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


def client(service: str) -> Any:
    import boto3  # noqa: PLC0415 — deferred: keeps cold-start imports off modules that never call AWS

    with _lock:
        return boto3.client(service)  # type: ignore[call-overload]
