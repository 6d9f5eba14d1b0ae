"""Wallets (api.md §7): address formats against published vectors, and the wallet operations."""

from __future__ import annotations

import json

import pytest
from customers_core import addresses
from customers_core.auth import Principal
from customers_core.errors import ApiError, Conflict, InvalidRequest, ResourceMissing
from customers_core.logic import wallets
from customers_core.logic.customers import create_customer, delete_customer, list_customers, retrieve_customer
from customers_core.logic.fanout import record_event
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.wallets import WalletCreate, WalletUpdate

OWNER = Principal("acct_01JWALLETS00000000000000000", False, frozenset(), "key_x")

# EIP-55's own examples (all-caps, all-lower and mixed-case checksummed).
EIP55_VALID = ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
               "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
               "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
               "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]
EIP55_INVALID = ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "0xfb6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                 "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]
# Stellar account ids with the ed25519 keys they encode (published SDK test vectors).
STRKEY_VECTORS = {
    "GB5QPGBUTHET6TVSK3L7NJBKZ4J66CMLEABC5ECPNSBPCOAFCZWJ6KSN":
        "7b07983499c93f4eb256d7f6a42acf13ef098b20022e904f6c82f13805166c9f",
    "GBAN4AN3QIKSC2QY6CHKA2FBYKW26QORDN6FKWG6GVOIYOT7NBA633GO":
        "40de01bb8215216a18f08ea068a1c2adaf41d11b7c5558de355c8c3a7f6841ed",
    "GAZER55M26YT7X6IE4PEV5EGGAGNVP5I2DKAN2YUQWU3SOCY644DM6NS":
        "3248f7acd7b13fdfc8271e4af486300cdabfa8d0d406eb1485a9b93858f73836",
}
STRKEY_INVALID = [
    "SBGWKM3CD4IL47QN6X54N6Y33T3JDNVI6AIJ6CD5IM47HG3IG4O36XCU",  # a secret seed, not an account id
    "GBPXX0A5N4JYPESHAADMQKBPWZWQDQ64ZV6ZL2S3LAGW4SY7NTCMWIVL",  # '0' is not in the alphabet
    "GB5QPGBUTHET6TVSK3L7NJBKZ4J66CMLEABC5ECPNSBPCOAFCZWJ6KSM",  # checksum off by one character
    "GB5QPGBUTHET6TVSK3L7NJBKZ4J66CMLEABC5ECPNSBPCOAFCZWJ6KS",   # too short
    "gb5qpgbuthet6tvsk3l7njbkz4j66cmleabc5ecpnsbpcoafczwj6ksn",  # lower case is not StrKey
]


def test_keccak256_matches_the_known_digests():
    assert addresses.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert addresses.keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert addresses.keccak256(b"a" * 200).hex() != addresses.keccak256(b"a" * 199).hex()


@pytest.mark.parametrize("address", EIP55_VALID)
def test_eip55_valid_addresses_are_stored_checksummed(address):
    stored = addresses.normalize_evm(address)
    assert stored.lower() == address.lower() and addresses.eip55(stored) == stored
    if address[2:] != address[2:].lower() and address[2:] != address[2:].upper():
        assert stored == address


@pytest.mark.parametrize("address", EIP55_INVALID)
def test_eip55_invalid_addresses_are_refused(address):
    with pytest.raises(addresses.InvalidAddress):
        addresses.normalize_evm(address)


@pytest.mark.parametrize(("account_id", "key"), STRKEY_VECTORS.items())
def test_strkey_vectors_decode_and_encode(account_id, key):
    assert addresses.stellar_public_key(account_id).hex() == key
    assert addresses.stellar_account_id(bytes.fromhex(key)) == account_id


@pytest.mark.parametrize("account_id", STRKEY_INVALID)
def test_strkey_invalid_ids_are_refused(account_id):
    with pytest.raises(addresses.InvalidAddress):
        addresses.stellar_public_key(account_id)


@pytest.fixture
def customer(table):
    return create_customer(table, OWNER, CustomerParams(name="Holder"), {})


def _add(table, customer_id, **body):
    return wallets.add_wallet(table, OWNER, customer_id, WalletCreate.model_validate(body), {})


