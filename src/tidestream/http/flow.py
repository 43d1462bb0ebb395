"""Flow control and load limits shared by the HTTP/1.1 and HTTP/2 servers.

Without these a client that sends and never reads makes the server buffer without bound:
pipelined requests parsed and answered into a socket nobody drains, HTTP/2 bodies acknowledged
as they arrive, event streams written to a subscriber that stopped reading. The rules (the same
ones uvicorn follows):

* every transport has high/low water marks: above the high mark the connection stops answering
  (and stops reading) until the buffer falls under the low mark; event streams await that;
* an HTTP/1.1 connection queues at most :data:`MAX_PIPELINE` parsed requests, then stops reading;
* an HTTP/2 connection buffers at most :data:`H2_BUFFER` request-body bytes (its receive window)
  and serves at most :data:`H2_MAX_STREAMS` streams at once (answers waiting for the client's
  window stay in memory);
* at most :data:`MAX_REQUESTS` requests are in progress server-wide (waiting for an fsync, an
  asynchronous operation, an event stream, an HTTP/2 stream); the next one is refused with the
  service's throttling error, which the AWS SDKs retry with backoff.

The synchronous fast path pays one counter comparison; nothing here runs per request otherwise.
"""

from __future__ import annotations

import asyncio
import os

from ..errors import AwsError
from .bodies import MAX_BODY, error_response
from .messages import Request, Response


def _env_int(name: str, default: int, minimum: int) -> int:
    return max(minimum, int(os.environ.get(name, default)))


#: parsed HTTP/1.1 requests queued on one connection before it stops reading the socket
MAX_PIPELINE = _env_int("TIDESTREAM_MAX_PIPELINE", 32, 1)
#: bytes buffered for writing on one transport before it stops answering (the high water mark;
#: the low one is a quarter of it)
WRITE_BUFFER = _env_int("TIDESTREAM_WRITE_BUFFER", 256 * 1024, 4096)
#: an HTTP/2 stream's receive window: one largest body (and padding) fits without our help
H2_STREAM_WINDOW = MAX_BODY + 1024 * 1024
#: request-body bytes one HTTP/2 connection buffers before the client must wait (its connection
#: window). At least two streams' windows: h2 hands window back in batches of half the window,
#: so this guarantees the oldest body can always complete
_H2_BUFFER_MIN = 2 * H2_STREAM_WINDOW + 2 * 1024 * 1024
H2_BUFFER = _env_int("TIDESTREAM_H2_BUFFER", _H2_BUFFER_MIN, _H2_BUFFER_MIN)
#: concurrent streams per HTTP/2 connection (each may hold an answer waiting for the client's
#: window: 128 GetItem answers of 400 KB are 50 MB)
H2_MAX_STREAMS = _env_int("TIDESTREAM_H2_MAX_STREAMS", 128, 1)
#: requests in progress server-wide before new ones are refused with a throttling error
MAX_REQUESTS = _env_int("TIDESTREAM_MAX_REQUESTS", 1024, 1)

DYNAMODB_THROTTLED = "Rate of requests exceeds the allowed throughput."
RATE_EXCEEDED = "Rate exceeded: too many requests in progress."


class InProgress:
    """The server-wide count of requests started and not yet answered (one event loop)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


IN_PROGRESS = InProgress()


def request_done(_task: asyncio.Future) -> None:
    """Done callback of a counted request's task (runs even if it is cancelled before starting)."""
    IN_PROGRESS.count -= 1


def set_write_limits(transport: asyncio.BaseTransport) -> None:
    """Give *transport* our high/low water marks (pause_writing/resume_writing follow them)."""
    setter = getattr(transport, "set_write_buffer_limits", None)
    if setter is not None:
        setter(high=WRITE_BUFFER, low=WRITE_BUFFER // 4)


class FlowControl:
    """Whether a transport can take more output, and a way to wait until it can."""

    __slots__ = ("write_paused", "_writable")

    def __init__(self) -> None:
        self.write_paused = False
        self._writable: asyncio.Event | None = None  # made on first wait: most never wait

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._writable is not None:
            self._writable.set()
            self._writable = None

    async def drain(self) -> None:
        """Return once the transport is under its low water mark (or was closed)."""
        while self.write_paused:
            if self._writable is None:
                self._writable = asyncio.Event()
            await self._writable.wait()


def overload_error(target: str) -> AwsError | None:
    """The throttling error AWS answers for the service of an ``X-Amz-Target`` (None: unknown)."""
    prefix = target.partition(".")[0]
    if prefix.startswith("DynamoDB_"):
        err = AwsError(DYNAMODB_THROTTLED, code="ThrottlingException")
        err.namespace = "com.amazon.coral.availability#"
        return err
    if prefix.startswith(("Kinesis_", "DynamoDBStreams_")):
        return AwsError(RATE_EXCEEDED, code="LimitExceededException")
    return None


def refusal(handler: object, req: Request) -> Response:
    """The answer to a request refused because :data:`MAX_REQUESTS` are in progress."""
    err = overload_error(req.headers.get("x-amz-target", ""))
    render = getattr(handler, "error_for", None)
    if err is None or render is None:
        return error_response(503, "ServiceUnavailable", "Too many requests in progress")
    return render(req, err)
