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
    """The base-table partition of the customers with one attribute value (status, sentiment, tag),
    by id: their index entries."""
    return f"{tenant_prefix}#{attribute.upper()}#{value}"


def customer_index_entry(tenant_prefix: str, customer_id: str, attribute: str, value: str) -> Key:
    """A customer's entry under one attribute value: read with consistent Queries, no GSI write."""
    return {"pk": filtered_partition(tenant_prefix, attribute, value), "sk": customer_id}


def count_name(attribute: str, value: str) -> str:
    """The attribute of the customer counts that counts one attribute value (`IDX#tag#vip`)."""
    return f"IDX#{attribute}#{value}"


def customer_counters_partition(tenant_prefix: str) -> str:
    """The account+mode's customer counts, spread over shards (one Query reads them all)."""
    return f"{tenant_prefix}#COUNT"


def customer_counter(tenant_prefix: str, shard: int) -> Key:
    """One shard of the counts: concurrent writes of one account update different items, so they do
    not conflict (a transaction conflicts with another that touches the same item)."""
    return {"pk": customer_counters_partition(tenant_prefix), "sk": f"CUSTOMERS#{shard}"}


# --- events ---------------------------------------------------------------------------------------
def events_partition(tenant_prefix: str) -> str:
    """A base-table partition holding an account+mode's events, each followed by its deliveries (sort
    keys `<evt_id>` and `<evt_id>#DLV#<we_id>`): ids sort by time, so a list page is one consistent
    Query that also brings each event's deliveries (pending_webhooks is derived from them)."""
    return f"{tenant_prefix}#EVENTS"


def event(tenant_prefix: str, event_id: str) -> Key:
    return {"pk": events_partition(tenant_prefix), "sk": event_id}


def event_collection_end(event_id: str) -> str:
    """An upper sort-key bound covering the event and its deliveries: `~` sorts after `#` and after
    every character of an id, and before the next event's id."""
    return f"{event_id}~"


def event_id_of(sort_key: str) -> str:
    """The event a sort key of the events partition belongs to (the event itself or a delivery)."""
    return sort_key.split("#", 1)[0]


def event_owner(tenant_prefix: str) -> tuple[str, bool]:
    """(account_id, livemode) of a tenant prefix: event items do not repeat what their key says."""
    _, account_id, mode = tenant_prefix.split("#")
    return account_id, mode == "L"


def events_of_type_partition(tenant_prefix: str, event_type: str) -> str:
    """GSI1 partition of one type's events, by id."""
    return f"{tenant_prefix}#EVENTS#{event_type}"


def event_type_index(tenant_prefix: str, event_id: str, event_type: str) -> Key:
    """The event item's own gsi1 keys (no copy of the event): listed under its type."""
    return {"gsi1pk": events_of_type_partition(tenant_prefix, event_type), "gsi1sk": event_id}


def event_sent_marker(tenant_prefix: str, event_id: str) -> Key:
    """Written once every delivery message of the event was sent, in a partition of its own (list
    pages never read it): a re-delivered stream record then sends nothing."""
    return {"pk": f"{tenant_prefix}#EVT#{event_id}", "sk": "SENT"}


# --- webhooks -------------------------------------------------------------------------------------
def webhooks_partition(tenant_prefix: str) -> str:
    """An account+mode's webhook endpoints: one small partition (at most 16), sorted by id."""
    return f"{tenant_prefix}#WEBHOOKS"


def webhook_endpoint(tenant_prefix: str, endpoint_id: str) -> Key:
    return {"pk": webhooks_partition(tenant_prefix), "sk": endpoint_id}


DELIVERY_INFIX = "#DLV#"


def delivery(tenant_prefix: str, event_id: str, endpoint_id: str) -> Key:
    """One event's delivery to one endpoint (state and attempts log), right after the event in the
    events partition, so reading the event reads its deliveries in the same Query."""
    return {"pk": events_partition(tenant_prefix), "sk": f"{event_id}{DELIVERY_INFIX}{endpoint_id}"}


def endpoint_id_of_delivery(sort_key: str) -> str | None:
    """The endpoint of a delivery's sort key; None for any other sort key of the events partition."""
    _, infix, endpoint_id = sort_key.partition(DELIVERY_INFIX)
    return endpoint_id if infix else None


def endpoint_deliveries_partition(tenant_prefix: str, endpoint_id: str) -> str:
    """GSI1 partition of one endpoint's deliveries (its delivery log), by status then id."""
    return f"{tenant_prefix}#WHD#{endpoint_id}"


def delivery_log_bound(status: str, delivery_id: str) -> str:
    """A gsi1 sort key of the delivery log: the delivery's status (pending, succeeded, failed,
    dead_lettered), then its id (time-sortable), so one status's deliveries are one sort-key range."""
    return f"{status}#{delivery_id}"


def delivery_log_index(tenant_prefix: str, endpoint_id: str, status: str, delivery_id: str) -> Key:
    """A delivery item's own gsi1 keys: listed in its endpoint's log under its status."""
    return {"gsi1pk": endpoint_deliveries_partition(tenant_prefix, endpoint_id),
            "gsi1sk": delivery_log_bound(status, delivery_id)}


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


# --- what refers to a customer (data rights: export and redact) ------------------------------------
EVENT_REFERENCE = "EVT#"
ANSWER_REFERENCE = "IDEM#"
TOKENS_REFERENCE = "TOK#"


def customer_reference(tenant_prefix: str, customer_id: str, kind: str, target: str) -> Key:
    """A small item in the customer's own partition (beside its item, `CUS`) naming something else
    that holds the customer's data: one of its events (`EVT#<evt_id>`), a stored idempotent answer no
    event names (`IDEM#<sha256(key)>`), or search tokens a failed change left (`TOK#<digest of their
    keys>`). One consistent Query of the partition finds them all."""
    return {"pk": customer(tenant_prefix, customer_id)["pk"], "sk": f"{kind}{target}"}


def customer_partition(tenant_prefix: str, customer_id: str) -> str:
    """The customer's item and its references (customer_reference)."""
    return customer(tenant_prefix, customer_id)["pk"]
