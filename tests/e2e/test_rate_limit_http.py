"""The per-account limit over HTTP, on a stack of its own limited to 2 requests a second: the 429 in the
contract's shape, stripe-python's RateLimitError, and the SDK's own retries getting through."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe

from tests.e2e.conftest import local_stack


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("limited"), RATE_LIMIT_PER_SECOND="2") as info:
        yield info


def test_a_burst_gets_429s_in_the_contracts_shape(limited):
    headers = {"x-api-key": limited["secret_key"]}
    # 20 requests as fast as one client can send them: at 2 a second, some must be refused.
    responses = [requests.get(f"{limited['api_url']}/v1/customers", headers=headers, timeout=10) for _ in range(20)]
    refused = [r for r in responses if r.status_code == 429]
    assert refused and {r.status_code for r in responses} == {200, 429}
    assert refused[0].json()["error"]["type"] == "rate_limit_error"
    assert refused[0].json()["error"]["code"] == "rate_limited"
    assert refused[0].headers["Retry-After"] == "1" and refused[0].headers["Request-Id"].startswith("req_")


def test_stripe_python_raises_rate_limit_error_and_its_retries_get_through(limited):
    url = limited["api_url"]
    impatient = stripe.StripeClient(limited["secret_key"], base_addresses={"api": url}, max_network_retries=0)
    with pytest.raises(stripe.RateLimitError):
        for _ in range(20):
            impatient.v1.customers.list()
    patient = stripe.StripeClient(limited["secret_key"], base_addresses={"api": url}, max_network_retries=6)
    made = [patient.v1.customers.create(params={"email": f"patient{n}@example.com"}) for n in range(6)]
    assert len({c.id for c in made}) == 6
    listed = patient.v1.customers.list(params={"limit": 100})
    assert sorted(c.email for c in listed.data if c.email and c.email.startswith("patient")) == \
        sorted(f"patient{n}@example.com" for n in range(6))
