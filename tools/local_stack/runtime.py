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


def load_environment(function: Function) -> ModuleType:
    """A fresh import of the function's handler module: what one new execution environment runs."""
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