def test_add_list_update_remove_and_the_customer_object(table, customer):
    evm = _add(table, customer["id"], network="evm", chain_id=1, address="0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    assert evm["address"] == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" and evm["chain_id"] == 1
    assert evm["object"] == "wallet" and evm["customer"] == customer["id"] and evm["id"].startswith("wal_")
    stellar = _add(table, customer["id"], network="stellar", address=next(iter(STRKEY_VECTORS)))
    assert "chain_id" not in stellar
    listed = wallets.list_wallets(table, OWNER, customer["id"])["data"]
    assert [w["id"] for w in listed] == [evm["id"], stellar["id"]]
    assert retrieve_customer(table, OWNER, customer["id"])["wallets"] == listed
    updated = wallets.update_wallet(table, OWNER, customer["id"], evm["id"], WalletUpdate(
        authorization_type="PERMIT", authorization_tx_hash="0x" + "ab" * 32, authorized_at=1795435300,
        has_active_authorization=True), {})
    assert (updated["authorization_type"], updated["has_active_authorization"]) == ("PERMIT", True)
    assert wallets.remove_wallet(table, OWNER, customer["id"], evm["id"], {}) == \
        {"id": evm["id"], "object": "wallet", "deleted": True}
    assert [w["id"] for w in wallets.list_wallets(table, OWNER, customer["id"])["data"]] == [stellar["id"]]
    with pytest.raises(ResourceMissing):
        wallets.remove_wallet(table, OWNER, customer["id"], evm["id"], {})


def test_a_wallet_has_one_owner_per_account_and_mode_and_is_freed_by_removal(table, customer):
    other = create_customer(table, OWNER, CustomerParams(name="Other"), {})
    address = "0x52908400098527886E0F7030069857D2E4169EE7"
    first = _add(table, customer["id"], network="evm", chain_id=1, address=address)
    for holder in (customer, other):
        with pytest.raises(Conflict) as err:
            _add(table, holder["id"], network="evm", chain_id=1, address=address.lower())
        assert (err.value.code, err.value.param) == ("wallet_taken", "address")
    assert _add(table, other["id"], network="evm", chain_id=137, address=address)["chain_id"] == 137  # other chain
    live = Principal(OWNER.account_id, True, frozenset(), "k")
    live_customer = create_customer(table, live, CustomerParams(name="Live"), {})
    wallets.add_wallet(table, live, live_customer["id"], WalletCreate(network="evm", chain_id=1, address=address), {})
    wallets.remove_wallet(table, OWNER, customer["id"], first["id"], {})
    assert _add(table, other["id"], network="evm", chain_id=1, address=address)["customer"] == other["id"]


def test_wallet_filter_on_list_finds_the_owner_and_deleting_a_customer_frees_its_wallets(table, customer):
    address = next(iter(STRKEY_VECTORS))
    _add(table, customer["id"], network="stellar", address=address)
    found = list_customers(table, OWNER, ListCustomersParams(wallet=address, include=["total_count"]))
    assert [c["id"] for c in found["data"]] == [customer["id"]] and found["total_count"] == 1
    assert list_customers(table, OWNER, ListCustomersParams(wallet="0x" + "1" * 40))["data"] == []
    delete_customer(table, OWNER, customer["id"], {})
    assert list_customers(table, OWNER, ListCustomersParams(wallet=address))["data"] == []
    newcomer = create_customer(table, OWNER, CustomerParams(name="New"), {})
    assert _add(table, newcomer["id"], network="stellar", address=address)["customer"] == newcomer["id"]


@pytest.mark.parametrize(("body", "param"), [
    ({"network": "evm", "address": "0x52908400098527886E0F7030069857D2E4169EE7"}, "chain_id"),
    ({"network": "stellar", "chain_id": 1, "address": next(iter(STRKEY_VECTORS))}, "chain_id"),
    ({"network": "evm", "chain_id": 1, "address": EIP55_INVALID[0]}, "address"),
    ({"network": "stellar", "address": STRKEY_INVALID[2]}, "address"),
    ({"network": "bitcoin", "address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}, "network"),
    ({"network": "evm", "chain_id": 0, "address": EIP55_VALID[0]}, "chain_id"),
])
def test_bad_wallets_are_400_naming_the_param(make_api_event, lambda_context, account, table, body, param):
    from tests.conftest import load_function

    owner = {**account}
    from customers_core.auth import principal_from_context

    created = create_customer(table, principal_from_context(owner), CustomerParams(name="x"), {})
    fn = load_function("add_wallet")
    response = fn.lambda_handler(make_api_event("POST", f"/v1/customers/{created['id']}/wallets",
                                                body=json.dumps(body), content_type="application/json",
                                                context=owner, path_parameters={"customer_id": created["id"]}),
                                 lambda_context)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]["param"] == param


def test_wallet_changes_are_customer_updated_events(table, customer):
    import copy

    from customers_core.dal.table import serialize

    before = table.get({"pk": f"{OWNER.tenant}#CUS#{customer['id']}", "sk": "CUS"})
    _add(table, customer["id"], network="evm", chain_id=10, address=EIP55_VALID[1])
    after = table.get({"pk": f"{OWNER.tenant}#CUS#{customer['id']}", "sk": "CUS"})
    record = {"eventID": "wallet-add", "eventName": "MODIFY",
              "dynamodb": {"NewImage": serialize(after), "OldImage": serialize(copy.deepcopy(before)),
                           "ApproximateCreationDateTime": after["updated"]}}
    from customers_core.logic.events import retrieve_event

    event_id = record_event(table, record, 30)
    assert event_id is not None
    event = retrieve_event(table, Principal(OWNER.account_id, False, frozenset({"events:read"}), "k"), event_id)
    assert event["type"] == "customer.updated" and event["data"]["previous_attributes"] == {"wallets": []}
    assert event["data"]["object"]["wallets"][0]["chain_id"] == 10


def test_unknown_customer_or_wallet_is_404(table, customer):
    with pytest.raises(ApiError) as err:
        wallets.list_wallets(table, OWNER, "cus_01JNOPE0000000000000000000")
    assert err.value.status == 404
    with pytest.raises(ResourceMissing):
        wallets.update_wallet(table, OWNER, customer["id"], "wal_01JNOPE0000000000000000000", WalletUpdate(), {})
    with pytest.raises(InvalidRequest):
        _add(table, customer["id"], network="evm", chain_id=1, address="0x123")
