"""Plain request and response values passed between the HTTP framing and the application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Request:
    method: str
    path: str
    #: header names lower-cased; a repeated header keeps its last value
    headers: dict[str, str]
    body: bytes
    http2: bool = False
    #: the body as it arrived when the HTTP layer decoded it (gzip); SigV4 signs these bytes
    raw_body: bytes | None = None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: for streamed responses (event streams): chunks yielded until the stream ends
    stream: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class Deferred:
    """A response that may leave only once ``future`` is done (its writes are on disk)."""

    response: Response
    future: Any


Handler = Callable[[Request], Awaitable[Response]]
