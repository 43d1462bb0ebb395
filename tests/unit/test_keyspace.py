"""The keyspace map: no two services share key bytes, and the docs show every prefix."""

from __future__ import annotations

import pathlib

from tidestream.dynamodb.state import DynamoState
from tidestream.dynamodb.tables import Table
from tidestream.lambda_.functions import CODE_PREFIX, function_key
from tidestream.storage import keyspace
from tidestream.storage.engine import RocksEngine

ARCHITECTURE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _ancestors(entry: keyspace.KeyPrefix) -> set[bytes]:
    by_prefix = {e.prefix: e for e in keyspace.REGISTRY}
    found: set[bytes] = set()
    while entry.parent is not None:
        found.add(entry.parent)
        entry = by_prefix[entry.parent]
    return found


def test_no_prefix_overlaps_another_unless_nested():
    for outer in keyspace.REGISTRY:
        for inner in keyspace.REGISTRY:
            if inner is outer or not inner.prefix.startswith(outer.prefix):
                continue
            assert outer.prefix in _ancestors(inner), f"{inner.name} lies inside {outer.name} undeclared"


def test_registry_names_and_prefixes_are_unique_and_match_the_constants():
    assert len({e.prefix for e in keyspace.REGISTRY}) == len(keyspace.REGISTRY)
    for entry in keyspace.REGISTRY:
        assert getattr(keyspace, entry.name) == entry.prefix
        if entry.parent is not None:
            assert entry.parent in {e.prefix for e in keyspace.REGISTRY}


def test_lambda_keeps_mapping_prefixes_reserved():
    reserved = {e.prefix: e.parent for e in keyspace.REGISTRY}
    assert reserved[b"\x07M"] == keyspace.LAMBDA
    assert reserved[b"\x07P"] == keyspace.LAMBDA


def test_architecture_doc_lists_every_prefix():
    text = ARCHITECTURE.read_text()
    for entry in keyspace.REGISTRY:
        shown = "`" + "".join(chr(b) if 0x20 < b < 0x7F else f"\\x{b:02x}" for b in entry.prefix) + "`"
        assert f"| {shown} |" in text, f"{entry.name} ({shown}) missing from the keyspace map"


def test_deleting_a_backup_never_touches_lambda_keys():
    """Format 1 kept backup items under \\x07 + uid: a backup whose uid's first byte is ``F``
    (0x46, uid >= 1,174,405,120) covered Lambda's ``\\x07F<account>...`` function keys, so
    DeleteBackup erased functions. Backup items now have their own prefix."""
    engine = RocksEngine(None, in_memory=True)
    state = DynamoState(engine)
    table = Table(
        account="000000000000",
        region="us-east-1",
        name="tbl",
        uid=state.catalog.new_uid(),
        table_id="id",
        key_schema=[("pk", "HASH")],
        attribute_types={"pk": "S"},
        attribute_order=["pk"],
        created=0.0,
    )
    state.catalog.put(table)
    lambda_keys = [
        function_key("000000000000", "us-east-1", "fn"),
        CODE_PREFIX + b"000000000000/us-east-1/fn",
    ]
    engine.write([(key, b"{}") for key in lambda_keys])
    state.catalog._next_uid = int.from_bytes(b"F000", "big")  # the uid reached its first 'F'
    backup = state.backups.create(table, "b", 1.0)
    state.backups.delete(backup)
    assert [engine.get(key) for key in lambda_keys] == [b"{}", b"{}"]
