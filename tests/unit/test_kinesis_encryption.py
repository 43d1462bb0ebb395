"""Record sealing (AES-256-GCM) and the consumer ARN format."""

from __future__ import annotations

import os

import pytest

from tidestream.errors import AwsError
from tidestream.kinesis.consumers import consumer_arn, parse_consumer_arn
from tidestream.kinesis.encryption import RecordCipher, is_sealed, load_or_create


def test_seal_open_round_trip_and_binding(tmp_path):
    c = RecordCipher(str(tmp_path / "k"))
    key = b"\x03" + b"\x00" * 15 + b"\x01"
    sealed = c.seal(key, 1234, b"pk", b"secret data")
    assert is_sealed(sealed) and b"secret" not in sealed and b"pk" not in sealed[10:]
    assert int.from_bytes(sealed[:8], "little") == 1234  # arrival time stays readable
    assert c.open(key, sealed) == (b"pk", b"secret data")
    with pytest.raises(AwsError):  # bound to its storage key
        c.open(key[:-1] + b"\x02", sealed)
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o600
    assert RecordCipher(str(tmp_path / "k")).open(key, sealed) == (b"pk", b"secret data")


def test_key_formats(tmp_path):
    raw = os.urandom(32)
    for i, text in enumerate([raw, raw.hex().encode(), __import__("base64").b64encode(raw)]):
        p = tmp_path / f"k{i}"
        p.write_bytes(text)
        assert load_or_create(str(p)) == raw
    (tmp_path / "bad").write_bytes(b"short")
    with pytest.raises(ValueError):
        load_or_create(str(tmp_path / "bad"))


def test_consumer_arn():
    arn = consumer_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/my-stream", "app:v2", 1700000000123)
    assert arn == "arn:aws:kinesis:eu-west-1:123456789012:stream/my-stream/consumer/app:v2:1700000000"
    assert parse_consumer_arn(arn) == ("123456789012", "eu-west-1", "my-stream", "app:v2", 1700000000)
    assert parse_consumer_arn("arn:aws:kinesis:eu-west-1:1:stream/s") is None
