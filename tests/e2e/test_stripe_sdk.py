"""The official stripe-python SDK, pointed at the local stack, works unchanged."""

from __future__ import annotations

import stripe


def test_stripe_python_creates_and_retrieves_a_customer(stack):
    client = stripe.StripeClient(stack["secret_key"], base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    created = client.v1.customers.create(params={"email": "sdk@example.com", "name": "Sdk User",
                                                 "metadata": {"plan": "pro"}})
    assert created.id.startswith("cus_")
    assert created.metadata is not None and created.metadata["plan"] == "pro"
    fetched = client.v1.customers.retrieve(created.id)
    assert (fetched.id, fetched.email, fetched.name) == (created.id, "sdk@example.com", "Sdk User")


def test_stripe_python_global_api_style_works_too(stack):
    stripe.api_key = stack["secret_key"]
    stripe.api_base = stack["api_url"]
    try:
        created = stripe.Customer.create(name="Global Style")
        assert stripe.Customer.retrieve(created.id).name == "Global Style"
    finally:
        stripe.api_base = "https://api.stripe.com"
        stripe.api_key = None


def test_stripe_python_surfaces_the_contracts_errors(stack):
    client = stripe.StripeClient(stack["secret_key"], base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    try:
        client.v1.customers.retrieve("cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY")
    except stripe.InvalidRequestError as exc:
        assert exc.http_status == 404 and exc.code == "resource_missing"
    else:
        raise AssertionError("expected a 404")


def test_stripe_python_full_lifecycle_and_auto_paging_over_250_customers(stack, new_account):
    key = new_account("test")
    stripe.api_key, stripe.api_base = key, stack["api_url"]
    try:
        created_ids = [stripe.Customer.create(email=f"page{i}@example.com", metadata={"i": str(i)}).id
                       for i in range(250)]
        modified = stripe.Customer.modify(created_ids[0], name="Modified", metadata={"extra": "yes"})
        assert modified.metadata is not None
        assert modified.name == "Modified" and modified.metadata.to_dict() == {"i": "0", "extra": "yes"}
        assert stripe.Customer.retrieve(created_ids[1]).email == "page1@example.com"
        deleted = stripe.Customer.delete(created_ids[2])
        assert deleted.deleted is True

        first_page = stripe.Customer.list(limit=100)
        assert len(first_page.data) == 100 and first_page.has_more is True
        walked = [c.id for c in stripe.Customer.list(limit=100).auto_paging_iter()]
        expected = [cid for cid in reversed(created_ids) if cid != created_ids[2]]
        assert walked == expected  # newest first, every live customer exactly once
    finally:
        stripe.api_base = "https://api.stripe.com"
        stripe.api_key = None
