"""What a process keeps between requests (settings, clients, key lookups, decrypted secrets, the rate
limiter's allowance): each registers here, so that one call starts a process afresh — what a new
execution environment would see. Only tests and the local stack's recovery call `reset`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

_resets: list[Callable[[], Any]] = []


class _Cached(Protocol):
    def cache_clear(self) -> None: ...


def per_process[F: _Cached](cached: F) -> F:
    """Register a functools.cache'd function: `reset` clears it."""
    _resets.append(cached.cache_clear)
    return cached


def on_reset[F: Callable[[], Any]](clear: F) -> F:
    """Register a function that forgets a module's own cache."""
    _resets.append(clear)
    return clear


def reset() -> None:
    for clear in _resets:
        clear()
