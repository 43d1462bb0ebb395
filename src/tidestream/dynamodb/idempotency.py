"""ClientRequestToken: a transaction repeated with the same token (within 10 minutes) is answered
from memory instead of running again; the same token with other parameters is refused.

boto3 and the other SDKs put a fresh token on *every* TransactWriteItems, so this is on the hot
path: tokens expire in arrival order (O(1) each), requests are remembered by a 16-byte digest
rather than their text, and at most :data:`MAX_TOKENS` are kept (the oldest go first).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import Any

import orjson

from ..errors import IdempotentParameterMismatchException

TOKEN_TTL = 600.0
MAX_TOKENS = 100_000


def fingerprint(kind: str, request: Any) -> bytes:
    """A digest of the parts of a request that must match for a repeat to count as one."""
    raw = orjson.dumps([kind, request], option=orjson.OPT_SORT_KEYS, default=repr)
    return hashlib.blake2b(raw, digest_size=16).digest()


class Tokens:
    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[str, str], tuple[bytes, dict, float]] = OrderedDict()

    def clear(self) -> None:
        self._seen.clear()

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen:
            key, (_, _, expires) = next(iter(seen.items()))
            if expires >= now and len(seen) <= MAX_TOKENS:
                return
            seen.popitem(last=False)

    def replay(self, account: str, token: str, digest: bytes) -> dict | None:
        """The remembered answer for a repeat, None for a new token; mismatches raise."""
        self._expire(time.time())
        seen = self._seen.get((account, token))
        if seen is None:
            return None
        if seen[0] != digest:
            raise IdempotentParameterMismatchException(
                "Request has a different parameters than original request with the same client request token"
            )
        return seen[1]

    def remember(self, account: str, token: str, digest: bytes, answer: dict) -> None:
        self._seen[(account, token)] = (digest, answer, time.time() + TOKEN_TTL)
