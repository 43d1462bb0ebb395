"""Kinesis operations, one module per family. Each function is ``op(state, ctx, params) -> dict``.

:data:`REGISTRY` maps operation names to functions; modules add to it with :func:`operation`.
Enhanced fan-out (RegisterStreamConsumer, SubscribeToShard, ...) will be one more module here
(``consumers.py``) returning :class:`tidestream.service.Streaming` for SubscribeToShard.
"""

from __future__ import annotations

from typing import Any, Callable

REGISTRY: dict[str, Callable[..., Any]] = {}


def operation(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = fn
        return fn
    return register


def load_all() -> dict[str, Callable[..., Any]]:
    """Import every operation module (each registers its operations) and return the registry."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY
