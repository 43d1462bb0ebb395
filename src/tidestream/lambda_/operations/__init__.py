"""Lambda operations, one module per family; each registers with ``@REGISTRY.operation(name)``."""

from __future__ import annotations

from ...service import OperationRegistry

REGISTRY = OperationRegistry(__name__, __path__)
