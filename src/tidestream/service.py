"""The contract between the HTTP layer and a service (DynamoDB, Kinesis, DynamoDB Streams).

A service is plain logic: it maps operation names to functions ``op(ctx, params) -> dict`` (or
an awaitable of one, or a :class:`Streaming` value for event streams) and raises
:class:`tidestream.errors.AwsError`. It never sees HTTP.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from .context import RequestContext

#: ``op(ctx, request)``: the request is the operation's typed input shape (a TypedDict from
#: :mod:`tidestream.protocol.shapes`, a plain dict at run time), hence ``Any`` here
Operation = Callable[[RequestContext, Any], Any]


@dataclass(slots=True)
class Streaming:
    """An event-stream result: the initial response, then encoded event messages."""

    initial: dict
    events: AsyncIterator[bytes]


@dataclass
class ServiceSpec:
    #: botocore service name, e.g. "dynamodb"
    name: str
    #: X-Amz-Target prefix, e.g. "DynamoDB_20120810"
    target_prefix: str
    #: JSON protocol version for Content-Type (application/x-amz-json-<v>)
    json_version: str
    #: __type namespace for service errors ("" for bare names, as Kinesis answers)
    error_namespace: str
    operations: dict[str, Operation]
    #: whether responses carry DynamoDB's x-amz-crc32 header
    crc32: bool = False


class OperationRegistry:
    """Operation name -> ``fn(state, ctx, params)``, filled by the modules of one package.

    Each service keeps its operations one module per family; the modules register with
    ``@registry.operation("PutItem")`` and :meth:`load` imports them all.
    """

    def __init__(self, package: str, path: list[str]) -> None:
        self.package = package
        self.path = path
        self.functions: dict[str, Callable[..., Any]] = {}

    def operation(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.functions[name] = fn
            return fn

        return register

    def load(self) -> dict[str, Callable[..., Any]]:
        for mod in pkgutil.iter_modules(self.path):
            importlib.import_module(f"{self.package}.{mod.name}")
        return self.functions

    def bind(self, state: Any) -> dict[str, Operation]:
        """The operations as the HTTP layer calls them: ``op(ctx, params)``."""
        from functools import partial

        return {name: partial(fn, state) for name, fn in self.load().items()}
