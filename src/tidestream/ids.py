"""Fast random identifiers (request ids, change event ids).

``uuid.uuid4()`` reads the OS entropy source on every call, which costs ~17 µs here and showed
up as the largest single cost of a PutItem with change capture. These ids need uniqueness, not
secrecy, so they come from Python's PRNG (seeded from the OS once per process).
"""

from __future__ import annotations

import random

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
