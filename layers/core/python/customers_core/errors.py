"""Domain errors. Each knows its HTTP status and the contract's error body (api.md §3);
exactly one place (customers_core.api) turns them into responses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "parameter_invalid"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(ApiError):
    """400: a parameter is missing, unknown or invalid, or the body cannot be read."""


class IdempotencyError(ApiError):
    """400: an Idempotency-Key reused with other parameters or on another endpoint (stripe-python raises
    its IdempotencyError for this type)."""

    type = "idempotency_error"
    code = "idempotency_key_reused"


class AuthenticationFailed(ApiError):
    status = 401
    code = "api_key_invalid"


class PermissionDenied(ApiError):
    status = 403
    code = "permission_denied"


class ResourceMissing(ApiError):
    status = 404
    code = "resource_missing"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    """409. `Stripe-Should-Retry` tells the SDKs (which retry any 409 by default) whether trying again
    can help: only while another request holds the idempotency key; a taken value stays taken."""

    status = 409

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        retry = "true" if code == "idempotency_key_in_use" else "false"
        super().__init__(message, param=param, code=code, headers={"Stripe-Should-Retry": retry})


class PayloadTooLarge(ApiError):
    status = 413
    code = "body_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "content_type_unsupported"


class RateLimited(ApiError):
    """429: the account's per-second share is used up. `Stripe-Should-Retry` lets the SDKs' automatic
    retries (with their back-off) take it, as they would a lock timeout."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after), "Stripe-Should-Retry": "true"})


class InternalError(ApiError):
    status = 500
    type = "api_error"
    code = "internal_error"
