"""Sequence numbers: 56-digit decimal strings that locate a record without any lookup.

Layout (an integer in ``[2**185, 2**186)``, so its decimal form always has 56 digits, like AWS's):

====== ======== =================================================================
bits   field    why
====== ======== =================================================================
1      marker   the leading 1 at bit 185 fixes the length at 56 digits
4      version  room to change the layout later (currently 1)
32     stream   the stream's storage id: "did not come from this stream" is exact
32     shard    the shard index: a number names its shard, children sort after parents
64     counter  per-shard position, strictly increasing; also the storage key suffix
48     time     arrival time in epoch milliseconds (informative only)
5      spare    zero
====== ======== =================================================================

Ordering: within a shard only the counter varies among the high fields, so numbers are
strictly increasing per shard. A child shard always has a higher index than its parents, so
its numbers are greater than every parent number (``SequenceNumberForOrdering`` holds across
resharding by construction).
"""

from __future__ import annotations

from typing import NamedTuple

VERSION = 1
_MARK = 1 << 185
_MIN = _MARK
_MAX = (1 << 186) - 1
COUNTER_MAX = (1 << 64) - 1
_SHIFT_VERSION = 181
_SHIFT_STREAM = 149
_SHIFT_SHARD = 117
_SHIFT_COUNTER = 53
_SHIFT_TIME = 5
_TIME_MASK = (1 << 48) - 1


class Decoded(NamedTuple):
    stream_id: int
    shard_index: int
    counter: int
    time_ms: int


def shard_base(stream_id: int, shard_index: int) -> int:
    """The constant high part shared by every sequence number of one shard."""
    return _MARK | (VERSION << _SHIFT_VERSION) | (stream_id << _SHIFT_STREAM) | (shard_index << _SHIFT_SHARD)


def make(base: int, counter: int, time_ms: int) -> str:
    """The decimal sequence number of record *counter* of the shard with *base*."""
    return str(base | (counter << _SHIFT_COUNTER) | ((time_ms & _TIME_MASK) << _SHIFT_TIME))


def parse(text: str) -> Decoded | None:
    """Decode a sequence number; None when it is not one of ours (wrong length/version)."""
    if not isinstance(text, str) or not text.isdigit() or len(text) != 56:
        return None
    n = int(text)
    if not _MIN <= n <= _MAX or (n >> _SHIFT_VERSION) & 0xF != VERSION:
        return None
    return Decoded(
        (n >> _SHIFT_STREAM) & 0xFFFFFFFF,
        (n >> _SHIFT_SHARD) & 0xFFFFFFFF,
        (n >> _SHIFT_COUNTER) & COUNTER_MAX,
        (n >> _SHIFT_TIME) & _TIME_MASK,
    )


def valid_syntax(text: str) -> bool:
    """AWS's model pattern for sequence numbers (``0|([1-9]\\d{0,128})``)."""
    return isinstance(text, str) and text.isdigit() and (text == "0" or text[0] != "0") and len(text) <= 129
