"""The HTTP edge shared by every API function: one request pipeline, built from the resolver's own
middleware, each step once and in the order a request meets it:

1. `_answer`      a Request-Id for the request and its response; the one mapping from any exception
                  to the contract's error body (and the one "request rejected" log line); the
                  response headers every answer carries (Request-Id, Stripe-Version, Idempotency-Key).
2. `_identify`    the API key's caller (or the 401 it would get) and the log keys (request_id,
                  account, livemode); Stripe's request headers (Stripe-Account refused,
                  Stripe-Version checked).
3. `_limit`       the per-account rate limit: admitted at once, or a reservation that runs beside the
                  route's first read and that its writes wait for (dal.table.write_gate).
4. `_idempotent`  a keyed POST runs once per key; repeats replay its answer (customers_core.idempotency).
5. `requires(scope)`, per route: the caller must be authenticated and hold the scope (401, 403).

Then the route: parse its input (`body_model`, `query_model`), call one logic function, answer with
`json_response`.

Authentication runs here, in the route's function, not in a Lambda authorizer: a second invocation
per request would cost more than the key lookup it saves (it is cached per environment for
`key_cache_seconds`, as the authorizer's was; docs/decisions.md, "authentication")."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
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

if TYPE_CHECKING:  # the OpenAPI machinery stays off the request path (~200 ms of cold start)
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

JSON = "application/json"
_UNREAD = object()


@dataclass
class _Request:
    """What the pipeline learns about the request being handled."""
    request_id: str
    caller: Principal | ApiError = field(default_factory=lambda: InternalError("no caller yet"))
    version: str | None = None  # Stripe-Version sent, else the account's default
    body: Any = _UNREAD  # the body, decoded once (JSON or form)


# The request being handled. A context variable rather than the resolver's context: a resolver
# clears its context when it finishes, also under a request that is still running (a nested one).
_request: ContextVar[_Request] = ContextVar("request")


# --- the pipeline, outermost first ----------------------------------------------------------------

def _answer(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    request = _Request(ids.new_id(ids.REQUEST))
    token = _request.set(request)
    try:
        response = _answered(app, next_middleware)
    finally:
        _request.reset(token)
    headers = response.headers
    headers["Request-Id"] = request.request_id
    # The version the request asked for, else its account's default (api.md §10): a label, the shapes
    # are the same in every version.
    headers[api_versions.HEADER] = request.version or API_VERSION
    key = app.current_event.headers.get("idempotency-key")
    if key:
        headers["Idempotency-Key"] = key[:255]
    return response


def _identify(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    request = _request.get()
    headers = app.current_event.headers
    context = authorize(get_table(), headers, get_settings().key_cache_seconds)
    try:
        request.caller = principal_from_context(context)
        request.version = context.get("api_version")
    except ApiError as exc:  # answered only by a route that needs a caller (the 404/405 route does not)
        request.caller = exc
    who = request.caller if isinstance(request.caller, Principal) else None
    logger.append_keys(request_id=request.request_id, account=who and who.account_id, livemode=who and who.livemode)
    request.version = _stripe_headers(headers, request.caller) or request.version
    return next_middleware(app)


def _limit(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    who = _request.get().caller
    if not isinstance(who, Principal):
        return next_middleware(app)
    gate = write_gate.set(ratelimit.limiter.admit(get_table(), who.tenant, app.current_event.http_method,
                                                  get_settings().rate_limit_per_second))
    try:
        return next_middleware(app)
    finally:
        try:
            Table.pass_gate()  # refused: the 429 replaces the route's answer (raised here, it wins)
        finally:
            write_gate.reset(gate)


def _idempotent(*, hold: bool) -> Any:
    """`hold`: the route's work is not one transaction, so a keyed request holds its key while it runs."""
    def _idempotent(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        key = event.headers.get("idempotency-key")
        who = _request.get().caller
        if key is None or event.http_method != "POST" or not isinstance(who, Principal):
            return next_middleware(app)
        try:
            params = request_body(app)
        except ApiError:
            params = None  # a body that cannot be decoded: its raw text is its fingerprint
        result = idempotency.guarded(get_table(), who, key, event.raw_event, _request.get().request_id,
                                     lambda: _as_result(_answered(app, next_middleware, stored=True)),
                                     hold=hold, params=params)
        return Response(status_code=int(result["statusCode"]), body=result.get("body"),
                        headers=dict(result.get("headers") or {}), content_type=None)
    return _idempotent


def requires(scope: str) -> Any:
    """A route's middleware: the caller must be authenticated (401) and hold `scope` (403)."""
    def _requires(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        who = _request.get().caller
        if isinstance(who, ApiError):
            raise who
        who.require(scope)
        return next_middleware(app)
    _requires.__name__ = f"requires({scope})"
    return _requires


def _answered(app: APIGatewayHttpResolver, next_middleware: NextMiddleware, *, stored: bool = False) -> Response:
    """The rest of the pipeline's answer, an exception turned into the contract's error. `stored`:
    under an idempotency key, whose guard answers a repeat itself (ReceiptTaken)."""
    try:
        return next_middleware(app)
    except ReceiptTaken:
        if stored:
            raise
        return error_response(InternalError("An unexpected error occurred. Quote the Request-Id when asking "
                                             "for help."))
    except ValidationError as exc:
        return error_response(validation_error(exc))
    except ApiError as exc:
        return error_response(exc)
    except Exception:
        logger.exception("unhandled error")
        return error_response(InternalError("An unexpected error occurred. Quote the Request-Id when asking "
                                            "for help."), logged=True)


def create_app(*, hold_idempotency_key: bool = False, idempotency_keys: bool = True) -> APIGatewayHttpResolver:
    """A route's resolver with the pipeline. `hold_idempotency_key`: its work is not one transaction,
    so a keyed request holds its key while it runs (customers_core.idempotency). `idempotency_keys`:
    False for a resolver that never runs an operation (the 404/405 route)."""
    app = APIGatewayHttpResolver()
    steps = [_answer, _identify, _limit]
    if idempotency_keys:
        steps.append(_idempotent(hold=hold_idempotency_key))
    app.use(middlewares=steps)

    @app.not_found
    def _not_found(_: Exception) -> Response:
        raise ResourceMissing(f"Unrecognized request URL ({app.current_event.path[:200]}).", code="route_not_found")

    return app


def method_not_allowed_app(known: dict[re.Pattern[str], tuple[str, ...]]) -> APIGatewayHttpResolver:
    """The $default route's app: 405 with Allow for a known path, else 404 route_not_found."""
    app = create_app(idempotency_keys=False)

    @app.not_found
    def _unmatched(_: Exception) -> Response:
        path = app.current_event.path
        allowed = next((methods for pattern, methods in known.items() if pattern.match(path)), None)
        if allowed is None:
            raise ResourceMissing(f"Unrecognized request URL ({path[:200]}).", code="route_not_found")
        method = app.current_event.http_method
        raise MethodNotAllowed(f"{method[:20]} is not allowed on {path[:200]}; use {', '.join(allowed)}.",
                               headers={"Allow": ", ".join(allowed)})

    return app


def handle(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve one API Gateway event through the app's pipeline."""
    return app.resolve(event, context)


# --- what a route uses ----------------------------------------------------------------------------

def caller() -> Principal:
    """The request's authenticated caller (a route with `requires(scope)` has one)."""
    who = _request.get().caller
    if isinstance(who, ApiError):
        raise who
    return who


def request_body(app: APIGatewayHttpResolver) -> Any:
    """The request body decoded (JSON or form), once per request: an object or, for JSON, an array."""
    request = _request.get()
    if request.body is _UNREAD:
        request.body = decode_body(app.current_event.raw_event)
    return request.body


def body_model[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The request body decoded (JSON or form) and validated by `model`; 4xx on any fault."""
    data = request_body(app)
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return model.model_validate(data)


def query_model[M: BaseModel](app: APIGatewayHttpResolver, model: type[M]) -> M:
    """The query string in Stripe's bracket notation (`created[gte]=…`, `include[]=…`), validated."""
    raw = app.current_event.raw_event.get("rawQueryString") or ""
    return model.model_validate(decode_form(parse_query(raw)))


def request_info(app: APIGatewayHttpResolver) -> dict[str, str | None]:
    """Recorded on written items so the stream's events can name the request that caused them."""
    return {"request_id": _request.get().request_id,
            "idempotency_key": app.current_event.headers.get("idempotency-key")}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=compact_json(body), headers=headers or {})


def error_response(error: ApiError, *, logged: bool = False) -> Response:
    """The contract's error answer; the one place a rejected or failed request is logged."""
    if not logged:
        if error.status >= 500:
            logger.exception("request failed")
        else:
            logger.info("request rejected", extra={"status": error.status, "code": error.code, "param": error.param})
    return json_response(error.body(), error.status, dict(error.headers))


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


def documented(ok: Any, *errors: int, extra: dict[int, Any] | None = None) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses for a route: 200 with `ok`, the contract's error body for 401, 429, 500 (every
    route can answer them) and `errors`."""
    responses: dict[int, OpenAPIResponse] = {
        200: {"description": "OK", "content": {JSON: {"model": ok}}},
        **{status: {"description": "OK", "content": {JSON: {"model": model}}}
           for status, model in (extra or {}).items()},
    }
    for status in sorted({401, 429, 500, *errors}):
        responses[status] = {"description": _ERROR_DESCRIPTIONS[status], "content": {JSON: {"model": ErrorBody}}}
    return responses


# --- helpers of the steps --------------------------------------------------------------------------

def _stripe_headers(headers: Any, who: Principal | ApiError) -> str | None:
    """Stripe's request headers (api.md §10): `Stripe-Account` (Connect) is refused rather than ignored,
    since a write meant for a connected account would land in the caller's own; `Stripe-Version` is
    checked and returned (None when not sent). A caller without a valid key hears that first."""
    try:
        if (headers.get("stripe-account") or "").strip():
            raise InvalidRequest("Stripe-Account is not supported: this service has no connected accounts; "
                                 "send the request without it, with the API key of the account it is for.",
                                 param="Stripe-Account", code="parameter_unsupported")
        return api_versions.from_header(headers.get("stripe-version"))
    except InvalidRequest:
        if isinstance(who, ApiError):
            raise who from None
        raise


def _as_result(response: Response) -> dict[str, Any]:
    """A response as the idempotency guard keeps it (the shape a resolver returns)."""
    return {"statusCode": response.status_code, "body": response.body,
            "headers": {"Content-Type": response.headers.get("Content-Type", JSON), **response.headers}}
