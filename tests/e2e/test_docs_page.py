"""The API reference in a real browser (Debian's headless chromium, `make browser`): the local stack's
/docs renders every operation of docs/openapi.json, the customer operations first, from the stack
alone (no CDN, no network); `make docs`' static copy renders the same from its files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from local_stack import docs_page

from tests.e2e.chromium import Browser, Page, executable

SPEC = json.loads(docs_page.SPEC_PATH.read_text())
OPERATIONS = sorted((method.upper(), path) for path, ops in SPEC["paths"].items() for method in ops)
CUSTOMER_SUMMARIES = sorted({op["summary"] for path, ops in SPEC["paths"].items() for op in ops.values()
                             if path.startswith("/v1/customers") and "/wallets" not in path})
RENDERED = """[...document.querySelectorAll('.opblock')].map(b => [
    b.querySelector('.opblock-summary-method')?.textContent,
    b.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
    b.querySelector('.opblock-summary-description')?.textContent])"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = executable()
    assert binary, "Debian's chromium is not installed: `make browser` (make test does it) installs it"
    started = Browser(binary)
    yield started
    started.close()


def rendered(page: Page, url: str) -> list[Any]:
    page.goto(url)
    page.wait_for(f"document.querySelectorAll('.opblock').length >= {len(OPERATIONS)}")
    return list(page.evaluate(RENDERED))


def test_the_stack_serves_a_reference_that_renders_every_customer_operation_offline(stack, browser, tmp_path):
    page = browser.page()
    page.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 2000, "deviceScaleFactor": 1,
                                                      "mobile": False})
    blocks = rendered(page, f"{stack['api_url']}/docs")  # redirected to /docs/
    assert sorted((method, path) for method, path, _ in blocks) == OPERATIONS
    assert CUSTOMER_SUMMARIES and set(CUSTOMER_SUMMARIES) <= {summary for _, _, summary in blocks}
    tags = page.evaluate("[...document.querySelectorAll('.opblock-tag')].map(t => t.getAttribute('data-tag'))")
    assert tags[0] == "Customers" and set(tags) == {"Customers", "Wallets", "Webhook endpoints", "Events"}
    # Opening "Create a customer" shows its parameters and the contract's error responses.
    page.evaluate("document.querySelector('#operations-Customers-createCustomer .opblock-summary-control').click()")
    body = page.wait_for("document.querySelector('#operations-Customers-createCustomer .opblock-body')?.innerText")
    assert "409" in body and "application/x-www-form-urlencoded" in body
    # Everything came from the stack itself: no CDN, no other host.
    urls = page.requested_urls()
    assert urls and all(u.startswith((stack["api_url"] + "/docs", "data:")) for u in urls), urls
    assert page.console_errors() == []
    page.screenshot(tmp_path / "docs.png")


def test_make_docs_static_copy_renders_from_its_files(browser, tmp_path):
    out = tmp_path / "site"
    assert docs_page.main(["--out", str(out)]) == 0  # what `make docs` runs (into build/docs)
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html", "openapi.json", *docs_page.ASSETS])
    page = browser.page()
    blocks = rendered(page, (out / "index.html").as_uri())
    assert sorted((method, path) for method, path, _ in blocks) == OPERATIONS
    urls = page.requested_urls()
    assert all(u.startswith((out.as_uri(), "data:")) for u in urls), urls
