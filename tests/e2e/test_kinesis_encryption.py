"""Encryption at rest: records written while a stream's encryption is on are stored AES-256-GCM
encrypted (checked in the raw RocksDB store), and every record stays readable."""

from __future__ import annotations

import os
import stat

import pytest
from botocore.exceptions import ClientError

from ..conftest import start_server

SHARD0 = "shardId-000000000000"


def read_all(kin, name: str = "s") -> list[dict]:
    it = kin.get_shard_iterator(StreamName=name, ShardId=SHARD0, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    return kin.get_records(ShardIterator=it)["Records"]


def raw_values(store: str) -> list[bytes]:
    from rocksdict import AccessType, Options, Rdict

    db = Rdict(store, Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        return [v for _, v in db.items()]
    finally:
        db.close()


def raw_files(store: str) -> bytes:
    out = []
    for name in os.listdir(store):
        with open(os.path.join(store, name), "rb") as f:
            out.append(f.read())
    return b"".join(out)


def test_records_encrypted_at_rest(tmp_path):
    srv = start_server(tmp_path, "--durability", "strict")
    try:
        kin = srv.client("kinesis")
        kin.create_stream(StreamName="s", ShardCount=1)
        kin.put_record(StreamName="s", Data=b"PLAIN-before-encryption", PartitionKey="pk-plain")
        kin.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        assert (
            kin.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["EncryptionType"] == "KMS"
        )
        r = kin.put_record(StreamName="s", Data=b"TOPSECRET-single", PartitionKey="pk-secret")
        assert r["EncryptionType"] == "KMS"
        out = kin.put_records(
            StreamName="s",
            Records=[{"Data": b"TOPSECRET-batch-%d" % i, "PartitionKey": "pk-secret"} for i in range(3)],
        )
        assert out["FailedRecordCount"] == 0 and out["EncryptionType"] == "KMS"
        recs = read_all(kin)
        assert [x["Data"] for x in recs] == [b"PLAIN-before-encryption", b"TOPSECRET-single"] + [
            b"TOPSECRET-batch-%d" % i for i in range(3)
        ]
        assert "EncryptionType" not in recs[0] or recs[0]["EncryptionType"] == "NONE"
        assert all(x["EncryptionType"] == "KMS" for x in recs[1:])
        assert recs[1]["PartitionKey"] == "pk-secret"
        key_file = tmp_path / "data" / "kinesis-kms.key"
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        # after StopStreamEncryption new records are plain again; old ones stay readable
        kin.stop_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        kin.put_record(StreamName="s", Data=b"PLAIN-after", PartitionKey="pk-plain")
        assert len(read_all(kin)) == 6
    finally:
        assert srv.stop() == 0
    store = str(tmp_path / "data" / "store")
    values = b"\n".join(raw_values(store))
    assert b"PLAIN-before-encryption" in values and b"PLAIN-after" in values  # the scan sees data
    assert b"TOPSECRET" not in values and b"pk-secret" not in values
    assert b"TOPSECRET" not in raw_files(store)  # nor in the WAL or table files
    # restart: the key comes back from the data dir and the records decrypt
    srv = start_server(tmp_path, "--durability", "relaxed")
    try:
        recs = read_all(srv.client("kinesis"))
        assert [x["Data"] for x in recs][1] == b"TOPSECRET-single" and len(recs) == 6
    finally:
        srv.stop()


def test_key_file_option(tmp_path):
    key_file = tmp_path / "my.key"
    key_file.write_text(os.urandom(32).hex())
    srv = start_server(tmp_path, "--kms-key-file", str(key_file), "--durability", "relaxed")
    try:
        kin = srv.client("kinesis")
        kin.create_stream(StreamName="s", ShardCount=1)
        kin.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="my-key")
        kin.put_record(StreamName="s", Data=b"with-given-key", PartitionKey="p")
        assert read_all(kin)[0]["Data"] == b"with-given-key"
    finally:
        srv.stop()
    assert not (tmp_path / "data" / "kinesis-kms.key").exists()
    # another key cannot open the records: a clear KMS error, not garbage and not a crash
    key_file.write_text(os.urandom(32).hex())
    srv = start_server(tmp_path, "--kms-key-file", str(key_file), "--durability", "relaxed")
    try:
        with pytest.raises(ClientError) as e:
            read_all(srv.client("kinesis"))
        assert e.value.response["Error"]["Code"] == "KMSInvalidStateException"
    finally:
        srv.stop()
