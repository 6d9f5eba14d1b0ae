"""The API's paths (as regular expressions) and their methods, for the 404/405 function.

Generated from template.yaml's HttpApi events by `make routes`; do not edit (a test checks it is
current)."""

ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/customers": ("GET", "POST"),
    "/v1/customers/search": ("GET",),
    "/v1/customers/upsert": ("POST",),
    "/v1/customers/[^/]+": ("GET", "POST", "PATCH", "PUT", "DELETE"),
    "/v1/customers/[^/]+/export": ("GET",),
    "/v1/customers/[^/]+/redact": ("POST",),
    "/v1/customers/[^/]+/wallets": ("GET", "POST"),
    "/v1/customers/[^/]+/wallets/[^/]+": ("POST", "DELETE"),
    "/v1/events": ("GET",),
    "/v1/events/[^/]+": ("GET",),
    "/v1/events/[^/]+/deliveries": ("GET",),
    "/v1/events/[^/]+/retry": ("POST",),
    "/v1/webhook_endpoints": ("GET", "POST"),
    "/v1/webhook_endpoints/[^/]+": ("GET", "POST", "PATCH", "DELETE"),
    "/v1/webhook_endpoints/[^/]+/deliveries": ("GET",),
    "/v1/webhook_endpoints/[^/]+/rotate_secret": ("POST",),
}
