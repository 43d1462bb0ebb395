"""HTTP/2 server connections on the ``h2`` state machine (h2c prior knowledge and h2 over TLS).

:class:`tidestream.http.server.HttpProtocol` hands a connection over when it sees the
``PRI * HTTP/2.0`` preface on plain TCP or when TLS negotiated ALPN ``h2``; from then on it
forwards bytes here. Each HTTP/2 stream becomes one :class:`Request` (``http2=True``) for the
same handler as HTTP/1.1, run as its own task, so streams on one connection are served
concurrently (the Java SDK's async client multiplexes KCL's SubscribeToShard calls and other
requests this way).

Responses go out as HEADERS then DATA frames, never past the peer's flow-control windows: a
sender waits for WINDOW_UPDATE (or a SETTINGS change) before sending more, so large bodies and
long-lived event streams (SubscribeToShard) are paced by the client; nor past the transport's
high water mark (see :mod:`.flow`). Request bodies are acknowledged (their window handed back)
only once the body is complete and handed to the application, so one connection buffers at
most :data:`~.flow.H2_BUFFER` bytes of them; when incomplete bodies fill that window the newest
stream is refused (REFUSED_STREAM: safe to retry) so the oldest can finish. A RST_STREAM from the
client cancels that stream's task (ending its event stream); GOAWAY stops new streams and
closes the connection once the open ones finish. Protocol errors close the connection with
GOAWAY; nothing here may take the server down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from .bodies import COMPRESS_AT, MAX_BODY, BadBody, BodyTooLarge, compressed, decode, undecodable
from .bodies import error_response as _error_response
from .flow import (
    H2_BUFFER,
    H2_MAX_STREAMS,
    H2_STREAM_WINDOW,
    IN_PROGRESS,
    MAX_REQUESTS,
    FlowControl,
    refusal,
    request_done,
)
from .messages import Handler, Request, Response

log = logging.getLogger("tidestream.http")

#: a connection window this small with bodies still incomplete means the client is stuck
STALLED_WINDOW = 64 * 1024
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
)


class _Stream:
    __slots__ = ("headers", "body", "size", "too_large", "task", "unacked")

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.body: list[bytes] = []
        self.size = 0
        self.too_large = False
        self.task: asyncio.Task | None = None
        #: flow-controlled bytes received and not yet handed back to the client's window
        self.unacked = 0


class H2Connection:
    """One HTTP/2 connection: feed it bytes; it writes frames to the transport."""

    def __init__(self, transport: asyncio.Transport, handler: Handler, flow: FlowControl) -> None:
        self.transport = transport
        self.flow = flow
        self.handler = handler
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.streams: dict[int, _Stream] = {}
        self.loop = asyncio.get_event_loop()
        self.closed = False
        self.goaway = False
        self._window = asyncio.Event()

    # connection -------------------------------------------------------------------------
    def start(self, initial: bytes) -> None:
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: H2_MAX_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: H2_STREAM_WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 64 * 1024,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(H2_BUFFER - 65535)
        self._flush()
        if initial:
            self.data_received(initial)

    def connection_lost(self) -> None:
        self.closed = True
        for st in self.streams.values():
            if st.task is not None and not st.task.done():
                st.task.cancel()
        self.streams.clear()
        self._wake()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.closed and not self.transport.is_closing():
            self.transport.write(data)

    def _close(self) -> None:
        self._flush()
        if not self.transport.is_closing():
            self.transport.close()

    def _wake(self) -> None:
        """Something changed that a sender waiting for window may care about."""
        self._window.set()
        self._window = asyncio.Event()

    # inbound ----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as err:
            log.debug("HTTP/2 protocol error: %s", err)
            self._close()  # h2 has queued a GOAWAY with the right error code
            return
        except Exception:  # never let a bad peer take the server down
            log.exception("HTTP/2 connection error")
            self._close()
            return
        for ev in events:
            try:
                self._event(ev)
            except h2.exceptions.H2Error as err:
                log.debug("HTTP/2 stream error: %s", err)
        self._flush()
        if self.goaway and not self.streams:
            self._close()

    def _event(self, ev: h2.events.Event) -> None:
        if isinstance(ev, h2.events.RequestReceived):
            headers = {}
            for k, v in ev.headers:
                headers[k.decode("latin-1").lower()] = v.decode("latin-1")
            st = self.streams[ev.stream_id] = _Stream(headers)
            if self.goaway:
                self.conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                del self.streams[ev.stream_id]
                return
            if ev.stream_ended is not None:
                self._dispatch(ev.stream_id, st)
        elif isinstance(ev, h2.events.DataReceived):
            self._data(ev)
        elif isinstance(ev, h2.events.StreamEnded):
            ended = self.streams.get(ev.stream_id)
            if ended is not None and ended.task is None:
                self._dispatch(ev.stream_id, ended)
        elif isinstance(ev, h2.events.StreamReset):
            self._reset_by_peer(ev.stream_id)
        elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._wake()
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = True
            self._wake()

    def _reset_by_peer(self, sid: int) -> None:
        """The client gave a stream up: free its body's window, end its task (and stream)."""
        st = self.streams.pop(sid, None)
        if st is not None:
            self._consumed(sid, st)
            if st.task is not None and not st.task.done():
                st.task.cancel()
        self._wake()

    def _data(self, ev: h2.events.DataReceived) -> None:
        """Keep a chunk of a request body; its window is handed back only when the body is."""
        sid = ev.stream_id
        st = self.streams.get(sid)
        if st is None or st.task is not None or st.too_large:  # nothing is kept: free at once
            if ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            return
        st.unacked += ev.flow_controlled_length
        st.size += len(ev.data)
        if st.size > MAX_BODY:  # answered 413 once it ends; meanwhile let the client finish
            st.too_large = True
            st.body = []
            self._consumed(sid, st)
        else:
            st.body.append(ev.data)
        if ev.stream_ended is not None:
            self._dispatch(sid, st)
        elif self.conn.inbound_flow_control_window < STALLED_WINDOW:
            self._refuse_newest()

    def _consumed(self, sid: int, st: _Stream) -> None:
        """Hand *st*'s buffered bytes back to the client's windows."""
        if st.unacked:
            try:
                self.conn.acknowledge_received_data(st.unacked, sid)
            except h2.exceptions.H2Error:  # pragma: no cover - the stream is already gone
                pass
            st.unacked = 0

    def _refuse_newest(self) -> None:
        """Incomplete bodies fill the connection window: refuse the newest of them (the client
        may retry it) so the older ones can complete; one alone always fits (see flow.py)."""
        filling = [sid for sid, st in self.streams.items() if st.task is None and st.unacked]
        if len(filling) < 2:
            return
        sid = max(filling)
        st = self.streams.pop(sid)
        self._consumed(sid, st)
        self.conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)

    def _dispatch(self, sid: int, st: _Stream) -> None:
        """The body is complete: hand it to the application (or refuse it when overloaded)."""
        self._consumed(sid, st)
        if IN_PROGRESS.count >= MAX_REQUESTS:
            ready = refusal(self.handler, Request("POST", "/", st.headers, b"", http2=True))
            st.task = self.loop.create_task(self._serve(sid, st, ready))
            return
        IN_PROGRESS.count += 1
        st.task = self.loop.create_task(self._serve(sid, st))
        st.task.add_done_callback(request_done)

    # outbound ---------------------------------------------------------------------------
    async def _serve(self, sid: int, st: _Stream, ready: Response | None = None) -> None:
        try:
            resp = ready if ready is not None else await self._respond(st)
            await self._send(sid, resp, st.headers.get("accept-encoding"))
        except asyncio.CancelledError:
            pass
        except h2.exceptions.H2Error as err:  # e.g. the stream was reset meanwhile
            log.debug("HTTP/2 send on stream %d failed: %s", sid, err)
        except Exception:
            log.exception("HTTP/2 stream %d failed", sid)
            self._reset(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
        finally:
            self.streams.pop(sid, None)
            self._flush()
            if self.goaway and not self.streams:
                self._close()

    async def _respond(self, st: _Stream) -> Response:
        h = st.headers
        if st.too_large:
            return _error_response(413, "RequestEntityTooLarge", "Request entity too large")
        raw = b"".join(st.body)
        try:
            body = decode(raw, h.get("content-encoding", ""))
        except BadBody as err:
            return undecodable(self.handler, h, err)
        except BodyTooLarge:
            return _error_response(413, "RequestEntityTooLarge", "Request entity too large")
        method = h.pop(":method", "GET")
        path = h.pop(":path", "/")
        authority = h.pop(":authority", None)
        h.pop(":scheme", None)
        if authority and "host" not in h:
            h["host"] = authority  # SigV4 signs "host"; in HTTP/2 it travels as :authority
        req = Request(method, path, h, body, http2=True, raw_body=raw if raw is not body else None)
        try:
            return await self.handler(req)
        except asyncio.CancelledError:
            raise
        except Exception:  # the application shapes errors; this is the last guard
            log.exception("unhandled error")
            return _error_response(500, "InternalFailure", "Internal server error")

    def _reset(self, sid: int, code: h2.errors.ErrorCodes) -> None:
        try:
            self.conn.reset_stream(sid, code)
        except h2.exceptions.H2Error:
            pass
        self._flush()

    async def _send(self, sid: int, resp: Response, accept: str | None = None) -> None:
        headers = [(b":status", str(resp.status).encode())]
        body, fields = resp.body, resp.headers
        if accept and resp.stream is None and len(body) >= COMPRESS_AT:
            body, fields = compressed(resp, accept)
        for k, v in fields:
            name = k.lower()
            if name in _HOP_BY_HOP or name == "content-length":
                continue
            headers.append((name.encode("latin-1"), v.encode("latin-1")))
        if resp.stream is None:
            headers.append((b"content-length", str(len(body)).encode()))
            if self._gone(sid):
                return
            self.conn.send_headers(sid, headers, end_stream=not body)
            self._flush()
            if body:
                await self._send_data(sid, body)
                self._end(sid)
            return
        await self._send_streamed(sid, headers, resp.stream)

    async def _send_streamed(
        self, sid: int, headers: list[tuple[bytes, bytes]], stream: AsyncIterator[bytes]
    ) -> None:
        """A streamed answer (an event stream): headers now, then each chunk as it comes, until
        the stream ends or the client resets it; the generator is closed either way."""
        if self._gone(sid):
            return
        self.conn.send_headers(sid, headers)
        self._flush()
        try:
            async for chunk in stream:
                if self._gone(sid):
                    return
                if chunk:
                    await self._send_data(sid, chunk)
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # pragma: no cover - generator cleanup must not break us
                    pass
        self._end(sid)

    def _gone(self, sid: int) -> bool:
        return self.closed or sid not in self.streams

    def _end(self, sid: int) -> None:
        if not self._gone(sid):
            self.conn.end_stream(sid)
            self._flush()

    async def _send_data(self, sid: int, data: bytes) -> None:
        """Send *data* on stream *sid* within the peer's windows, waiting for WINDOW_UPDATEs."""
        view = memoryview(data)
        while view:
            if self._gone(sid):
                raise asyncio.CancelledError()
            window = self.conn.local_flow_control_window(sid)
            if window <= 0:
                waiter = self._window
                await waiter.wait()
                continue
            n = min(window, len(view), self.conn.max_outbound_frame_size)
            self.conn.send_data(sid, view[:n].tobytes())
            view = view[n:]
            self._flush()
            await self.flow.drain()  # the client is not reading: wait, don't buffer
