"""ClientRequestToken memory: replays, mismatches, expiry in order, and a size cap."""

from __future__ import annotations

import pytest

from tidestream.dynamodb import idempotency
from tidestream.dynamodb.idempotency import Tokens, fingerprint
from tidestream.errors import IdempotentParameterMismatchException


def test_replay_and_mismatch():
    t = Tokens()
    d = fingerprint("TransactWriteItems", [{"Put": {"TableName": "t"}}])
    assert t.replay("acct", "tok", d) is None
    t.remember("acct", "tok", d, {"ok": 1})
    assert t.replay("acct", "tok", d) == {"ok": 1}
    assert t.replay("other-account", "tok", d) is None
    with pytest.raises(IdempotentParameterMismatchException):
        t.replay("acct", "tok", fingerprint("TransactWriteItems", [{"Put": {"TableName": "u"}}]))


def test_expiry_and_cap(monkeypatch):
    t = Tokens()
    now = [1000.0]
    monkeypatch.setattr(idempotency.time, "time", lambda: now[0])
    t.remember("a", "old", b"x", {})
    now[0] += idempotency.TOKEN_TTL + 1
    t.remember("a", "new", b"y", {})
    assert t.replay("a", "old", b"x") is None and t.replay("a", "new", b"y") == {}
    monkeypatch.setattr(idempotency, "MAX_TOKENS", 10)
    for i in range(50):
        t.remember("a", f"t{i}", b"z", {})
    t.replay("a", "t49", b"z")
    assert len(t._seen) <= 10
