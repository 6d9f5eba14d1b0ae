"""Accounts and API keys. A key is stored only as its SHA-256 hash, in two items written together:
the lookup item the authorizer reads by hash, and the record the admin tools find by key id."""

from __future__ import annotations

from customers_core import keys
from customers_core.dal.table import Item, Table, serialize


def put_account(table: Table, item: Item) -> None:
    table.put(item, condition="attribute_not_exists(pk)")


def get_account(table: Table, account_id: str) -> Item | None:
    return table.get(keys.account(account_id))


def insert_key(table: Table, lookup: Item, record: Item) -> None:
    table.transact_write([
        {"Put": {"Item": serialize(lookup), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"Item": serialize(record), "ConditionExpression": "attribute_not_exists(pk)"}},
    ])


def get_key_by_hash(table: Table, secret_hash: str) -> Item | None:
    return table.get(keys.api_key_lookup(secret_hash), consistent=False)


def get_key_record(table: Table, key_id: str) -> Item | None:
    return table.get(keys.api_key_record(key_id))


def list_keys(table: Table, account_id: str) -> list[Item]:
    return table.query_index("gsi1", "gsi1pk", keys.account_keys_partition(account_id))


def revoke_key(table: Table, key_id: str, secret_hash: str, revoked_at: int) -> None:
    update = {
        "UpdateExpression": "SET revoked = :t, revoked_at = :at",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeValues": {":t": {"BOOL": True}, ":at": {"N": str(revoked_at)}},
    }
    table.transact_write([
        {"Update": {"Key": serialize(keys.api_key_lookup(secret_hash)), **update}},
        {"Update": {"Key": serialize(keys.api_key_record(key_id)), **dict(update)}},
    ])
