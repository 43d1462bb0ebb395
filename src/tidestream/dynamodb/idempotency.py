"""ClientRequestToken: a transaction repeated with the same token (within 10 minutes) is answered
from memory instead of running again; the same token with other parameters is refused.

boto3 and the other SDKs put a fresh token on *every* TransactWriteItems, so this is on the hot
path: tokens expire in arrival order (O(1) each), requests are remembered by a 16-byte digest
rather than their text, and at most :data:`MAX_TOKENS` are kept (the oldest go first).

Several nodes on one database (``--cluster``) share their tokens through the store instead
(:class:`SharedTokens`): the token's record is written in the transaction's own checked commit,
which also checks the token was still unused, so a token retried on another node, even at the
same moment, runs once and is answered the same everywhere.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import cbor2
import orjson

from ..errors import IdempotentParameterMismatchException
from ..storage import keyspace
from ..storage.engine import Engine, Writes

TOKEN_TTL = 600.0
MAX_TOKENS = 100_000
MSG_MISMATCH = "Request has a different parameters than original request with the same client request token"
#: cluster mode: token records are kept under the 10-minute window they were written in, so a
#: token is looked up in two windows and old windows go by one range delete
TOKENS = keyspace.TRANSACTION_TOKENS


@dataclass(slots=True)
class Lookup:
    """A token as a transaction found it: the answer to replay for a repeat (None: new), what
    was asked (account, token, digest: to look again or record it) and, in cluster mode, the
    (key, record) pairs read, which the commit checks are unchanged."""

    answer: dict | None
    asked: tuple[str, str, bytes]
    reads: list[tuple[bytes, Any]] = field(default_factory=list)


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
            raise IdempotentParameterMismatchException(MSG_MISMATCH)
        return seen[1]

    def lookup(self, account: str, token: str, digest: bytes) -> Lookup:
        """:meth:`replay` in the shape both kinds of token memory share."""
        return Lookup(self.replay(account, token, digest), (account, token, digest))

    def record(self, account: str, token: str, digest: bytes, answer: dict) -> Writes:
        """Nothing to commit with the transaction: kept in memory by :meth:`remember`."""
        return ()

    def remember(self, account: str, token: str, digest: bytes, answer: dict) -> None:
        self._seen[(account, token)] = (digest, answer, time.time() + TOKEN_TTL)


def _window(at: float) -> int:
    return int(at // TOKEN_TTL)


class SharedTokens:
    """Tokens in the store, for several nodes on one database (see the module docstring).

    A record is CBOR ``{digest, answer, expires}`` under TOKENS + window (8) + account / token;
    a token written in window w is found by looking in w and w - 1, and windows before w - 1
    are deleted (one range delete per window a node sees begin)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pruned_window = 0

    def clear(self) -> None:
        """Nothing in memory (the admin reset empties the store itself)."""

    @staticmethod
    def _key(window: int, account: str, token: str) -> bytes:
        return TOKENS + struct.pack(">Q", window) + f"{account}/{token}".encode()

    def lookup(self, account: str, token: str, digest: bytes) -> Lookup:
        """The remembered answer of a repeat (mismatches raise), and what was read."""
        now = time.time()
        found = Lookup(None, (account, token, digest))
        for window in (_window(now), _window(now) - 1):
            key = self._key(window, account, token)
            raw = self.engine.get(key)
            record = None if raw is None else cbor2.loads(raw)
            found.reads.append((key, record))
            if record is None or record["expires"] < now:
                continue
            if record["digest"] != digest:
                raise IdempotentParameterMismatchException(MSG_MISMATCH)
            found.answer = record["answer"]
        return found

    def record(self, account: str, token: str, digest: bytes, answer: dict) -> Writes:
        """The token's record, to be written in the transaction's own commit."""
        now = time.time()
        self._prune(_window(now))
        record = {"digest": digest, "answer": answer, "expires": now + TOKEN_TTL}
        return [(self._key(_window(now), account, token), cbor2.dumps(record))]

    def remember(self, account: str, token: str, digest: bytes, answer: dict) -> None:
        """Nothing: :meth:`record`'s write was committed with the transaction."""

    def _prune(self, window: int) -> None:
        """Records of windows before the previous one have expired: dropped once per window."""
        if window > self._pruned_window:
            self._pruned_window = window
            self.engine.delete_range(TOKENS, TOKENS + struct.pack(">Q", window - 1))
