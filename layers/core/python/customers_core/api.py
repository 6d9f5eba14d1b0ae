"""The HTTP edge shared by every API function: authentication, the per-account limit, idempotency,
the one mapping from domain errors to the contract's error body, Request-Id, and per-request log keys.

Authentication runs here, in the route's function, not in a Lambda authorizer: a second invocation
per request would cost more than the key lookup it saves (it is cached per environment for
`key_cache_seconds`, as the authorizer's was; docs/decisions.md, "authentication")."""

from __future__ import annotations

import re
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel, ValidationError

from customers_core import idempotency, ids, ratelimit
from customers_core.auth import Principal, principal_from_context
from customers_core.dal.table import ReceiptTaken, Table, get_table, write_gate
from customers_core.errors import ApiError, InternalError, InvalidRequest, MethodNotAllowed, ResourceMissing
from customers_core.http import compact_json, decode_body, decode_form, parse_query, validation_error
from customers_core.logic import api_versions
from customers_core.logic.api_keys import authorize
from customers_core.models.responses import ErrorBody
from customers_core.observability import logger
from customers_core.settings import API_VERSION, get_settings

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=compact_json(body), headers=headers or {})


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status, error.headers)


_ERROR_DESCRIPTIONS = {
    400: "Invalid request: a parameter is missing, unknown or invalid (`param` names it)",
    401: "No API key, or an invalid or revoked one",
    403: "The API key lacks the scope this operation needs",
    404: "No such object in this account and mode",
    409: "A unique value (email, external_id) is already taken",
    413: "The body is larger than 1 MiB",
    415: "The Content-Type is neither JSON nor form-encoded",
    429: "This account's requests per second are used up; retry after `Retry-After` seconds",
    500: "An unexpected error; the Request-Id says where to look",
}


def documented(ok: Any, *errors: int, extra: dict[int, Any] | None = None) -> dict[int, dict[str, Any]]:
    """OpenAPI responses for a route: 200 with `ok`, the contract's error body for 401, 429, 500 (every
    route can answer them) and `errors`."""
    responses: dict[int, dict[str, Any]] = {
        200: {"description": "OK", "content": {JSON: {"model": ok}}},
        **{status: {"description": "OK", "content": {JSON: {"model": model}}}
           for status, model in (extra or {}).items()},
    }
    for status in sorted({401, 429, 500, *errors}):
        responses[status] = {"description": _ERROR_DESCRIPTIONS[status], "content": {JSON: {"model": ErrorBody}}}
    return responses


def create_app(*, hold_idempotency_key: bool = False) -> APIGatewayHttpResolver:
    """A route's resolver. `hold_idempotency_key`: its work is not one transaction, so a keyed
    request holds its key while it runs (customers_core.idempotency)."""
    app = APIGatewayHttpResolver()
    if hold_idempotency_key:
        _HOLDING.add(app)

    @app.exception_handler(ReceiptTaken)
    def _repeat(exc: ReceiptTaken) -> Response:
        raise exc  # the idempotency guard around the resolver answers it

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if exc.status >= 500:
            logger.exception("request failed")
        else:
            logger.info("request rejected", extra={"status": exc.status, "code": exc.code, "param": exc.param})
        return error_response(exc)

    @app.exception_handler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        return _api_error(validation_error(exc))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(InternalError("An unexpected error occurred. Quote the Request-Id when asking for help."))

    @app.not_found
    def _not_found(_: Exception) -> Response:
        path = app.current_event.path
        return error_response(ResourceMissing(f"Unrecognized request URL ({path}).", code="route_not_found"))

    return app


# A WeakSet, not a set of id()s: an id is reused once its app is collected, which exempted an
# unrelated handler from idempotency (seen as a flaky CI failure).
_WITHOUT_IDEMPOTENCY: weakref.WeakSet[APIGatewayHttpResolver] = weakref.WeakSet()
_HOLDING: weakref.WeakSet[APIGatewayHttpResolver] = weakref.WeakSet()


