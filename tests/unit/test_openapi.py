"""docs/openapi.json is generated from the code; this fails when the two drift apart."""

from __future__ import annotations

import json

from local_stack.openapi import SPEC_PATH, render


def test_committed_spec_matches_the_code():
    assert SPEC_PATH.read_text() == render(), "docs/openapi.json is out of date: run `make openapi`"


def test_spec_covers_every_route_with_the_error_shape():
    spec = json.loads(SPEC_PATH.read_text())
    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert operations == {("get", "/v1/customers"), ("post", "/v1/customers"),
                          ("get", "/v1/customers/{customer_id}"), ("post", "/v1/customers/{customer_id}"),
                          ("patch", "/v1/customers/{customer_id}"), ("put", "/v1/customers/{customer_id}"),
                          ("delete", "/v1/customers/{customer_id}"), ("get", "/v1/events"),
                          ("get", "/v1/events/{event_id}")}
    for ops in spec["paths"].values():
        for operation in ops.values():
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/ErrorBody"}
