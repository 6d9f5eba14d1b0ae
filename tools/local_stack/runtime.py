"""Invoking a function's handler in-process the way Lambda would: each 'execution environment' is a
fresh import of the function's module, used by one invocation at a time; a pool grows on demand,
like Lambda scaling out, so concurrent requests run concurrently."""

from __future__ import annotations

import importlib.util
import itertools
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local_stack.template import Function

_counter = itertools.count()
# In Lambda every function has its own process; here they share one, and two environments importing
# the same packages for the first time on two threads can meet a half-initialised module (Powertools'
# data_classes: "cannot import name 'SQSEvent' from partially initialized module"). The stream
# poller and an HTTP request did exactly that after a restart. Imports happen one at a time.
_import_lock = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    timeout_s: int = 10
    aws_request_id: str = "local"
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/local"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_resolver_state = threading.local()


def _resolver_state_per_thread() -> None:
    """Powertools' HTTP resolvers keep the event being resolved, and its Lambda context, in class
    attributes (`BaseRouter.current_event`): one per process, which is right in Lambda, where an
    environment is a process serving one request at a time. Here environments are threads of one
    process, and two concurrent requests read each other's event — the later one's body, headers and
    path (20 concurrent upserts each applied another's body). So the resolvers read them per thread,
    as each environment would have its own."""
    from aws_lambda_powertools.event_handler import api_gateway  # noqa: PLC0415 — only where functions run

    resolver = api_gateway.ApiGatewayResolver
    if "current_event" in vars(resolver):
        return
    to_proxy_event = resolver._to_proxy_event

    def _to_proxy_event(self: Any, event: dict[str, Any]) -> Any:
        _resolver_state.event = to_proxy_event(self, event)  # what resolve() then puts on BaseRouter
        return _resolver_state.event

    def per_thread(name: str) -> property:
        def get(self: Any) -> Any:
            return getattr(_resolver_state, name, None) or vars(api_gateway.BaseRouter).get(name)

        def put(self: Any, value: Any) -> None:
            setattr(_resolver_state, name, value)

        return property(get, put)

    original_resolve = resolver.resolve

    def resolve(self: Any, event: dict[str, Any], context: Any) -> Any:
        _resolver_state.lambda_context = context
        return original_resolve(self, event, context)

    resolver._to_proxy_event = _to_proxy_event  # type: ignore[method-assign]
    resolver.resolve = resolve  # type: ignore[method-assign, assignment]
    resolver.current_event = per_thread("event")  # type: ignore[assignment]
    resolver.lambda_context = per_thread("lambda_context")  # type: ignore[assignment]


def load_environment(function: Function) -> ModuleType:
    """A fresh import of the function's handler module: what one new execution environment runs."""
    _resolver_state_per_thread()
    module_name, _, _ = function.handler.rpartition(".")
    path = function.code_dir / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"_fn_{function.logical_id}_{next(_counter)}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    with _import_lock:
        spec.loader.exec_module(module)
    return module


def handler_of(function: Function, module: ModuleType) -> Any:
    return getattr(module, function.handler.rpartition(".")[2])


class FunctionPool:
    def __init__(self, function: Function, max_environments: int = 16) -> None:
        self.function = function
        self._idle: queue.LifoQueue[ModuleType] = queue.LifoQueue()
        self._created = 0
        self._max = max_environments
        self._lock = threading.Lock()

    def _acquire(self) -> ModuleType:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._created < self._max
            if grow:
                self._created += 1
        return load_environment(self.function) if grow else self._idle.get()

    def invoke(self, event: dict[str, Any]) -> Any:
        module = self._acquire()
        try:
            handler = handler_of(self.function, module)
            context = LambdaContext(self.function.logical_id, self.function.timeout, str(uuid.uuid4()))
            return handler(event, context)
        finally:
            self._idle.put(module)