def method_not_allowed_app(known: dict[re.Pattern[str], tuple[str, ...]]) -> APIGatewayHttpResolver:
    """The $default route's app: 405 with Allow for a known path, else 404 route_not_found."""
    app = create_app()
    _WITHOUT_IDEMPOTENCY.add(app)  # it never runs an operation, so a key has nothing to guard

    @app.not_found
    def _unmatched(_: Exception) -> Response:
        path = app.current_event.path
        allowed = next((methods for pattern, methods in known.items() if pattern.match(path)), None)
        if allowed is None:
            return error_response(ResourceMissing(f"Unrecognized request URL ({path[:200]}).",
                                                  code="route_not_found"))
        method = app.current_event.http_method
        return error_response(MethodNotAllowed(f"{method[:20]} is not allowed on {path[:200]}; use "
                                               f"{', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)}))

    return app


def principal(app: APIGatewayHttpResolver, scope: str) -> Principal:
    """The caller, checked for `scope`; raises the contract's 401 or 403."""
    who = _request.get().caller
    if isinstance(who, ApiError):
        raise who
    who.require(scope)
    return who


def body_model[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The request body decoded (JSON or form) and validated by `model`; 4xx on any fault."""
    data = decode_body(app.current_event.raw_event)
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return model.model_validate(data)


def raw_body(app: APIGatewayHttpResolver) -> Any:
    """The request body decoded (JSON or form), not yet validated: an object or, for JSON, an array."""
    return decode_body(app.current_event.raw_event)


def query_model[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The query string in Stripe's bracket notation (`created[gte]=…`, `include[]=…`), validated."""
    raw = app.current_event.raw_event.get("rawQueryString") or ""
    return model.model_validate(decode_form(parse_query(raw)))


def request_info(app: APIGatewayHttpResolver) -> dict[str, str | None]:
    """Recorded on written items so the stream's events can name the request that caused them."""
    return {"request_id": _request.get().request_id,
            "idempotency_key": app.current_event.headers.get("idempotency-key")}


@dataclass(frozen=True)
class _Request:
    request_id: str
    caller: Principal | ApiError


# The request being handled. A context variable rather than the resolver's context: a resolver
# clears its context when it finishes, also under a request that is still running (a nested one).
_request: ContextVar[_Request] = ContextVar("request")


def handle(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve one API Gateway event: the caller, the limit, the idempotency key, then the route; a
    fresh Request-Id on the response and on every log line."""
    request_id = ids.new_id(ids.REQUEST)
    headers = event.get("headers") or {}
    idempotency_key = headers.get("idempotency-key")
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method") or "GET"
    who, account_version = _caller(headers)
    logger.append_keys(request_id=request_id, account=getattr(who, "account_id", None),
                       livemode=getattr(who, "livemode", None))
    token = _request.set(_Request(request_id, who))
    gate = write_gate.set(None)
    version = None
    try:
        version = _stripe_headers(headers, who)
        if isinstance(who, Principal):
            # Admitted here, or a reservation running beside the route's first read: the route's
            # writes wait for it (write_gate), and its answer is replaced by the 429 if refused.
            write_gate.set(ratelimit.limiter.admit(get_table(), who.tenant, method,
                                                   get_settings().rate_limit_per_second))
        if idempotency_key is not None and method == "POST" and isinstance(who, Principal) \
                and app not in _WITHOUT_IDEMPOTENCY:
            result = idempotency.guarded(get_table(), who, idempotency_key, event, request_id,
                                         lambda: app.resolve(event, context), hold=app in _HOLDING)
        else:
            result = app.resolve(event, context)
        Table.pass_gate()  # a read over the limit: its answer is replaced by the 429
    except ApiError as exc:  # refused by the rate limit or the idempotency key
        logger.info("request rejected", extra={"status": exc.status, "code": exc.code, "param": exc.param})
        result = _error_result(exc)
    finally:
        write_gate.reset(gate)
        _request.reset(token)
    headers_out = result.setdefault("headers", {})
    headers_out["Request-Id"] = request_id
    # The version the request asked for, else its account's default (api.md §10): a label, the shapes
    # are the same in every version.
    headers_out[api_versions.HEADER] = version or account_version or API_VERSION
    if idempotency_key:
        headers_out["Idempotency-Key"] = idempotency_key[:255]
    return result


def _caller(headers: dict[str, str]) -> tuple[Principal | ApiError, str | None]:
    """The API key's principal, or the 401 to answer if a route needs one (routes that need none,
    like the 404/405 route, never raise it); and its account's default API version, if it set one."""
    context = authorize(get_table(), headers, get_settings().key_cache_seconds)
    try:
        return principal_from_context(context), context.get("api_version")
    except ApiError as exc:
        return exc, None


def _stripe_headers(headers: dict[str, str], who: Principal | ApiError) -> str | None:
    """Stripe's request headers (api.md §10): `Stripe-Account` (Connect) is refused rather than ignored,
    since a write meant for a connected account would land in the caller's own; `Stripe-Version` is
    checked and returned (None when not sent). A caller without a valid key hears that first."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        if (lowered.get("stripe-account") or "").strip():
            raise InvalidRequest("Stripe-Account is not supported: this service has no connected accounts; "
                                 "send the request without it, with the API key of the account it is for.",
                                 param="Stripe-Account", code="parameter_unsupported")
        return api_versions.from_header(lowered.get("stripe-version"))
    except InvalidRequest:
        if isinstance(who, ApiError):
            raise who from None
        raise


def _error_result(error: ApiError) -> dict[str, Any]:
    """An error answered before the route ran, in the shape the resolver returns."""
    return {"statusCode": error.status, "body": compact_json(error.body()),
            "isBase64Encoded": False, "headers": {"Content-Type": JSON, **error.headers}}
