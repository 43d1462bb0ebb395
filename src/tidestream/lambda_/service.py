"""The Lambda service as the HTTP layer sees it: a REST-JSON ServiceSpec over LambdaState."""

from __future__ import annotations

from typing import Any

from ..service import ServiceSpec
from ..storage.engine import Engine
from .operations import REGISTRY
from .state import LambdaState


def build(engine: Engine, config: Any = None, data_dir: str | None = None) -> tuple[ServiceSpec, LambdaState]:
    """*data_dir*: the server's data directory (unpacked code and logs go under ``lambda/``);
    None for ``--in-memory``, which uses a temporary directory removed at shutdown."""
    state = LambdaState(engine, config, data_dir)
    spec = ServiceSpec(
        name="lambda",
        target_prefix="",
        json_version="1.1",
        error_namespace="",
        operations=REGISTRY.bind(state),
    )
    return spec, state
