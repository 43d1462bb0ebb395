"""The DynamoDB service as the HTTP layer sees it: a :class:`ServiceSpec` over :class:`DynamoState`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..service import ServiceSpec
from ..storage.engine import Engine
from .itemstore import CaptureHook
from .operations import REGISTRY
from .state import DynamoState, Settings
from .tables import Catalog


def build(
    engine: Engine,
    settings: Settings | None = None,
    *,
    catalog: Catalog | None = None,
    capture: CaptureHook | None = None,
    stream_check: Callable[[str], str | None] | None = None,
    stream_closing: Callable[[Any], object] | None = None,
) -> tuple[ServiceSpec, DynamoState]:
    """The DynamoDB service; the keyword arguments are :class:`DynamoState`'s collaborators."""
    state = DynamoState(
        engine,
        settings,
        catalog=catalog,
        capture=capture,
        stream_check=stream_check,
        stream_closing=stream_closing,
    )
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
