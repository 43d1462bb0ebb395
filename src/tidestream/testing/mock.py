"""``@tidestream.mock``: one decorator (or ``with`` block) for unittest-style tests.

Inside it, boto3 clients that the code under test builds itself reach a tidestream server:
``AWS_ENDPOINT_URL`` and dummy credentials point at it, and every table and stream starts empty.
One embedded server per process serves every use (started on first use, stopped at exit), so a
decorated test costs a reset, not a server start.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .embedded import Server

T = TypeVar("T")

_shared: Server | None = None
_lock = threading.Lock()


def shared_server() -> Server:
    """The process's embedded server, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Server().start()
            atexit.register(_shared.stop)
        return _shared


class MockContext:
    """The ``with tidestream.mock() as ts:`` form; also a decorator (``@tidestream.mock()``)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> Server:
        server = shared_server()
        server.reset()
        for name, value in server.environ().items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value
        return server

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}

    def __call__(self, target: T) -> T:
        return mock(target)


def mock(target: Any = None) -> Any:
    """``@tidestream.mock`` on a test function or a TestCase class (each ``test*`` method gets
    empty state and the environment), or ``with tidestream.mock() as server:``."""
    if target is None:
        return MockContext()
    if inspect.isclass(target):
        for name, member in list(vars(target).items()):
            if name.startswith("test") and callable(member):
                setattr(target, name, _wrap(member))
        return target
    return _wrap(target)


def _wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with MockContext():
            return func(*args, **kwargs)

    return wrapper
