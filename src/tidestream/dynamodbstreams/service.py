"""The DynamoDB Streams service as the HTTP layer sees it: a ServiceSpec over StreamsState."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ..service import Operation, ServiceSpec
from ..storage.engine import Engine
from .operations import OPERATIONS
from .state import StreamsState

if TYPE_CHECKING:
    from ..dynamodb.tables import Catalog


def build(engine: Engine, catalog: Catalog) -> tuple[ServiceSpec, StreamsState]:
    """*catalog* is DynamoDB's table catalog, which says which streams exist."""
    state = StreamsState(engine, catalog)
    ops: dict[str, Operation] = {name: partial(fn, state) for name, fn in OPERATIONS.items()}
    spec = ServiceSpec(
        name="dynamodbstreams",
        target_prefix="DynamoDBStreams_20120810",
        json_version="1.0",
        error_namespace="com.amazonaws.dynamodb.v20120810#",
        operations=ops,
        crc32=True,
    )
    return spec, state
