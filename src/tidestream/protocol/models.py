"""Load botocore's service models as plain data, without importing botocore.

Importing botocore costs ~150 ms; we only need its JSON files. The package directory is found with
``importlib.util.find_spec`` (which does not execute the package), then the newest API version of
``data/<service>/<version>/service-2.json[.gz]`` is read with orjson. Models are cached per process.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import threading
from typing import Any

import orjson

#: services tidestream speaks; the value is botocore's data directory name
SERVICES: tuple[str, ...] = ("dynamodb", "kinesis", "dynamodbstreams", "lambda", "sts")

_lock = threading.Lock()
_models: dict[str, dict[str, Any]] = {}
_data_dir: str | None = None


def _botocore_data_dir() -> str:
    global _data_dir
    if _data_dir is None:
        spec = importlib.util.find_spec("botocore")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("botocore is not installed; tidestream needs its service models")
        _data_dir = os.path.join(list(spec.submodule_search_locations)[0], "data")
    return _data_dir


def model_path(service: str) -> str:
    """Path of the newest ``service-2.json(.gz)`` for *service*."""
    base = os.path.join(_botocore_data_dir(), service)
    try:
        versions = sorted(v for v in os.listdir(base) if os.path.isdir(os.path.join(base, v)))
    except FileNotFoundError:
        raise KeyError(f"no botocore model for service {service!r}") from None
    # API versions are ISO dates, so the lexical maximum is the newest; skip dirs lacking a model
    for version in reversed(versions):
        for name in ("service-2.json.gz", "service-2.json"):
            path = os.path.join(base, version, name)
            if os.path.exists(path):
                return path
    raise KeyError(f"no service-2.json for service {service!r} under {base}")


def load_model(service: str) -> dict[str, Any]:
    """The parsed botocore service model for *service* (cached; treat it as read-only)."""
    model = _models.get(service)
    if model is not None:
        return model
    with _lock:
        model = _models.get(service)
        if model is None:
            path = model_path(service)
            with open(path, "rb") as fh:
                raw = fh.read()
            if path.endswith(".gz"):
                raw = gzip.decompress(raw)
            model = orjson.loads(raw)
            _models[service] = model
    return model


def operation_names(service: str) -> frozenset[str]:
    """Names of the service's operations, e.g. ``PutItem``."""
    return frozenset(load_model(service)["operations"])


def operation_model(service: str, operation: str) -> dict[str, Any]:
    """The operation's model dict; ``KeyError`` if the service has no such operation."""
    return load_model(service)["operations"][operation]


def target_prefix(service: str) -> str:
    """The ``X-Amz-Target`` prefix, e.g. ``DynamoDB_20120810``."""
    return load_model(service)["metadata"]["targetPrefix"]
