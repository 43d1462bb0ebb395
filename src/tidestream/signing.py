"""Tamper-proof opaque tokens (shard iterators, NextTokens): an HMAC-SHA256 tag, truncated.

Tokens carry their own position, so the server keeps no state per token; the tag (keyed with a
per-data-dir secret) is what makes a forged or edited token fail instead of reading elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac


def tag(secret: bytes, data: bytes, size: int = 16) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()[:size]


def verify(secret: bytes, data: bytes, mac: bytes) -> bool:
    """Constant-time check that *mac* is the tag of *data*."""
    return hmac.compare_digest(tag(secret, data, len(mac)), mac)
