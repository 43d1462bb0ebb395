"""The Kinesis Data Streams service as the HTTP layer sees it: a ServiceSpec over KinesisState."""

from __future__ import annotations

from typing import Any

from ..service import ServiceSpec
from ..storage.engine import Engine
from .operations import REGISTRY
from .state import KinesisState


def build(engine: Engine, config: Any = None) -> tuple[ServiceSpec, KinesisState]:
    state = KinesisState(engine, config)
    ops = REGISTRY.bind(state)
    if state.shared is not None:  # cluster mode: an operation that lost a race runs again
        ops = {name: state.shared.retrying(name, op) for name, op in ops.items()}
    spec = ServiceSpec(
        name="kinesis",
        target_prefix="Kinesis_20131202",
        json_version="1.1",
        error_namespace="",
        operations=ops,
    )
    return spec, state
