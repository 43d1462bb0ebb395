"""Order-preserving key encodings.

Keys sort the way DynamoDB sorts: strings by UTF-8 bytes, binaries by unsigned bytes, numbers
numerically. Every component is self-delimiting, so a tuple of components (an index key followed
by the table key) still sorts component by component and any prefix is a valid range bound.

Component layout: one kind byte, then
- S / B: the bytes with 0x00 escaped as 0x00 0xFF, ending in 0x00 0x00;
- N: class (negative 0x01, zero 0x02, positive 0x03), a 2-byte biased exponent and one byte per
  significant digit, ending in a terminator; for negatives exponent and digits are inverted so a
  larger magnitude sorts first.
"""

from __future__ import annotations

import struct
import zlib
from decimal import Decimal

KIND_N = 0x10
KIND_S = 0x20
KIND_B = 0x30

_EXP_BIAS = 1000


def _escape(raw: bytes) -> bytes:
    # find, not ``in``: bytes.__contains__ first tries its argument as an int, and the
    # TypeError it makes and drops cost twice the search (~1k instructions per key part)
    if raw.find(b"\x00") >= 0:
        raw = raw.replace(b"\x00", b"\x00\xff")
    return raw + b"\x00\x00"


def _unescape(buf: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        i = buf.index(b"\x00", pos)
        out += buf[pos:i]
        if buf[i + 1] == 0xFF:
            out.append(0)
            pos = i + 2
        else:
            return bytes(out), i + 2


#: a digit's text -> its byte in a positive number's key (0-9 -> 1-10)
_POSITIVE_DIGITS = bytes.maketrans(b"0123456789", bytes(range(1, 11)))


def encode_number(canonical: str) -> bytes:
    """Order-preserving bytes of a canonical DynamoDB number string."""
    if canonical.isdigit() and canonical.isascii() and canonical[0] != "0":
        # a positive integer, the usual key: the same bytes as below without a Decimal
        # (a third of a GetItem's key encoding); exponent = its digit count - 1
        return (
            b"\x03"
            + (len(canonical) - 1 + _EXP_BIAS).to_bytes(2, "big")
            + canonical.rstrip("0").encode("ascii").translate(_POSITIVE_DIGITS)
            + b"\x00"
        )
    d = Decimal(canonical)
    if not d:
        return b"\x02"
    sign, digits, exp = d.as_tuple()
    # drop trailing zeros of the digit tuple (canonical text has none after the point, but
    # integers like 100 have digits (1,0,0) with exp 0)
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
    adjusted = d.adjusted() + _EXP_BIAS
    if not sign:
        return b"\x03" + struct.pack(">H", adjusted) + bytes(x + 1 for x in digits[:n]) + b"\x00"
    return b"\x01" + struct.pack(">H", 0xFFFF - adjusted) + bytes(10 - x for x in digits[:n]) + b"\xff"


def decode_number(buf: bytes, pos: int) -> tuple[str, int]:
    from ..dynamodb.numbers import to_text  # local: storage stays free of service imports at load

    cls = buf[pos]
    if cls == 0x02:
        return "0", pos + 1
    (e,) = struct.unpack_from(">H", buf, pos + 1)
    pos += 3
    digits = []
    if cls == 0x03:
        adjusted = e - _EXP_BIAS
        while buf[pos] != 0x00:
            digits.append(buf[pos] - 1)
            pos += 1
        sign = 0
    else:
        adjusted = (0xFFFF - e) - _EXP_BIAS
        while buf[pos] != 0xFF:
            digits.append(10 - buf[pos])
            pos += 1
        sign = 1
    exp = adjusted - len(digits) + 1
    return to_text(Decimal((sign, tuple(digits), exp))), pos + 1


def encode_component(kind: str, value: str | bytes) -> bytes:
    """One key component: kind is 'S', 'N' or 'B'."""
    if kind == "S":
        return b"\x20" + _escape(value.encode("utf-8"))  # type: ignore[union-attr]
    if kind == "N":
        return b"\x10" + encode_number(value)  # type: ignore[arg-type]
    return b"\x30" + _escape(value)  # type: ignore[arg-type]


def decode_component(buf: bytes, pos: int) -> tuple[str, str | bytes, int]:
    kind = buf[pos]
    if kind == KIND_S:
        raw, pos = _unescape(buf, pos + 1)
        return "S", raw.decode("utf-8"), pos
    if kind == KIND_N:
        text, pos = decode_number(buf, pos + 1)
        return "N", text, pos
    raw, pos = _unescape(buf, pos + 1)
    return "B", raw, pos


def encode_tuple(parts: list[tuple[str, str | bytes]]) -> bytes:
    return b"".join(encode_component(k, v) for k, v in parts)


def decode_tuple(
    buf: bytes, pos: int = 0, count: int | None = None
) -> tuple[list[tuple[str, str | bytes]], int]:
    out: list[tuple[str, str | bytes]] = []
    while pos < len(buf) and (count is None or len(out) < count):
        kind, value, pos = decode_component(buf, pos)
        out.append((kind, value))
    return out, pos


def bucket(encoded_partition: bytes) -> bytes:
    """Two bytes spreading partitions over the keyspace, like DynamoDB's hashed partitions.

    Scans walk tables in bucket order (as DynamoDB walks in hash order), and parallel-scan
    segments are bucket ranges.
    """
    return (zlib.crc32(encoded_partition) & 0xFFFF).to_bytes(2, "big")


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix``."""
    b = bytearray(prefix)
    while b:
        if b[-1] != 0xFF:
            b[-1] += 1
            return bytes(b)
        b.pop()
    return b"\xff" * 16
