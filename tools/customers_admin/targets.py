"""Where an import writes and an export reads: a table (the local stack's or a deployed stage's),
through the service's own logic layer, or the HTTP API.

Both answer in the API's terms (status, body, replayed), so the import decides the same way whatever
the target (customers_admin.importing).

**The bulk path** (`TableTarget`): the items of each create are exactly those of `POST /v1/customers`
with the record's idempotency key — the customer item, its uniqueness markers, index entries, counts,
search tokens and its idempotency record — built by the service's own code, and sent many records at
a time: their transactions joined into a few of up to 100 operations, with one counter update each
(customers_admin.bulk). A record that cannot go with the others — its email or external_id taken —
is created alone by `customers_core.logic.customers.create_customer` under
`customers_core.idempotency.guarded`, as the API's handler runs it; one whose key was used before gets
the first answer, replayed. Updates and wallets are the service's own operations too
(`update_customer`, `logic.wallets.add_wallet` / `update_wallet`, under the guard), one record at a
time. The table's stream turns each write into its event as for any other write. What it skips is the
HTTP edge: authentication (the caller is the operator, with AWS credentials for the table) and the
per-account rate limit.

**HTTP** (`HttpTarget`): the array create, 100 customers a request, with an `Idempotency-Key` derived
from the records; 429 waits for `Retry-After`, 5xx and network errors are retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from customers_admin import bulk
from customers_admin.validation import WalletKey, wallet_key

PAGE = 100
_TRANSIENT_AWS = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                  "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
                  "LimitExceededException"}


@dataclass
class Answer:
    """One operation's answer, as the API gives it."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        error = self.body.get("error")
        return str(error.get("code")) if isinstance(error, dict) and error.get("code") else None

    @property
    def message(self) -> str:
        error = self.body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or "error")
        return f"HTTP {self.status}"


@dataclass
class Holders:
    """Existing customers holding a record's unique values (for the dry run)."""

    external_id: dict[str, Any] | None = None
    email: dict[str, Any] | None = None
    wallets: dict[WalletKey, str] = field(default_factory=dict)  # wallet → id of the customer holding it


