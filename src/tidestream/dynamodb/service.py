"""The DynamoDB service as the HTTP layer sees it: a :class:`ServiceSpec` over :class:`DynamoState`."""

from __future__ import annotations

from ..service import ServiceSpec
from ..storage.engine import Engine
from .operations import REGISTRY
from .state import DynamoState, Settings


def build(engine: Engine, settings: Settings | None = None) -> tuple[ServiceSpec, DynamoState]:
    state = DynamoState(engine, settings)
    ops = REGISTRY.bind(state)
    spec = ServiceSpec(
        name="dynamodb",
        target_prefix="DynamoDB_20120810",
        json_version="1.0",
        error_namespace="com.amazonaws.dynamodb.v20120810#",
        operations=ops,
        crc32=True,
    )
    return spec, state
