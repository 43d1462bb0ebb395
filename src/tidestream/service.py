"""The contract between the HTTP layer and a service (DynamoDB, Kinesis, DynamoDB Streams).

A service is plain logic: it maps operation names to functions ``op(ctx, params) -> dict`` (or
an awaitable of one, or a :class:`Streaming` value for event streams) and raises
:class:`tidestream.errors.AwsError`. It never sees HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from .context import RequestContext

Operation = Callable[[RequestContext, dict], Any]


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
