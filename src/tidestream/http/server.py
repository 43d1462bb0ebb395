"""Our own thin HTTP/1.1 server on uvloop + httptools.

Why not a framework: measured here, a GetItem-shaped POST runs ~3-4x faster on a bare
httptools protocol than on the fastest ASGI servers (see ../../../docs/decisions). The server does
framing only: keep-alive, pipelining (responses leave in request order), gzip and deflate
request bodies and responses (see bodies.py), a request-size limit, idle timeouts, chunked
streaming responses.
HTTP/2 (prior knowledge ``PRI *`` preface or TLS ALPN ``h2``) is handed to :mod:`.h2conn`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from .bodies import (
    COMPRESS_AT,
    MAX_BODY,
    BadBody,
    BodyTooLarge,
    body_limit,
    compressed,
    decode,
    too_large_message,
    undecodable,
)
from .bodies import error_response as _error_response
from .flow import (
    IN_PROGRESS,
    MAX_PIPELINE,
    MAX_REQUESTS,
    FlowControl,
    refusal,
    request_done,
    set_write_limits,
)
from .messages import Deferred, Handler, Request, Response

if TYPE_CHECKING:  # imported when a connection switches to HTTP/2
    from .h2conn import H2Connection

log = logging.getLogger("tidestream.http")

IDLE_TIMEOUT = float(os.environ.get("TIDESTREAM_IDLE_TIMEOUT", "120"))  # keep-alive idle
#: once a request's first byte arrives, all of it must arrive within this many seconds (slow
#: senders would otherwise pin a connection and its buffers); answered 408, then closed
REQUEST_TIMEOUT = float(os.environ.get("TIDESTREAM_REQUEST_TIMEOUT", "60"))
#: request line + headers; httptools buffers a header until it ends, so bound it ourselves
MAX_HEAD = 64 * 1024
LINGER = 2.0  # seconds to drain a misbehaving client's input before closing
#: status -> its status line, rendered once (a response's head is built as text, encoded once)
_STATUS_LINES = {s.value: "HTTP/1.1 %d %s\r\n" % (s.value, s.phrase) for s in HTTPStatus}
#: a header name as sent -> its lower-cased text: clients send the same dozen names on every
#: request, so the decode and lower() of each is paid once (bounded: names are the sender's)
_HEADER_NAMES: dict[bytes, str] = {}
_HEADER_NAMES_MAX = 512
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _Discard(dict):
    """A dict that keeps nothing: where a chunked body's trailers go."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        pass


