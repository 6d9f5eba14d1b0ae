"""Webhook endpoints (api.md §9): create (the secret is shown once, stored encrypted), retrieve, list,
update, delete, and rotate the secret (§11: the replaced one keeps signing beside the new one until
it expires). Which endpoints an event goes to, and sending it, is the fan-out's (logic.fanout)."""

from __future__ import annotations

import time
from typing import Any

from customers_core import idempotency, ids, keys, netguard, secretbox, signing
from customers_core.auth import Principal
from customers_core.dal import webhooks as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import InternalError, InvalidRequest, ResourceMissing
from customers_core.logic.paging import parse_cursor
from customers_core.models.fields import merge_metadata
from customers_core.models.webhooks import (
    MAX_ENDPOINTS,
    ListWebhookEndpointsParams,
    RotateSecretParams,
    WebhookEndpointParams,
    endpoint_object,
)
from customers_core.settings import get_settings

UPDATE_ATTEMPTS = 10


def _missing(raw_id: str) -> ResourceMissing:
    return ResourceMissing(f"No such webhook endpoint: '{raw_id[:100]}'", param="id")


def secret_context(item: Item) -> dict[str, str]:
    """The KMS encryption context binding a secret to its endpoint, account and mode."""
    return {"account": str(item["account_id"]), "livemode": str(bool(item.get("livemode"))).lower(),
            "endpoint": str(item["id"])}


def signing_secrets(endpoint: Item, now: float) -> list[str]:
    """The secrets a delivery to the endpoint is signed with: its secret, then, until it expires, the
    one a rotation replaced (both decrypted through secretbox's cache)."""
    context = secret_context(endpoint)
    found = [secretbox.unseal(str(endpoint["secret_ciphertext"]), context)]
    previous, expires_at = endpoint.get("previous_secret_ciphertext"), endpoint.get("previous_secret_expires_at")
    if previous and expires_at is not None and now < float(expires_at):
        found.append(secretbox.unseal(str(previous), context))
    return found


def _checked_url(url: str) -> str:
    try:
        netguard.check_url(url, allow_local_http=get_settings().webhook_allow_local_http)
    except netguard.UnsafeUrl as exc:
        raise InvalidRequest(f"Invalid url: {exc}", param="url", code="url_invalid") from exc
    return url


def _metadata(current: dict[str, str], params: WebhookEndpointParams, *, creating: bool) -> dict[str, str]:
    sent = params.metadata if isinstance(params.metadata, dict) else None
    try:
        return merge_metadata({} if creating else current, sent, clear=sent is None)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid metadata: {exc}", param="metadata", code="metadata_invalid") from exc


def create_endpoint(table: Table, who: Principal, params: WebhookEndpointParams) -> dict[str, Any]:
    if params.url is None:
        raise InvalidRequest("Missing required param: url.", param="url", code="parameter_missing")
    if not params.enabled_events:
        raise InvalidRequest("Missing required param: enabled_events.", param="enabled_events",
                             code="parameter_missing")
    if params.disabled is not None:
        raise InvalidRequest("disabled can only be set on update.", param="disabled")
    _checked_url(params.url)
    # A soft limit: two creates racing at 15 can make 17; the fan-out reads them all regardless.
    if len(dal.list_endpoints(table, who.tenant)) >= MAX_ENDPOINTS:
        raise InvalidRequest(f"An account can have at most {MAX_ENDPOINTS} webhook endpoints per mode.",
                             param="url", code="resource_limit_exceeded")
    now = int(time.time())
    endpoint_id = ids.new_id(ids.WEBHOOK_ENDPOINT, now)
    item: Item = {
        **keys.webhook_endpoint(who.tenant, endpoint_id), "entity": "webhook_endpoint", "id": endpoint_id,
        "account_id": who.account_id, "livemode": who.livemode, "url": params.url,
        "enabled_events": list(params.enabled_events), "status": "enabled", "created": now, "version": 1,
        "metadata": _metadata({}, params, creating=True),
    }
    if params.description is not None:
        item["description"] = params.description
    if params.api_version is not None:
        item["api_version"] = params.api_version
    secret = signing.new_secret()
    idempotency.seal_in_answer("secret")  # a keyed request's stored answer keeps it encrypted
    item["secret_ciphertext"] = secretbox.seal(secret, secret_context(item))
    if not dal.put_endpoint(table, item, version=None):
        raise InternalError("A new webhook endpoint id collided; retry the request.")
    return endpoint_object(item, secret=secret)


