"""Kinesis operations, one module per family. Each function is ``op(state, ctx, params) -> dict``.

SubscribeToShard returns :class:`tidestream.service.Streaming`. An operation that has no output
in the model returns None: AWS answers those with an empty body, not ``{}`` (kinesalite's
CreateStream test, run against AWS, asserts a body of ``''``).
"""

from __future__ import annotations

from ...service import OperationRegistry

REGISTRY = OperationRegistry(__name__, __path__)
operation = REGISTRY.operation
