"""The HTTP/1.1 server's per-request text helpers: response heads and cached header names."""

from __future__ import annotations

from tidestream.http import server


def test_head_renders_status_line_headers_and_close() -> None:
    head = server._head(200, [("Content-Type", "application/x-amz-json-1.0"), ("x-amz-crc32", "7")], True)
    assert head == (
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: 7\r\nConnection: close\r\n"
    )


def test_head_of_a_status_without_a_reason_phrase() -> None:
    assert server._head(599, [], False) == "HTTP/1.1 599 \r\n"


def test_header_names_are_lower_cased_and_the_cache_stays_bounded(monkeypatch) -> None:
    """A client sending endless distinct header names must not grow the server's memory."""
    monkeypatch.setattr(server, "_HEADER_NAMES", {})
    names = [b"X-Custom-%d" % n for n in range(server._HEADER_NAMES_MAX + 100)]
    assert [server._header_name(n) for n in names] == [n.decode().lower() for n in names]
    assert len(server._HEADER_NAMES) == server._HEADER_NAMES_MAX
    assert server._HEADER_NAMES[b"X-Custom-0"] == "x-custom-0"
