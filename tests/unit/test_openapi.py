"""docs/openapi.json is generated from the code; this fails when the two drift apart."""

from __future__ import annotations

import json
import re

from local_stack import template
from local_stack.openapi import SPEC_PATH, render


def test_committed_spec_matches_the_code():
    assert SPEC_PATH.read_text() == render(), "docs/openapi.json is out of date: run `make openapi`"


def test_spec_covers_every_route_with_the_error_shape():
    spec = json.loads(SPEC_PATH.read_text())
    operations = {(m, re.sub(r"\{\w+\}", "{}", p)) for p, ops in spec["paths"].items() for m in ops}
    routes = {(r.method.lower(), re.sub(r"\{\w+\}", "{}", r.path))
              for f in template.functions().values() for r in f.routes if r.path != "$default"}
    assert len(routes) == 27  # 21 + rotate_secret, the two delivery logs, upsert, export, redact (issue 15)
    assert operations == routes
    for ops in spec["paths"].values():
        for operation in ops.values():
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == \
                {"$ref": "#/components/schemas/ErrorBody"}
