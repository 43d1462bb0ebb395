"""A tiny blocking HTTP/2 client on the ``h2`` library, for tests: prior-knowledge h2c or TLS
with ALPN, many concurrent streams on one connection, streamed bodies, manual flow control."""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass, field

import cbor2
import h2.config
import h2.connection
import h2.events
import h2.settings
from botocore.eventstream import EventStreamBuffer


@dataclass
class H2Response:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    reset: bool = False
    frames: int = 0

    def json(self) -> dict:
        return json.loads(bytes(self.data))

    def events(self) -> list:
        buf = EventStreamBuffer()
        buf.add_data(bytes(self.data))
        return list(buf)


class H2Client:
    def __init__(
        self, port: int, tls: ssl.SSLContext | None = None, window: int | None = None, auto_ack: bool = True
    ) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
        self.sock = sock
        self.port = port
        self.scheme = "https" if tls else "http"
        self.auto_ack = auto_ack
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        if window is not None:
            self.conn.local_settings = h2.settings.Settings(
                client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
            )
        self.conn.initiate_connection()
        self.flush()
        self.responses: dict[int, H2Response] = {}
        self.goaway = False

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(
        self,
        op: str,
        body: dict | None = None,
        cbor: bool = False,
        service: str = "Kinesis_20131202",
        payload: bytes | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> int:
        """Send one request; *payload* replaces the encoded *body* (e.g. a compressed one) and
        *extra* headers are added after the usual ones."""
        sid = self.conn.get_next_available_stream_id()
        if payload is None:
            payload = cbor2.dumps(body or {}) if cbor else json.dumps(body or {}).encode()
        ctype = "application/x-amz-cbor-1.1" if cbor else "application/x-amz-json-1.1"
        self.conn.send_headers(
            sid,
            [
                (":method", "POST"),
                (":path", "/"),
                (":scheme", self.scheme),
                (":authority", f"127.0.0.1:{self.port}"),
                ("x-amz-target", f"{service}.{op}"),
                ("content-type", ctype),
                ("content-length", str(len(payload))),
                *(extra or []),
            ],
        )
        self.responses[sid] = H2Response()
        view = memoryview(payload)
        while True:
            window = self.conn.local_flow_control_window(sid)
            if view and window <= 0:
                self.pump(lambda: self.conn.local_flow_control_window(sid) > 0)
                continue
            n = min(window, len(view), self.conn.max_outbound_frame_size)
            self.conn.send_data(sid, view[:n].tobytes(), end_stream=n == len(view))
            self.flush()
            view = view[n:]
            if not view:
                return sid

    def reset(self, sid: int) -> None:
        self.conn.reset_stream(sid)
        self.flush()

    def pump(self, until, timeout: float = 10.0) -> None:
        """Read frames until ``until()`` is true (or fail after *timeout*)."""
        deadline = time.time() + timeout
        while not until():
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("HTTP/2 response did not arrive in time")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for ev in self.conn.receive_data(data):
                self._event(ev)
            self.flush()

    def _event(self, ev) -> None:
        if isinstance(ev, h2.events.ResponseReceived):
            r = self.responses[ev.stream_id]
            r.headers = dict(ev.headers)
            r.status = int(r.headers[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            r = self.responses.get(ev.stream_id)
            if r is not None:
                r.data += ev.data
                r.frames += 1
            if self.auto_ack and ev.flow_controlled_length:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.responses[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in self.responses:
                self.responses[ev.stream_id].reset = True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = True

    def call(self, op: str, body: dict | None = None, cbor: bool = False) -> H2Response:
        sid = self.request(op, body, cbor)
        self.pump(lambda: self.responses[sid].ended)
        return self.responses.pop(sid)

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.flush()
        except OSError:
            pass
        self.sock.close()