def _get(table: Table, who: Principal, raw_id: str) -> Item:
    endpoint_id = ids.parse_id(ids.WEBHOOK_ENDPOINT, raw_id)
    item = dal.get_endpoint(table, who.tenant, endpoint_id) if endpoint_id else None
    if item is None:
        raise _missing(raw_id)
    return item


def retrieve_endpoint(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    return endpoint_object(_get(table, who, raw_id))


def update_endpoint(table: Table, who: Principal, raw_id: str, params: WebhookEndpointParams) -> dict[str, Any]:
    sent = params.model_fields_set - {"expand"}
    if params.url is not None:
        _checked_url(params.url)
    for _ in range(UPDATE_ATTEMPTS):
        item = _get(table, who, raw_id)
        new = dict(item)
        if params.url is not None:
            new["url"] = params.url
        if params.enabled_events:
            new["enabled_events"] = list(params.enabled_events)
        if "description" in sent:
            if params.description is None:
                new.pop("description", None)
            else:
                new["description"] = params.description
        if "metadata" in sent:
            new["metadata"] = _metadata(dict(item.get("metadata") or {}), params, creating=False)
        if "api_version" in sent:  # null or "": back to the account's default
            if params.api_version is None:
                new.pop("api_version", None)
            else:
                new["api_version"] = params.api_version
        if params.disabled is not None:
            new["status"] = "disabled" if params.disabled else "enabled"
            if not params.disabled:  # re-enabled: a fresh start for the 3-day failure rule
                new.pop("failing_since", None)
                new.pop("disabled_reason", None)
        new["version"] = int(item.get("version", 0)) + 1
        if dal.put_endpoint(table, new, version=int(item.get("version", 0))):
            return endpoint_object(new)
    raise InternalError("The endpoint kept changing while being updated; retry the request.")


def rotate_secret(table: Table, who: Principal, raw_id: str, params: RotateSecretParams) -> dict[str, Any]:
    """A new secret, returned once and stored encrypted as the first was; the one it replaces signs
    every delivery beside it for `expires_in` seconds (0: not at all). Rotating again within that time
    replaces the older one at once: an endpoint has at most two secrets. One PutItem on the version
    read (a concurrent change re-reads; the last rotation wins, its predecessor is the older one)."""
    secret = signing.new_secret()
    idempotency.seal_in_answer("secret")  # a keyed request's stored answer keeps it encrypted
    sealed: str | None = None
    for _ in range(UPDATE_ATTEMPTS):
        item = _get(table, who, raw_id)
        if sealed is None:
            sealed = secretbox.seal(secret, secret_context(item))
        new = {k: v for k, v in item.items() if k not in ("previous_secret_ciphertext", "previous_secret_expires_at")}
        new.update(secret_ciphertext=sealed, version=int(item.get("version", 0)) + 1)
        if params.expires_in > 0:
            new.update(previous_secret_ciphertext=item["secret_ciphertext"],
                       previous_secret_expires_at=int(time.time()) + params.expires_in)
        if dal.put_endpoint(table, new, version=int(item.get("version", 0))):
            return endpoint_object(new, secret=secret)
    raise InternalError("The endpoint kept changing while its secret was rotated; retry the request.")


def delete_endpoint(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    endpoint_id = ids.parse_id(ids.WEBHOOK_ENDPOINT, raw_id)
    old = dal.delete_endpoint(table, who.tenant, endpoint_id) if endpoint_id else None
    if old is None:
        raise _missing(raw_id)
    return {"id": old["id"], "object": "webhook_endpoint", "deleted": True}


def list_endpoints(table: Table, who: Principal, params: ListWebhookEndpointsParams) -> dict[str, Any]:
    """Newest first with Stripe's cursors, over a partition of at most 16 items read whole."""
    cursor, forward = parse_cursor(ids.WEBHOOK_ENDPOINT, params.starting_after, params.ending_before)
    items = sorted(dal.list_endpoints(table, who.tenant), key=lambda i: str(i["id"]), reverse=True)
    if cursor and forward:
        items = [i for i in items if i["id"] > cursor]
        page, has_more = items[-params.limit:], len(items) > params.limit
    else:
        items = [i for i in items if cursor is None or i["id"] < cursor]
        page, has_more = items[:params.limit], len(items) > params.limit
    return {"object": "list", "url": "/v1/webhook_endpoints", "has_more": has_more,
            "data": [endpoint_object(i) for i in page]}
