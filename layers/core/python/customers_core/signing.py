"""Webhook signatures (api.md §9): one secret string, two schemes, so that both Stripe's and the
Standard Webhooks libraries verify the same delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 — the format's prefix, not a secret


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes: made per request, never at import."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    stripe_mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    standard_mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "Stripe-Signature": f"t={timestamp},v1={stripe_mac}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(standard_mac).decode()}",
    }
