"""Webhook secrets at rest: encrypted with the stage's KMS key, bound by an encryption context to
their account, mode and endpoint, so a ciphertext copied to another item does not decrypt. Only the
create call ever sees the plain secret besides the delivery function, which caches it briefly.

The cache (per execution environment) saves a KMS Decrypt per delivery ($3 per million requests):
a decrypted secret is kept in memory for CACHE_SECONDS after its Decrypt, keyed by a hash of its
ciphertext and context (an endpoint's new secret is a new ciphertext, so it is a miss), for at most
CACHE_ENTRIES secrets (least recently used dropped first). Concurrent deliveries to one endpoint wait
for one Decrypt instead of making one each. A failed Decrypt is not cached. The plain secret is never
logged and never written anywhere; it lives only in this process's memory."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import OrderedDict
from functools import cache
from typing import Any

from customers_core import caches
from customers_core.settings import get_settings

CACHE_SECONDS = 300.0
CACHE_ENTRIES = 256
_cache: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key → (decrypted at, secret)
caches.on_reset(_cache.clear)
_lock = threading.Lock()
_inflight: dict[str, threading.Lock] = {}
_clock = time.monotonic


@caches.per_process
@cache
def _kms() -> Any:
    from customers_core import awsclients  # noqa: PLC0415 — only the webhook functions pay for the KMS client

    return awsclients.client("kms")


def seal(secret: str, context: dict[str, str]) -> str:
    response = _kms().encrypt(KeyId=get_settings().webhook_key_id, Plaintext=secret.encode(),
                              EncryptionContext=context)
    return base64.b64encode(response["CiphertextBlob"]).decode()


def _cache_key(ciphertext: str, context: dict[str, str]) -> str:
    material = ciphertext + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(context.items()))
    return hashlib.sha256(material.encode()).hexdigest()


def _cached(key: str) -> str | None:
    with _lock:
        hit = _cache.get(key)
        if hit is None:
            return None
        if _clock() - hit[0] >= CACHE_SECONDS:
            del _cache[key]
            return None
        _cache.move_to_end(key)
        return hit[1]


def unseal(ciphertext: str, context: dict[str, str]) -> str:
    key = _cache_key(ciphertext, context)
    secret = _cached(key)
    if secret is not None:
        return secret
    with _lock:
        flight = _inflight.setdefault(key, threading.Lock())
    with flight:  # one Decrypt per secret at a time; the others find its result
        secret = _cached(key)
        if secret is not None:
            return secret
        try:
            plain = _kms().decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context)["Plaintext"]
            secret = bytes(plain).decode()
            with _lock:
                _cache[key] = (_clock(), secret)
                _cache.move_to_end(key)
                while len(_cache) > CACHE_ENTRIES:
                    _cache.popitem(last=False)
        finally:
            with _lock:
                _inflight.pop(key, None)
        return secret
