"""Every write of a DynamoDB commit goes in its one engine batch (issue 10).

The server is wired by ``runtime.Server.build`` as in production; only the engine is a
subclass of the real RocksEngine that counts its ``write`` calls (the writes themselves are
done by RocksDB), so a commit that issued a second write of its own is seen.
"""

from __future__ import annotations

import pytest

from tidestream.config import Config
from tidestream.context import RequestContext
from tidestream.dynamodb.operations import REGISTRY as DYNAMODB_OPERATIONS
from tidestream.kinesis.operations import REGISTRY as KINESIS_OPERATIONS
from tidestream.runtime import Server
from tidestream.storage.engine import RocksEngine, StorageError, Writes

CTX = RequestContext("000000000000", "us-east-1", "r")
STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/changes"


class CountingEngine(RocksEngine):
    """A real in-memory RocksEngine that counts its write batches and can refuse the next one."""

    def __init__(self) -> None:
        super().__init__(None, in_memory=True)
        self.batches: list[list[bytes]] = []
        self.refuse_next = False

    def write(self, writes: Writes) -> None:
        if self.refuse_next:
            self.refuse_next = False
            raise StorageError("refused by the test")
        self.batches.append([key for key, _ in writes])
        super().write(writes)


class CountingServer(Server):
    def _open_engine(self) -> RocksEngine:
        return CountingEngine()


@pytest.fixture
def wired():
    server = CountingServer(Config(in_memory=True, status_delay=0.0, console=False))
    server.build()
    ddb = DYNAMODB_OPERATIONS.bind(server.dynamodb)
    kinesis = KINESIS_OPERATIONS.bind(server.kinesis)
    kinesis["CreateStream"](CTX, {"StreamName": "changes", "ShardCount": 1})
    ddb["CreateTable"](
        CTX,
        {
            "TableName": "orders",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    ddb["EnableKinesisStreamingDestination"](CTX, {"TableName": "orders", "StreamArn": STREAM_ARN})
    engine = server.engine
    assert isinstance(engine, CountingEngine)
    yield server, ddb, engine
    engine.close()


def _put(ddb, key: str) -> None:
    ddb["PutItem"](CTX, {"TableName": "orders", "Item": {"id": {"S": key}, "n": {"N": "1"}}})


def test_first_put_is_one_batch_with_stream_metadata_and_settled_destination(wired):
    server, ddb, engine = wired
    engine.batches.clear()
    _put(ddb, "a")  # opens the DynamoDB stream and settles the ENABLING destination
    assert len(engine.batches) == 1
    prefixes = {key[:2] for key in engine.batches[0]}
    # the item, the DynamoDB stream's metadata and record, the table definition, the outbox entry
    assert {b"\x06M", b"\x06R", b"\x00T"} <= prefixes
    assert any(key[:1] == b"\x01" for key in engine.batches[0])
    assert any(key[:1] == b"\x04" for key in engine.batches[0])
    engine.batches.clear()
    _put(ddb, "b")
    assert len(engine.batches) == 1


def test_a_refused_first_put_leaves_no_stream_behind(wired):
    server, ddb, engine = wired
    engine.refuse_next = True
    with pytest.raises(StorageError):
        _put(ddb, "a")
    assert server.streams.streams == {}  # the stream the refused batch would have opened
    _put(ddb, "a")
    (stream,) = server.streams.streams.values()
    # the stream the next commit opened is on disk: a reload finds it
    server.streams.reload()
    assert [m.id for m in server.streams.streams.values()] == [stream.id]
