"""Webhook signatures (api.md §9): one secret string, two schemes, so that both Stripe's and the
Standard Webhooks libraries verify the same delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 — the format's prefix, not a secret


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes: made per request, never at import."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_headers(secret: str | Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Both schemes' headers. With several secrets (a rotation's overlap: the new one first), each
    header carries one signature per secret — `t=…,v1=<new>,v1=<old>` and `v1,<new> v1,<old>` — and
    each library passes when any of them matches the secret it holds."""
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    stripe_macs = [hmac.new(s.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest() for s in secrets_]
    standard_macs = [hmac.new(base64.b64decode(s.removeprefix(SECRET_PREFIX)), f"{message_id}.{timestamp}.".encode()
                              + body, hashlib.sha256).digest() for s in secrets_]
    return {
        "Stripe-Signature": ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in stripe_macs)]),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(f"v1,{base64.b64encode(mac).decode()}" for mac in standard_macs),
    }
