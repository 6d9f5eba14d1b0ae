"""The HTTP API: each request becomes the API Gateway HTTP API payload-2.0 event AWS would send and goes
to its route's function (which authenticates the caller itself, as deployed). Beside the API, a few
local-only pages that need no key: /openapi.json, /docs (the API reference) and /_local/health."""

from __future__ import annotations

import base64
import errno
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.lifecycle import StackError, port_in_use_message
from local_stack.runtime import FunctionPool
from local_stack.template import Route

_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/xml")
MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's own limit; the service enforces its 1 MiB itself

log = logging.getLogger("local_stack.api")


def build_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, route: Route | None,
                path_params: dict[str, str]) -> dict[str, Any]:
    split = urlsplit(raw_path)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    content_type = lowered.get("content-type", "")
    # A text body goes as text, as API Gateway sends it; one that is not valid UTF-8 goes base64-encoded
    # with its bytes intact, so the function can refuse it (400) instead of reading U+FFFD.
    is_text = not body or (content_type.startswith(_TEXT_TYPES) and _is_utf8(body))
    now = datetime.now(UTC)
    route_key = f"{method} {route.path}" if route and route.path != "$default" else "$default"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {"method": method, "path": split.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": lowered.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
        "body": body.decode("utf-8") if is_text else base64.b64encode(body).decode(),
    }
    if "cookie" in lowered:
        event["cookies"] = [c.strip() for c in lowered["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    return event


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def specificity(route: Route) -> tuple[bool, tuple[int, ...]]:
    """A sort key putting the routes API Gateway prefers first: segment by segment, a literal before a
    path variable before a greedy one (`{proxy+}`); the $default route last."""
    ranks = tuple(2 if part.endswith("+}") else 1 if part.startswith("{") else 0
                  for part in route.path.strip("/").split("/"))
    return route.path == "$default", ranks


Response = tuple[int, dict[str, str], bytes]
LocalRoute = Callable[[], Response]


class HttpApi:
    def __init__(self, routes: list[Route], pools: dict[str, FunctionPool],
                 extra: dict[str, tuple[str, bytes]] | None = None,
                 local: dict[str, LocalRoute] | None = None) -> None:
        # API Gateway prefers the most specific route: /v1/customers/search and /v1/customers/upsert
        # over /v1/customers/{id}, whatever the template's order.
        self.routes = sorted(routes, key=specificity)
        self.pools = pools
        self.extra = extra or {}  # unauthenticated local-only documents (e.g. /openapi.json, /docs/…)
        self.local = local or {}  # unauthenticated local-only pages made per request (/_local/health)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route API Gateway would pick: an exact method and path, else the $default route."""
        for route in self.routes:
            if route.method in (method, "ANY"):
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        default = next((r for r in self.routes if r.path == "$default"), None)
        return default, {}

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if method in ("GET", "HEAD") and path in self.extra:
            content_type, document = self.extra[path]
            return 200, {"content-type": content_type}, document
        if method in ("GET", "HEAD") and path in self.local:
            return self.local[path]()
        if method in ("GET", "HEAD") and path == "/docs" and "/docs/" in self.extra:
            return 301, {"location": "/docs/"}, b""
        route, params = self.match(method, path)
        if route is None:  # what API Gateway answers for a request no route matches
            return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
        event = build_event(method, raw_path, headers, body, route, params)
        try:
            result = self.pools[route.function].invoke(event)
        except Exception:  # a function error: API Gateway's own answer, and the traceback in the log as Lambda's
            log.exception("%s raised", route.function)
            return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
        return to_http(result)


def to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """The HTTP response API Gateway makes of a payload-2.0 handler result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(map(str, values))
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, data


class ApiServer(ThreadingHTTPServer):
    """The HTTP server; `api` is set once everything behind it has started, `console` (None: quiet)
    gets one access line per request."""

    daemon_threads = True
    # listen()'s backlog: socketserver's default of 5 resets the connections of a burst of clients
    # (20 concurrent upserts), which API Gateway would all accept.
    request_queue_size = 128
    api: HttpApi | None = None
    console: Any = None


def bind(host: str, port: int) -> ApiServer:
    """The server's socket, bound and listening (requests wait in its backlog until serve_forever):
    the first thing a start does, so a taken port stops it before anything else has started."""
    try:
        return ApiServer((host, port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StackError(port_in_use_message(host, port), exit_code=2) from None
        raise StackError(f"cannot listen on {host}:{port}: {exc.strerror}", exit_code=2) from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_PAYLOAD:
            self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        api = self.server.api
        if api is None:
            status, headers, data = 503, {"content-type": "application/json"}, b'{"message":"Starting"}'
        else:
            status, headers, data = api.dispatch(self.command, self.path, dict(self.headers.items()), body)
        self._send(status, headers, b"" if self.command == "HEAD" else data)
        console = self.server.console
        if console is not None:
            console.access(self.command, urlsplit(self.path).path, status, (time.perf_counter() - started) * 1000,
                           headers.get("request-id"))

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def __getattr__(self, name: str) -> Any:
        """Every method reaches the API (TRACE, QUERY, …), as API Gateway passes them on."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one access line per request, written by _handle with its duration and Request-Id

    def log_message(self, format: str, *args: Any) -> None:
        log.info(format, *args)  # the server's own complaints (a bad request line …): the stack's log


def serve(api: HttpApi, host: str, port: int) -> ApiServer:
    """A bound server for `api` (serve_forever starts it)."""
    server = bind(host, port)
    server.api = api
    return server
