"""Where webhooks may go (api.md §9), and how we connect there.

A URL is acceptable when it is https and *every* address its host resolves to is public: not
loopback, private, link-local (the metadata service included), shared (100.64/10), reserved,
multicast or unspecified, also when hidden in IPv4-mapped, 6to4, Teredo or NAT64 IPv6 forms. It is
checked at registration and again at delivery, and the delivery connects to the address that was
checked (no second lookup an attacker's DNS could answer differently), with TLS verified against the
host name. Redirects are never followed. Only the local stack sets `allow_local_http`, which admits
`http://127.0.0.1` so receivers on the developer's machine work."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_HTTP_HOST = "127.0.0.1"


class UnsafeUrl(ValueError):
    """The URL is not one we deliver to; the message says why (no addresses of other hosts leak)."""


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host '{host[:100]}' could not be resolved.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Swapped by tests (a name that resolves to a private address) without touching real DNS.
resolve: Callable[[str, int], list[str]] = system_resolve


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(e is not None and not is_public(str(e)) for e in embedded):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback
                                 or ip.is_private or ip.is_unspecified)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check_url(url: str, *, allow_local_http: bool = False) -> Target:
    """The URL's parts and its checked addresses, or UnsafeUrl."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL must be at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("The URL is not valid.") from exc
    host = (parts.hostname or "").rstrip(".")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL must not contain credentials; they would be stored in clear.")
    if not host or any(c.isspace() for c in url):
        raise UnsafeUrl("The URL is not valid.")
    local = allow_local_http and host == _LOCAL_HTTP_HOST and parts.scheme == "http"
    if parts.scheme != "https" and not local:
        raise UnsafeUrl("The URL must use https.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrl(f"The host '{host[:100]}' could not be resolved.")
    if not local and not all(is_public(a) for a in addresses):
        raise UnsafeUrl("The URL's host resolves to a non-public address (loopback, private, link-local, "
                        "shared or reserved); webhooks are only sent to public hosts.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, tuple(addresses))


@dataclass(frozen=True)
class Response:
    status: int
    duration_ms: float


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST to the checked address (never a fresh lookup), within `timeout` seconds in all; the
    response body is read (a little) and discarded; 3xx is returned as is, not followed."""
    started = time.monotonic()
    deadline = started + timeout
    address = target.addresses[0]

    def connect(_: tuple[str, int], conn_timeout: float | None = None, source: object = None) -> socket.socket:
        return socket.create_connection((address, target.port), timeout=max(deadline - time.monotonic(), 0.001))

    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=_tls_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    conn._create_connection = connect  # type: ignore[attr-defined]  # pin the checked address
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        if conn.sock is not None:
            conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        response = conn.getresponse()
        response.read(65536)
        return Response(response.status, (time.monotonic() - started) * 1000)
    finally:
        conn.close()
