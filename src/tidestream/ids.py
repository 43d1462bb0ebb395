"""Fast identifiers (request ids, change event ids).

``uuid.uuid4()`` reads the OS entropy source on every call, which costs ~17 µs here and showed
up as the largest single cost of a PutItem with change capture. These ids need uniqueness, not
secrecy, so they come from Python's PRNG (seeded from the OS once per process).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from itertools import count

_rand = random.Random()
_bits = _rand.getrandbits


#: the version (4) and variant (10) bits of a UUID, as masks folded once
_UUID4_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def uuid4_text() -> str:
    """A version-4 UUID string (lower-case, dashed), like ``str(uuid.uuid4())``."""
    h = "%032x" % (_bits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hex128() -> str:
    """32 random lower-case hex characters (DynamoDB Streams event ids look like this)."""
    return "%032x" % _bits(128)


def _event_id_source() -> tuple[str, Iterator[int]]:
    """A random UUID's first 20 hex digits (version and variant bits set) and a counter for the
    last 12, started at random: unique within the process, and across processes as unlikely
    to collide as two random 74-bit numbers."""
    return uuid4_text()[:24], count(_bits(48))


_event_prefix, _event_counter = _event_id_source()


def _reseed_event_ids() -> None:
    """A forked child must not hand out its parent's ids."""
    global _event_prefix, _event_counter
    _rand.seed()
    _event_prefix, _event_counter = _event_id_source()


os.register_at_fork(after_in_child=_reseed_event_ids)


def event_id() -> str:
    """A change record's eventID, and a request's id: shaped like a version-4 UUID, as AWS's
    are, but counted rather than drawn (a third of :func:`uuid4_text`'s cost, paid per change
    and per request)."""
    return "%s%012x" % (_event_prefix, next(_event_counter) & 0xFFFF_FFFF_FFFF)
