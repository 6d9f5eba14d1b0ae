"""What the typed Stripe SDKs check when they turn a webhook delivery into an event, written after their
sources, for the tests to replay real deliveries through. Their own packages cannot be installed here
(only PyPI, npm and Debian are reachable: not the Go module proxy, NuGet or Maven Central), so these
are ports, as exact as the checks are small:

- stripe-go `webhook.ConstructEvent` (webhook/client.go) and Stripe.net `EventUtility.ConstructEvent`
  (Services/Events/EventUtility.cs): the `Stripe-Signature` header's `t` and `v1` values, an
  HMAC-SHA256 of "<t>.<payload>" keyed with the whole secret among the v1 signatures, a timestamp
  within 300 s, `object` = "event", then `IsCompatibleApiVersion`: the event's `api_version` has a
  release train (`2026-07-29.dahlia`) equal to the SDK's, or, for a preview SDK, is the SDK's exactly.
- stripe-java `EventDataObjectDeserializer.apiVersionMatch`: the event's `api_version`, without beta
  flags, equals the SDK's; otherwise `getObject()` is empty.

Their pinned versions at the sources read (stripe-go api_version.go, Stripe.net Constants/ApiVersion.cs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

GO_AND_DOTNET_VERSION = "2026-07-29.dahlia"
TOLERANCE = 300


class Refused(ValueError):
    """The SDK would raise (stripe-go returns an error, Stripe.net throws StripeException)."""


def _signed(payload: bytes, header: str, secret: str) -> None:
    pairs = [part.split("=", 1) for part in header.split(",")]
    if any(len(p) != 2 for p in pairs):
        raise Refused("the signature header format is unexpected")
    timestamps = [v for k, v in pairs if k == "t"]
    if not timestamps:
        raise Refused("no timestamp")
    expected = hmac.new(secret.encode(), f"{timestamps[0]}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(k == "v1" and hmac.compare_digest(v, expected) for k, v in pairs):
        raise Refused("no valid signature")
    if abs(time.time() - int(timestamps[0])) > TOLERANCE:
        raise Refused("timestamp outside the tolerance")


def compatible_api_version(sdk_version: str, event_version: str) -> bool:
    """stripe-go isCompatibleAPIVersion / Stripe.net IsCompatibleApiVersion."""
    if "." not in event_version:
        return False
    train = sdk_version.split(".")[1]
    if train == "preview":
        return sdk_version == event_version
    return event_version.split(".")[1] == train


def go_or_dotnet_construct_event(payload: bytes, header: str, secret: str,
                                 sdk_version: str = GO_AND_DOTNET_VERSION) -> dict[str, Any]:
    _signed(payload, header, secret)
    event = json.loads(payload)
    if event.get("object") != "event":
        raise Refused("not a snapshot event (a thin event notification?)")
    if not compatible_api_version(sdk_version, str(event.get("api_version"))):
        raise Refused(f"received event with API version {event.get('api_version')}, but the SDK expects API "
                      f"version {sdk_version}")
    return dict(event)


def java_api_version_match(event: dict[str, Any], sdk_version: str = GO_AND_DOTNET_VERSION) -> bool:
    def trim(version: str) -> str:
        return version.split(";", maxsplit=1)[0].strip()

    return trim(str(event.get("api_version"))) == trim(sdk_version)
