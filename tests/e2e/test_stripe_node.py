"""The official stripe-node SDK (pinned in package.json, installed by `npm ci` from package-lock.json)
against the local stack: tests/e2e/node/stripe_node_suite.js, on a fresh account. It covers the
customer object (§10's fields, billing fields' neutral values, a billing field refused), Stripe-Version
echoed and honoured, Stripe-Account refused, list and search auto-paging forwards and backwards, webhook
endpoints with api_version, Event.list with types[], type=customer.* and delivery_success, and real
deliveries verified with webhooks.constructEvent, each labelled with its endpoint's api_version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SUITE = ROOT / "tests" / "e2e" / "node" / "stripe_node_suite.js"


def _stripe_node_version() -> str:
    return json.loads((ROOT / "node_modules" / "stripe" / "package.json").read_text())["version"]


def test_stripe_node_is_the_pinned_one():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["stripe"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/stripe"]["version"]
    assert pinned == locked == _stripe_node_version(), "run `npm ci` (make install)"


def test_the_stripe_node_suite_passes(stack, new_account):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the Makefile's check-python asks for it)")
    result = subprocess.run([node, str(SUITE)], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
                            env={**os.environ, "STRIPE_API_URL": stack["api_url"], "STRIPE_KEY": new_account("test")})
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{result.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    failed = [c for c in summary["checks"] if not c["ok"]]
    assert not failed and result.returncode == 0, json.dumps(failed, indent=1) + result.stderr[-2000:]
    assert summary["passed"] == len(summary["checks"]) >= 29, summary
