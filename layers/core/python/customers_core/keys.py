"""Every DynamoDB key shape of the single table is built here and nowhere else
(docs/data-model.md lists the access patterns they serve)."""

from __future__ import annotations

Key = dict[str, str]

CUSTOMER_SK = "CUS"


def tenant(account_id: str, livemode: bool) -> str:
    """The partition prefix of one account's data in one mode: test and live never share a key."""
    return f"ACCT#{account_id}#{'L' if livemode else 'T'}"


# --- accounts and API keys -----------------------------------------------------------------------
def account(account_id: str) -> Key:
    return {"pk": f"ACCOUNT#{account_id}", "sk": "ACCOUNT"}


def api_key_lookup(secret_hash: str) -> Key:
    """The authorizer's item: key hash → account, mode, scopes."""
    return {"pk": f"APIKEY#{secret_hash}", "sk": "APIKEY"}


def api_key_record(key_id: str) -> Key:
    """The management item: key id → hash (for revoke) and its place in the account's key list."""
    return {"pk": f"KEYID#{key_id}", "sk": "KEYID"}


def account_keys_index(account_id: str, key_id: str) -> Key:
    return {"gsi1pk": f"ACCOUNT#{account_id}#KEYS", "gsi1sk": key_id}


def account_keys_partition(account_id: str) -> str:
    return f"ACCOUNT#{account_id}#KEYS"


# --- customers ------------------------------------------------------------------------------------
def customer(tenant_prefix: str, customer_id: str) -> Key:
    return {"pk": f"{tenant_prefix}#CUS#{customer_id}", "sk": CUSTOMER_SK}


def customers_partition(tenant_prefix: str) -> str:
    """GSI1 partition listing an account+mode's live customers, sorted by id (= creation time)."""
    return f"{tenant_prefix}#CUSTOMERS"


def customer_list_index(tenant_prefix: str, customer_id: str) -> Key:
    return {"gsi1pk": customers_partition(tenant_prefix), "gsi1sk": customer_id}


def email_marker(tenant_prefix: str, email: str) -> Key:
    """Uniqueness marker: one per lower-cased email per account+mode."""
    return {"pk": f"{tenant_prefix}#EMAIL#{email.lower()}", "sk": "UNIQUE"}


def external_id_marker(tenant_prefix: str, external_id: str) -> Key:
    """Uniqueness marker: one per external_id per account+mode."""
    return {"pk": f"{tenant_prefix}#EXTID#{external_id}", "sk": "UNIQUE"}


def wallet_owners_partition(tenant_prefix: str, address_key: str) -> str:
    """The customers holding one address (one item per network and chain)."""
    return f"{tenant_prefix}#WALLET#{address_key}"


def wallet_marker(tenant_prefix: str, address_key: str, network: str, chain_id: int | None) -> Key:
    """Uniqueness marker: one (network, chain_id, address) per account+mode."""
    return {"pk": wallet_owners_partition(tenant_prefix, address_key), "sk": f"{network}#{chain_id or '-'}"}


def filtered_partition(tenant_prefix: str, attribute: str, value: str) -> str:
    """GSI1 partition of the customers with one attribute value (status, sentiment, tag), by id."""
    return f"{tenant_prefix}#{attribute.upper()}#{value}"


def customer_index_entry(tenant_prefix: str, customer_id: str, attribute: str, value: str) -> Key:
    """An index entry in the customer's own item collection, listed under `filtered_partition`."""
    return {"pk": f"{tenant_prefix}#CUS#{customer_id}", "sk": f"IDX#{attribute}#{value}",
            "gsi1pk": filtered_partition(tenant_prefix, attribute, value), "gsi1sk": customer_id}


def customer_counters_partition(tenant_prefix: str) -> str:
    """The account+mode's customer counts, spread over shards (one Query reads them all)."""
    return f"{tenant_prefix}#COUNT"


def customer_counter(tenant_prefix: str, shard: int) -> Key:
    """One shard of the counts: concurrent writes of one account update different items, so they do
    not conflict (a transaction conflicts with another that touches the same item)."""
    return {"pk": customer_counters_partition(tenant_prefix), "sk": f"CUSTOMERS#{shard}"}


# --- events ---------------------------------------------------------------------------------------
def event(tenant_prefix: str, event_id: str) -> Key:
    return {"pk": f"{tenant_prefix}#EVT#{event_id}", "sk": "EVT"}


def events_partition(tenant_prefix: str) -> str:
    return f"{tenant_prefix}#EVENTS"


def event_list_index(tenant_prefix: str, event_id: str) -> Key:
    return {"gsi1pk": events_partition(tenant_prefix), "gsi1sk": event_id}


def events_of_type_partition(tenant_prefix: str, event_type: str) -> str:
    return f"{tenant_prefix}#EVTTYPE#{event_type}"


def event_type_entry(tenant_prefix: str, event_id: str, event_type: str) -> Key:
    """A copy of the event in its collection, listed under its type (only pending_webhooks changes,
    on both items in one transaction)."""
    return {"pk": f"{tenant_prefix}#EVT#{event_id}", "sk": "TYPE",
            "gsi1pk": events_of_type_partition(tenant_prefix, event_type), "gsi1sk": event_id}


# --- webhooks -------------------------------------------------------------------------------------
def webhooks_partition(tenant_prefix: str) -> str:
    """An account+mode's webhook endpoints: one small partition (at most 16), sorted by id."""
    return f"{tenant_prefix}#WEBHOOKS"


def webhook_endpoint(tenant_prefix: str, endpoint_id: str) -> Key:
    return {"pk": webhooks_partition(tenant_prefix), "sk": endpoint_id}


def delivery(tenant_prefix: str, event_id: str, endpoint_id: str) -> Key:
    """The state of one event's delivery to one endpoint, in the event's item collection."""
    return {"pk": f"{tenant_prefix}#EVT#{event_id}", "sk": f"DLV#{endpoint_id}"}


def delivery_attempt(tenant_prefix: str, event_id: str, endpoint_id: str, attempt_id: str) -> Key:
    """One attempt (status, duration, next attempt), after its delivery in the same collection."""
    return {"pk": f"{tenant_prefix}#EVT#{event_id}", "sk": f"DLV#{endpoint_id}#{attempt_id}"}


# --- idempotency ----------------------------------------------------------------------------------
def rate_window(tenant_prefix: str, kind: str, second: int) -> Key:
    """One second's request count of one account+mode, for reads or writes (ratelimit.py)."""
    return {"pk": f"{tenant_prefix}#RATE", "sk": f"{kind}#{second}"}


def idempotency_record(tenant_prefix: str, key_hash: str) -> Key:
    """One Idempotency-Key of one account+mode (the key hashed: it is the caller's free text)."""
    return {"pk": f"{tenant_prefix}#IDEM#{key_hash}", "sk": "IDEM"}


# --- search ---------------------------------------------------------------------------------------
def search_bucket(tenant_prefix: str, field: str, token: str) -> str:
    """A base-table partition of search tokens: one field, tokens sharing their first two characters
    (prefix queries need at least two). Base table, not an index: searches read it consistently."""
    return f"{tenant_prefix}#TOK#{field}#{token[:2]}"


def search_token_prefix(token: str) -> str:
    """The sort-key prefix every customer holding `token` shares (their ids follow it)."""
    return f"{token}#"


def search_token(tenant_prefix: str, field: str, token: str, customer_id: str) -> Key:
    """One token of one customer: sorted by token, then by customer id (newest last)."""
    return {"pk": search_bucket(tenant_prefix, field, token), "sk": search_token_prefix(token) + customer_id}
