"""Tamper-proof opaque tokens (shard iterators, NextTokens): an HMAC-SHA256 tag, truncated.

Tokens carry their own position, so the server keeps no state per token; the tag (keyed with a
per-data-dir secret) is what makes a forged or edited token fail instead of reading elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from .storage.engine import WriteConflict


def tag(secret: bytes, data: bytes, size: int = 16) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()[:size]


def verify(secret: bytes, data: bytes, mac: bytes) -> bool:
    """Constant-time check that *mac* is the tag of *data*."""
    return hmac.compare_digest(tag(secret, data, len(mac)), mac)


def stored_secret(engine: Any, key: bytes, known: bytes = b"") -> bytes:
    """The signing secret kept at ``key``, made on first start. Cluster nodes share it (a token
    from one node opens on any other): a new one is written only if the row is still absent
    (the first node's wins), and after a reset, which wipes the row while every node still
    holds the one key they share, ``known`` is written back rather than a new one, so no node
    is left with a key the others lack."""
    secret = engine.get(key)
    if secret is not None:
        return secret
    if not getattr(engine, "cluster", False):
        secret = os.urandom(32)
        engine.write([(key, secret)])
        return secret
    secret = known or os.urandom(32)
    try:
        engine.write_checked([(key, secret)], [key], lambda values: values[0] is None)
    except WriteConflict:  # another node made it first
        secret = engine.get(key)
        assert secret is not None
    return secret
