"""DynamoDB operations, one module per family. Each function is ``op(state, ctx, params) -> dict``."""

from __future__ import annotations

from ...service import OperationRegistry

REGISTRY = OperationRegistry(__name__, __path__)
operation = REGISTRY.operation
