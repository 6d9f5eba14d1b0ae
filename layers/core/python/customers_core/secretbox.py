"""Webhook secrets at rest: encrypted with the stage's KMS key, bound by an encryption context to
their account, mode and endpoint, so a ciphertext copied to another item does not decrypt. Only the
create call ever sees the plain secret besides the delivery function, which caches it briefly."""

from __future__ import annotations

import base64
import threading
import time
from functools import cache
from typing import Any

from customers_core.settings import get_settings

_CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


@cache
def _kms() -> Any:
    from customers_core import awsclients  # noqa: PLC0415 — only the webhook functions pay for the KMS client

    return awsclients.client("kms")


def seal(secret: str, context: dict[str, str]) -> str:
    response = _kms().encrypt(KeyId=get_settings().webhook_key_id, Plaintext=secret.encode(),
                              EncryptionContext=context)
    return base64.b64encode(response["CiphertextBlob"]).decode()


def unseal(ciphertext: str, context: dict[str, str]) -> str:
    now = time.monotonic()
    key = ciphertext + "|" + "|".join(f"{k}={v}" for k, v in sorted(context.items()))
    with _lock:
        hit = _cache.get(key)
    if hit and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    plain = _kms().decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context)["Plaintext"]
    secret = bytes(plain).decode()
    with _lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[key] = (now, secret)
    return secret