class Target(ABC):
    label: str

    @abstractmethod
    def create_many(self, bodies: list[dict[str, Any]], keys: list[str]) -> list[Answer]:
        """Create each body (in this order; `keys`: each record's idempotency key): one answer per body."""

    @abstractmethod
    def retrieve(self, customer_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def find(self, field_name: str, value: str) -> dict[str, Any] | None:
        """The live customer holding this email (any case) or external_id."""

    @abstractmethod
    def update(self, customer_id: str, body: dict[str, Any], key: str) -> Answer: ...

    @abstractmethod
    def add_wallet(self, customer_id: str, body: dict[str, Any], key: str) -> Answer: ...

    @abstractmethod
    def update_wallet(self, customer_id: str, wallet_id: str, body: dict[str, Any], key: str) -> Answer: ...

    @abstractmethod
    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Every customer of the account and mode, newest first, a page at a time."""

    @abstractmethod
    def count(self) -> int | None:
        """How many customers the account and mode has (total_count), if it can say."""

    def holders(self, records: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[Holders]:
        """For each (create body, wallets): the existing customers holding its email, external_id,
        wallets. This default lists every customer once and keeps an index of their unique values
        (value → id, about 150 bytes a value: not the customers), then reads the customers that hold
        a record's values."""
        index = self._index()
        wanted: list[tuple[str | None, str | None, dict[WalletKey, str]]] = []
        for body, wallets in records:
            by_external = index.get(("external_id", str(body["external_id"]))) if body.get("external_id") else None
            by_email = index.get(("email", str(body["email"]).lower())) if body.get("email") else None
            held = {wallet_key(w): index[("wallet", wallet_key(w))] for w in wallets
                    if ("wallet", wallet_key(w)) in index}
            wanted.append((by_external, by_email, held))
        customers = {cid: self.retrieve(cid) for cid in sorted({c for e, m, _ in wanted for c in (e, m) if c})}
        return [Holders(customers.get(e) if e else None, customers.get(m) if m else None, held)
                for e, m, held in wanted]

    _built: dict[tuple[str, Any], str] | None = None

    def _index(self) -> dict[tuple[str, Any], str]:
        if self._built is None:
            index: dict[tuple[str, Any], str] = {}
            for page in self.pages():
                for customer in page:
                    if customer.get("external_id"):
                        index[("external_id", customer["external_id"])] = customer["id"]
                    if customer.get("email"):
                        index[("email", str(customer["email"]).lower())] = customer["id"]
                    for wallet in customer.get("wallets") or []:
                        index[("wallet", wallet_key(wallet))] = customer["id"]
            self._built = index
        return self._built


# --- the bulk path: the table, through the logic layer ------------------------------------------------
class TableTarget(Target):
    def __init__(self, table: Any, account_id: str, livemode: bool, label: str, *,
                 dynamodb_local: bool = False) -> None:
        from customers_core.auth import SCOPES, Principal  # noqa: PLC0415 — the layer loads with the command

        self.table = table
        # DynamoDB Local commits (and on disk syncs) each item of a BatchWriteItem on its own, and a
        # transaction's items together: there the items beside a create ride in its transaction.
        self.beside_in_transaction = dynamodb_local
        self.who = Principal(account_id=account_id, livemode=livemode, scopes=frozenset(SCOPES),
                             key_id="customers-admin")
        self.label = label

    def _guarded(self, key: str, method: str, path: str, body: dict[str, Any],
                 run: Callable[[dict[str, str | None]], dict[str, Any]]) -> Answer:
        """Run one operation as the API's handler would: under the idempotency key, its answer stored
        in the change's own transaction; a repeat replays the first answer."""
        from customers_core import idempotency, ids  # noqa: PLC0415
        from customers_core.errors import ApiError  # noqa: PLC0415
        from customers_core.http import compact_json  # noqa: PLC0415

        def attempt() -> Answer:
            request_id = ids.new_id(ids.REQUEST)
            event = bulk.request_event(method, path, body)

            def call() -> dict[str, Any]:
                try:
                    answer = run({"request_id": request_id, "idempotency_key": key})
                    return {"statusCode": 200, "body": compact_json(answer)}
                except ApiError as exc:
                    return {"statusCode": exc.status, "body": compact_json(exc.body()), "headers": dict(exc.headers)}

            try:
                result = idempotency.guarded(self.table, self.who, key, event, request_id, call)
            except ApiError as exc:
                return Answer(exc.status, exc.body())
            headers = result.get("headers") or {}
            return Answer(int(result["statusCode"]), json.loads(result["body"]),
                          headers.get("Idempotent-Replayed") == "true")

        return _with_retries(attempt)

    def create_many(self, bodies: list[dict[str, Any]], keys: list[str]) -> list[Answer]:
        """The batch written together (customers_admin.bulk); a record that cannot be (its email taken,
        its key used before …) is written alone, as the API writes it, for the API's answer."""
        written = bulk.write(self.table, self.who, bodies, keys, _with_retries,
                             beside_in_transaction=self.beside_in_transaction)
        replayed = set(written.replayed)
        return [Answer(200, written.created[i]) if i in written.created
                else self.replay(body, key) if i in replayed else self.create_one(body, key)
                for i, (body, key) in enumerate(zip(bodies, keys, strict=True))]

    def replay(self, body: dict[str, Any], key: str) -> Answer:
        """A create whose idempotency key is used: the API's answer to it, the first answer replayed
        (or its refusal of a key used with other parameters), as the guard gives it when a write
        finds the key taken."""
        from customers_core.dal.table import ReceiptTaken  # noqa: PLC0415

        def taken(_: dict[str, str | None]) -> dict[str, Any]:
            raise ReceiptTaken

        return self._guarded(key, "POST", "/v1/customers", body, taken)

    def create_one(self, body: dict[str, Any], key: str) -> Answer:
        """One create exactly as `POST /v1/customers` runs it: `logic.customers.create_customer` under
        the idempotency key."""
        from customers_core.http import validation_error  # noqa: PLC0415
        from customers_core.logic import customers  # noqa: PLC0415
        from customers_core.models.customer import CustomerParams  # noqa: PLC0415
        from pydantic import ValidationError  # noqa: PLC0415

        try:
            params = CustomerParams.model_validate(body)
        except ValidationError as exc:  # what the API answers (the check before should have said it)
            error = validation_error(exc)
            return Answer(error.status, error.body())
        return self._guarded(key, "POST", "/v1/customers", body,
                             lambda request: customers.create_customer(self.table, self.who, params, request))

    def retrieve(self, customer_id: str) -> dict[str, Any] | None:
        from customers_core.errors import ResourceMissing  # noqa: PLC0415
        from customers_core.logic import customers  # noqa: PLC0415

        try:
            found = _with_retries(lambda: customers.retrieve_customer(self.table, self.who, customer_id))
        except ResourceMissing:
            return None
        return None if found.get("deleted") else found

    def find(self, field_name: str, value: str) -> dict[str, Any] | None:
        from customers_core.dal import customers as dal  # noqa: PLC0415

        owner = _with_retries(lambda: dal.owner_of(self.table, self.who.tenant, field_name, value))
        return self.retrieve(owner) if owner else None

    def update(self, customer_id: str, body: dict[str, Any], key: str) -> Answer:
        from customers_core.logic import customers  # noqa: PLC0415
        from customers_core.models.customer import CustomerParams  # noqa: PLC0415

        params = CustomerParams.model_validate(body)
        return self._guarded(key, "POST", f"/v1/customers/{customer_id}", body,
                             lambda request: customers.update_customer(self.table, self.who, customer_id, params,
                                                                       request))

    def add_wallet(self, customer_id: str, body: dict[str, Any], key: str) -> Answer:
        from customers_core.logic import wallets  # noqa: PLC0415
        from customers_core.models.wallets import WalletCreate  # noqa: PLC0415

        params = WalletCreate.model_validate(body)
        return self._guarded(key, "POST", f"/v1/customers/{customer_id}/wallets", body,
                             lambda request: wallets.add_wallet(self.table, self.who, customer_id, params, request))

    def update_wallet(self, customer_id: str, wallet_id: str, body: dict[str, Any], key: str) -> Answer:
        from customers_core.logic import wallets  # noqa: PLC0415
        from customers_core.models.wallets import WalletUpdate  # noqa: PLC0415

        params = WalletUpdate.model_validate(body)
        return self._guarded(key, "POST", f"/v1/customers/{customer_id}/wallets/{wallet_id}", body,
                             lambda request: wallets.update_wallet(self.table, self.who, customer_id, wallet_id,
                                                                   params, request))

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        from customers_core.logic import customers  # noqa: PLC0415
        from customers_core.models.listing import ListCustomersParams  # noqa: PLC0415

        after: str | None = None
        while True:
            params = ListCustomersParams(limit=PAGE, starting_after=after)
            page: dict[str, Any] = _with_retries(partial(customers.list_customers, self.table, self.who, params))
            if page["data"]:
                yield page["data"]
            if not page["has_more"] or not page["data"]:
                return
            after = page["data"][-1]["id"]

    def count(self) -> int | None:
        from customers_core.logic import customers  # noqa: PLC0415
        from customers_core.models.listing import ListCustomersParams  # noqa: PLC0415

        params = ListCustomersParams(limit=1, include=["total_count"])
        page = _with_retries(lambda: customers.list_customers(self.table, self.who, params))
        return int(page["total_count"]) if "total_count" in page else None

    def holders(self, records: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[Holders]:
        """The uniqueness markers of the records' values (one BatchGet), then their customers."""
        from customers_core import keys as table_keys  # noqa: PLC0415
        from customers_core.dal import customers as dal  # noqa: PLC0415

        tenant = self.who.tenant
        wanted: dict[tuple[str, str], Any] = {}
        for body, wallets in records:
            if body.get("external_id"):
                key = table_keys.external_id_marker(tenant, str(body["external_id"]))
                wanted[(key["pk"], key["sk"])] = key
            if body.get("email"):
                key = table_keys.email_marker(tenant, str(body["email"]).lower())
                wanted[(key["pk"], key["sk"])] = key
            for wallet in wallets:
                network, chain_id, address = wallet_key(wallet)
                key = table_keys.wallet_marker(tenant, address, network, chain_id)
                wanted[(key["pk"], key["sk"])] = key
        markers = {(m["pk"], m["sk"]): str(m["customer_id"])
                   for m in _with_retries(lambda: self.table.batch_get(list(wanted.values())))} if wanted else {}
        owner_ids = sorted(set(markers.values()))
        from customers_core.models.customer import customer_object  # noqa: PLC0415

        owners = {cid: customer_object(item) for cid, item in
                  _with_retries(lambda: dal.get_customers(self.table, tenant, owner_ids)).items()} if owner_ids else {}
        out = []
        for body, wallets in records:
            found = Holders()
            if body.get("external_id"):
                key = table_keys.external_id_marker(tenant, str(body["external_id"]))
                found.external_id = owners.get(markers.get((key["pk"], key["sk"]), ""))
            if body.get("email"):
                key = table_keys.email_marker(tenant, str(body["email"]).lower())
                found.email = owners.get(markers.get((key["pk"], key["sk"]), ""))
            for wallet in wallets:
                network, chain_id, address = wallet_key(wallet)
                key = table_keys.wallet_marker(tenant, address, network, chain_id)
                holder = markers.get((key["pk"], key["sk"]))
                if holder:
                    found.wallets[wallet_key(wallet)] = holder
            out.append(found)
        return out


def _with_retries[T](call: Callable[[], T], attempts: int = 8) -> T:
    """DynamoDB's throttling and transient errors, and the service's own 'retry' answers (5xx), are
    retried with backoff; every write carries its idempotency key, so a retry never writes twice."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    for attempt in range(attempts):
        try:
            result = call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _TRANSIENT_AWS or attempt == attempts - 1:
                raise
        except BotoCoreError:
            if attempt == attempts - 1:
                raise
        else:
            if not (isinstance(result, Answer) and result.status >= 500) or attempt == attempts - 1:
                return result
        time.sleep(min(10.0, 0.2 * 2 ** attempt))
    raise AssertionError("unreachable")


# --- HTTP -------------------------------------------------------------------------------------------------
_ITEM_PARAM = re.compile(r"^\[(\d+)\]")


class HttpTarget(Target):
    def __init__(self, api_url: str, key: str, *, timeout: float = 60.0) -> None:
        self.base = api_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.label = f"{self.base} (key …{key[-4:]})"
        self._local = threading.local()
        self.waited_for_rate_limit = 0.0  # seconds spent honouring 429 Retry-After

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests  # noqa: PLC0415

            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {self.key}", "User-Agent": "customers-admin"})
            self._local.session = session
        return session

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                key: str | None = None) -> Answer:
        """One call, retried while the answer says to: 429 after Retry-After, 409 idempotency_key_in_use
        (the same key still running, say from a killed run), 5xx and network errors with backoff."""
        import requests  # noqa: PLC0415

        headers = {"Idempotency-Key": key} if key else {}
        failures = 0
        for _ in range(10_000):
            try:
                response = self._session().request(method, self.base + path, json=body, params=params,
                                                   headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                failures += 1
                if failures >= 8:
                    return Answer(599, {"error": {"code": "network_error", "message": f"{type(exc).__name__}: "
                                                  f"{str(exc)[:200]}"}})
                time.sleep(min(10.0, 0.25 * 2 ** failures))
                continue
            try:
                parsed = response.json()
            except ValueError:
                parsed = {"error": {"code": "bad_response", "message": f"HTTP {response.status_code}: "
                                    f"{response.text[:200]}"}}
            answer = Answer(response.status_code, parsed if isinstance(parsed, dict) else {"data": parsed},
                            response.headers.get("Idempotent-Replayed") == "true")
            if response.status_code == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                self.waited_for_rate_limit += wait
                time.sleep(wait)
                continue
            if response.status_code == 409 and answer.code == "idempotency_key_in_use":
                time.sleep(1.0)
                continue
            if response.status_code >= 500:
                failures += 1
                if failures < 8:
                    time.sleep(min(10.0, 0.25 * 2 ** failures))
                    continue
            return answer
        return Answer(599, {"error": {"code": "retries_exhausted", "message": "too many retries"}})

    def create_many(self, bodies: list[dict[str, Any]], keys: list[str]) -> list[Answer]:
        answers: list[Answer | None] = [None] * len(bodies)
        self._create(list(range(len(bodies))), bodies, keys, answers)
        return [a if a is not None else Answer(500, {"error": {"message": "no answer"}}) for a in answers]

    def _create(self, indexes: list[int], bodies: list[dict[str, Any]], keys: list[str],
                answers: list[Answer | None]) -> None:
        """POST the array of `indexes`; an item the service refuses whole-batch (400 naming `[i]`) is
        answered alone and the rest sent again; a body over 1 MiB is sent in halves."""
        while indexes:
            answer = self.request("POST", "/v1/customers", body=[bodies[i] for i in indexes],
                                  key=batch_key([keys[i] for i in indexes]))
            if answer.ok:
                data = list(answer.body.get("data") or [])
                errors = {int(e["index"]): e["error"] for e in answer.body.get("errors") or []}
                for position, index in enumerate(indexes):
                    if position in errors:
                        error = errors[position]
                        status = 409 if str(error.get("code", "")).endswith(("_taken", "_in_use")) else 400
                        answers[index] = Answer(status, {"error": error})
                    else:
                        answers[index] = Answer(200, data.pop(0), answer.replayed)
                return
            if answer.status == 413 and len(indexes) > 1:
                half = len(indexes) // 2
                self._create(indexes[:half], bodies, keys, answers)
                indexes = indexes[half:]
                continue
            error = answer.body.get("error")
            match = _ITEM_PARAM.match(str(error.get("param") or "") if isinstance(error, dict) else "")
            if answer.status == 400 and match and int(match.group(1)) < len(indexes) and len(indexes) > 1:
                bad = indexes[int(match.group(1))]
                answers[bad] = answer
                indexes = [i for i in indexes if i != bad]
                continue
            for index in indexes:
                answers[index] = answer
            return

    def retrieve(self, customer_id: str) -> dict[str, Any] | None:
        answer = self.request("GET", f"/v1/customers/{customer_id}")
        if answer.status == 404 or answer.body.get("deleted"):
            return None
        if not answer.ok:
            raise RuntimeError(f"retrieving {customer_id}: {answer.message}")
        return answer.body

    def find(self, field_name: str, value: str) -> dict[str, Any] | None:
        answer = self.request("GET", "/v1/customers", params={field_name: value, "limit": 1})
        if not answer.ok:
            raise RuntimeError(f"looking up {field_name}: {answer.message}")
        data = answer.body.get("data") or []
        return data[0] if data else None

    def update(self, customer_id: str, body: dict[str, Any], key: str) -> Answer:
        return self.request("POST", f"/v1/customers/{customer_id}", body=body, key=key)

    def add_wallet(self, customer_id: str, body: dict[str, Any], key: str) -> Answer:
        return self.request("POST", f"/v1/customers/{customer_id}/wallets", body=body, key=key)

    def update_wallet(self, customer_id: str, wallet_id: str, body: dict[str, Any], key: str) -> Answer:
        return self.request("POST", f"/v1/customers/{customer_id}/wallets/{wallet_id}", body=body, key=key)

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if after:
                params["starting_after"] = after
            answer = self.request("GET", "/v1/customers", params=params)
            if not answer.ok:
                raise RuntimeError(f"listing customers: {answer.message}")
            data = list(answer.body.get("data") or [])
            if data:
                yield data
            if not answer.body.get("has_more") or not data:
                return
            after = data[-1]["id"]


    def count(self) -> int | None:
        answer = self.request("GET", "/v1/customers", params={"limit": 1, "include[]": "total_count"})
        return int(answer.body["total_count"]) if answer.ok and "total_count" in answer.body else None


def batch_key(record_keys: list[str]) -> str:
    """An array create's Idempotency-Key: derived from its records' keys (so from their sources, ids
    and contents): the same records sent again replay the first answer."""
    return "import-batch-" + hashlib.sha256("\n".join(record_keys).encode()).hexdigest()[:48]


def _retry_after(value: str | None) -> float:
    try:
        return max(0.05, min(60.0, float(value or 1)))
    except ValueError:
        return 1.0
