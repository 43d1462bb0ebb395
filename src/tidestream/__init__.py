"""tidestream: local, durable DynamoDB and Kinesis Data Streams with change data capture."""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Server", "mock"]


def __getattr__(name: str) -> Any:
    """``tidestream.Server`` and ``tidestream.mock``, imported on first use so the command line
    and the server don't pay for them."""
    if name in ("Server", "mock"):
        from . import testing

        return getattr(testing, name)
    raise AttributeError(f"module 'tidestream' has no attribute {name!r}")