_TRAILERS = _Discard()


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "handler",
        "transport",
        "parser",
        "url",
        "headers",
        "body",
        "queue",
        "worker",
        "closing",
        "too_large",
        "loop",
        "idle",
        "first",
        "h2",
        "tls_h2",
        "discard",
        "deadline",
        "in_head",
        "head_bytes",
        "body_len",
        "body_limit",
        "started",
        "last_done",
        "dispatch",
        "waiting",
        "flow",
        "reading_paused",
        "fields",
        "chunk_mark",
    )

    def __init__(self, handler: Handler, tls_h2: bool = False) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[str, str] = {}
        #: where on_header writes: the request's headers, then (once they are complete) a sink,
        #: since httptools reports a chunked body's trailers through on_header too and they
        #: must never change the request (swapping costs less than a check per header)
        self.fields: dict[str, str] = self.headers
        self.body: list[bytes] = []
        self.queue: deque[Request | Response] = deque()
        self.worker: asyncio.Task | None = None
        self.closing = False
        self.too_large = False
        self.loop = asyncio.get_event_loop()
        self.idle: asyncio.TimerHandle | None = None
        self.first = True
        self.h2: H2Connection | None = None
        self.tls_h2 = tls_h2
        self.discard = False
        #: the application's synchronous entry point, when it has one (see Application.dispatch);
        #: a plain handler's coroutine is awaited like any other pending answer
        self.dispatch = getattr(handler, "dispatch", None) or handler
        #: a Deferred response is waiting for its fsync; its callback continues the queue
        self.waiting = False
        self.deadline: asyncio.TimerHandle | None = None
        #: loop time the current request's first byte arrived (None between requests), and
        #: when the last response went out; the timers read these lazily, so a request costs
        #: two attribute stores instead of cancelling and re-creating two timers
        self.started: float | None = None
        self.last_done = 0.0
        self.in_head = True  # between messages, in a request line / headers, or in a chunked body
        self.head_bytes = 0
        #: body_len when the current chunk's size line ended (0 outside chunks): if the body has
        #: not grown since, the bytes counted are framing or the trailers, not chunk data
        self.chunk_mark = 0
        self.body_len = 0
        self.body_limit = MAX_BODY
        #: the transport's write buffer is over its high water mark: answer nothing more
        self.flow = FlowControl()
        self.reading_paused = False

    # connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        set_write_limits(transport)
        ssl_obj = transport.get_extra_info("ssl_object")
        if ssl_obj is not None and ssl_obj.selected_alpn_protocol() == "h2":
            self._switch_to_h2(b"")
            return
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self.idle:
            self.idle.cancel()
        if self.deadline:
            self.deadline.cancel()
        if self.worker and not self.worker.done():
            self.worker.cancel()
        self.flow.resume_writing()  # the connection is gone: wake whoever waits to write
        if self.h2 is not None:
            self.h2.connection_lost()

    # flow control: see flow.py ------------------------------------------------------------
    def pause_writing(self) -> None:
        """The client is not reading fast enough: stop answering and reading until it does."""
        self.flow.pause_writing()
        self.last_done = self.loop.time()  # a reader stalled this long is cut like an idle one
        self._arm_idle()
        self._update_reading()

    def resume_writing(self) -> None:
        self.flow.resume_writing()
        self._update_reading()
        if self.h2 is None:
            self._kick()

    def _update_reading(self) -> None:
        """Read from the socket only while we can answer and the request queue is short (it
        resumes at half the limit, so a deep pipeline doesn't toggle reading per request)."""
        limit = MAX_PIPELINE // 2 if self.reading_paused else MAX_PIPELINE - 1
        pause = self.flow.write_paused or len(self.queue) > limit
        t = self.transport
        if pause == self.reading_paused or t is None or t.is_closing():
            return
        self.reading_paused = pause
        if pause:
            t.pause_reading()
        else:
            t.resume_reading()

    def _arm_idle(self, delay: float = IDLE_TIMEOUT) -> None:
        if self.idle is None:
            self.idle = self.loop.call_later(delay, self._idle_timeout)

    def _idle_timeout(self) -> None:
        self.idle = None
        if self.h2 is not None and not self.flow.write_paused:
            return  # HTTP/2 connections are cut only when their reader stalls
        busy = (
            self.started is not None
            or self.queue
            or self.waiting
            or (self.worker is not None and not self.worker.done())
        )
        if busy and not self.flow.write_paused:  # a request is arriving or being answered
            self._arm_idle()
            return
        left = self.last_done + IDLE_TIMEOUT - self.loop.time()
        if left > 0:
            self._arm_idle(left)
        elif self.transport is None:
            return
        elif self.flow.write_paused:
            self.transport.abort()  # close() would wait for a reader that stalled: free it now
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.discard:
            return
        if self.h2 is not None:
            self.h2.data_received(data)
            return
        if self.first:
            self.first = False
            if data.startswith(b"PRI * HTTP/2.0"):
                self._switch_to_h2(data)
                return
        if self.in_head:  # checked before adding: this chunk may also carry the body
            if self.head_bytes > MAX_HEAD and self.body_len == self.chunk_mark:
                self._fail(431, "RequestHeaderFieldsTooLarge", "Request header fields too large")
                return
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError:
            self._fail(400, "SerializationException", "Malformed HTTP request")

    def eof_received(self) -> bool | None:
        """The client stopped sending: answer what arrived (and a request cut short), then close."""
        if self.h2 is not None or self.discard:
            return None
        if self.started is not None:
            self._fail(400, "SerializationException", "Incomplete HTTP request")
            return True
        if self.queue or self.waiting or (self.worker is not None and not self.worker.done()):
            self.closing = True
            return True
        return None

    def _switch_to_h2(self, data: bytes) -> None:
        from .h2conn import H2Connection

        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        assert self.transport is not None  # called from data_received / connection_made
        self.h2 = H2Connection(self.transport, self.handler, self.flow)
        self.h2.start(data)

    def _fail_too_large(self) -> None:
        self._fail(413, *too_large_message(self.url))

    def _fail(self, status: int, code: str, message: str) -> None:
        if self.discard:  # already answered; the connection is closing
            return
        self.queue.append(_error_response(status, code, message))
        self.closing = True
        self.discard = True
        self._stop_deadline()
        self._kick()

    def _stop_deadline(self) -> None:
        self.started = None
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _request_timeout(self) -> None:
        self.deadline = None
        if self.started is None:
            return  # between requests; re-armed when the next one starts
        left = self.started + REQUEST_TIMEOUT - self.loop.time()
        if left > 0:
            self.deadline = self.loop.call_later(left, self._request_timeout)
            return
        self._fail(
            408, "RequestTimeoutException", "Request did not arrive within %g seconds" % REQUEST_TIMEOUT
        )

    # httptools callbacks --------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.started = self.loop.time()
        if self.deadline is None:
            self.deadline = self.loop.call_later(REQUEST_TIMEOUT, self._request_timeout)
        self.url = b""
        self.headers = self.fields = {}
        self.body = []
        self.body_len = 0
        self.body_limit = MAX_BODY
        self.too_large = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = _HEADER_NAMES.get(name)
        if key is None:
            key = _header_name(name)
        self.fields[key] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.fields = _TRAILERS
        self.in_head = False
        self.head_bytes = 0
        self.body_limit = body_limit(self.url)
        cl = self.headers.get("content-length")
        if cl is not None and cl.isdigit() and int(cl) > self.body_limit:
            # answer at once: the client may be waiting for us before it sends the body
            self.too_large = True
            self._fail_too_large()

    def on_chunk_header(self) -> None:
        """Until this chunk's data arrives the bytes are framing or, after the last chunk,
        trailers (which httptools buffers whole): count them like a head, so an endless
        trailer is cut with 431 as an endless header is (chunk data is told apart by the
        body growing: see chunk_mark)."""
        self.in_head = True
        self.head_bytes = 0
        self.chunk_mark = self.body_len

    def on_chunk_complete(self) -> None:
        self.in_head = False
        self.head_bytes = 0
        self.chunk_mark = 0

    def on_body(self, body: bytes) -> None:
        if self.too_large:
            return
        self.body.append(body)
        self.body_len += len(body)  # a running count: tiny chunks must not cost O(n^2)
        if self.body_len > self.body_limit:
            self.too_large = True
            self.body = []
            self._fail_too_large()

    def on_message_complete(self) -> None:
        self.started = None
        self.in_head = True
        if self.discard:
            return
        if self.too_large:
            self._fail_too_large()
            return
        raw = b"".join(self.body)
        encoding = self.headers.get("content-encoding")
        try:
            body = decode(raw, encoding) if encoding else raw  # the usual body: no call
        except BadBody as err:
            self.queue.append(undecodable(self.handler, self.headers, err))
            self._kick()
            return
        except BodyTooLarge:
            self._fail(413, "RequestEntityTooLarge", "Request entity too large")
            return
        path = self.url.decode("latin-1")
        req = Request(
            self.parser.get_method().decode(),
            path,
            self.headers,
            body,
            raw_body=raw if raw is not body else None,
        )
        if not self.parser.should_keep_alive():
            req.headers["connection"] = "close"
        self.queue.append(req)
        if len(self.queue) >= MAX_PIPELINE:
            self._update_reading()
        self._kick()

    # processing -------------------------------------------------------------------------
    # Requests are answered in arrival order. The common case completes synchronously: the
    # application returns a Response (a read) or a Deferred (a write waiting for its group
    # commit's fsync, answered from the future's callback), so no task or coroutine is created
    # per request. Async operations and streamed responses fall back to a worker task.
    def _kick(self) -> None:
        if self.waiting or (self.worker is not None and not self.worker.done()):
            return  # the pending response's completion continues with the queue
        self._drain()

    def _drain(self) -> None:
        dispatch = self.dispatch
        flow = self.flow
        in_progress = IN_PROGRESS
        transport = self.transport
        if transport is None:
            return
        r: Response | Deferred | Awaitable[Response]
        accept: str | None
        while self.queue and not flow.write_paused and not transport.is_closing():
            item = self.queue.popleft()
            if self.reading_paused:
                self._update_reading()
            close = self.closing and not self.queue
            if isinstance(item, Response):  # an error answered while parsing (never streamed)
                r, accept = item, None
            else:
                accept = item.headers.get("accept-encoding")
                close = close or item.headers.get("connection", "").lower() == "close"
                try:
                    r = dispatch(item) if in_progress.count < MAX_REQUESTS else refusal(self.handler, item)
                except Exception:  # the application shapes errors; this is the last guard
                    log.exception("unhandled error")
                    r = _error_response(500, "InternalFailure", "Internal server error")
            if isinstance(r, Response) and r.stream is None:
                self._write(r, accept, close)
                if close:
                    self._close()
                    return
                continue
            self._pending(r, accept, close)
            return
        if not self.queue:  # else writing is paused: resume_writing continues
            self._idle_again()

    def _pending(self, r: Deferred | Response | Awaitable[Response], accept: str | None, close: bool) -> None:
        """Wait for an answer that is not ready (counted as in progress until it is): a
        Deferred's fsync from its future's callback, anything else on a worker task."""
        IN_PROGRESS.count += 1
        if isinstance(r, Deferred):
            self.waiting = True
            r.future.add_done_callback(
                lambda f, resp=r.response, a=accept, c=close: self._deferred_done(f, resp, a, c)
            )
            return
        self.worker = self.loop.create_task(self._work(r, accept, close))
        self.worker.add_done_callback(request_done)

    def _idle_again(self) -> None:
        if self.closing and self.transport is not None:  # the client half-closed: all answered
            self._close()
            return
        self.last_done = self.loop.time()
        self._arm_idle()

    def _deferred_done(self, fut: asyncio.Future, resp: Response, accept: str | None, close: bool) -> None:
        self.waiting = False
        IN_PROGRESS.count -= 1
        if self.transport is None or self.transport.is_closing():
            return
        if fut.cancelled() or fut.exception() is not None:  # the fsync failed: not acknowledged
            log.error("write not made durable: %r", None if fut.cancelled() else fut.exception())
            resp = _error_response(500, "InternalFailure", "Internal server error")
        self._write(resp, accept, close)
        if close:
            self._close()
            return
        self._drain()

    async def _work(self, pending, accept: str | None, close: bool) -> None:
        """Finish one asynchronous request (or stream a response), then go on with the queue."""
        try:
            resp = pending if isinstance(pending, Response) else await pending
        except asyncio.CancelledError:
            raise
        except Exception:  # the application shapes errors; this is the last guard
            log.exception("unhandled error")
            resp = _error_response(500, "InternalFailure", "Internal server error")
        if self.transport is None or self.transport.is_closing():
            return
        if resp.stream is not None:
            await self._send_stream(resp, close)
        else:
            self._write(resp, accept, close)
        if close:
            self._close()
            return
        self.worker = None
        self._drain()

    def _close(self) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        if self.discard and t.can_write_eof():
            # after a protocol error the client may still be sending: closing now would reset
            # the connection and could destroy our answer, so send FIN, drain, close shortly
            t.write_eof()
            self.loop.call_later(LINGER, t.close)
        else:
            t.close()

    def _write(self, resp: Response, accept: str | None, close: bool) -> None:
        t = self.transport
        assert t is not None
        body, headers = resp.body, resp.headers
        if accept and len(body) >= COMPRESS_AT:  # the common case pays these two tests only
            body, headers = compressed(resp, accept)
        t.write(
            f"{_head(resp.status, headers, close)}Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
            + body
        )

    async def _send_stream(self, resp: Response, close: bool) -> None:
        """Write an event stream chunk by chunk, each only once the client has taken the last:
        a subscriber that stops reading holds the stream (not our memory) until it resumes or
        its connection is cut as idle."""
        t = self.transport
        assert t is not None and resp.stream is not None
        t.write(
            f"{_head(resp.status, resp.headers, close)}Transfer-Encoding: chunked\r\n\r\n".encode("latin-1")
        )
        flow = self.flow
        try:
            async for chunk in resp.stream:
                if t.is_closing():
                    break
                if chunk:
                    t.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await flow.drain()
        finally:
            if not t.is_closing():
                t.write(b"0\r\n\r\n")


def _header_name(name: bytes) -> str:
    """*name* lower-cased as text, remembered while the cache has room."""
    key = name.decode("latin-1").lower()
    if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
        _HEADER_NAMES[name] = key
    return key


def _head(status: int, headers: list[tuple[str, str]], close: bool) -> str:
    """A response's status line and headers, as text (encoded with its body in one go: one
    f-string per header costs a third less than formatting bytes piece by piece)."""
    text = _STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n"
    for name, value in headers:
        text += f"{name}: {value}\r\n"
    if close:
        text += "Connection: close\r\n"
    return text


async def serve(handler: Handler, host: str, port: int, ssl_context=None) -> asyncio.base_events.Server:
    loop = asyncio.get_running_loop()
    tls_h2 = ssl_context is not None
    return await loop.create_server(
        lambda: HttpProtocol(handler, tls_h2), host, port, ssl=ssl_context, backlog=1024, reuse_address=True
    )
