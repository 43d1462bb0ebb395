"""Crash safety: SIGKILL the server during writes; every acknowledged write survives restart."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import start_server


def _writer(client, prefix: str, acked: list, stop: threading.Event) -> None:
    i = 0
    while not stop.is_set():
        key = f"{prefix}-{i}"
        try:
            client.put_item(TableName="crash", Item={"pk": {"S": key}, "v": {"N": str(i)}})
        except (BotoCoreError, ClientError, OSError):
            return
        acked.append((key, i))
        i += 1


@pytest.mark.slow
def test_sigkill_during_writes_loses_nothing_acknowledged(tmp_path):
    s = start_server(tmp_path)  # strict durability (the default)
    ddb = s.client()
    ddb.create_table(
        TableName="crash",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    acked: list[list] = [[] for _ in range(4)]
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(s.client(), f"w{n}", acked[n], stop)) for n in range(4)]
    for t in threads:
        t.start()
    while sum(map(len, acked)) < 400:
        threading.Event().wait(0.01)
    s.kill()
    stop.set()
    for t in threads:
        t.join(10)
    s2 = start_server(tmp_path)
    try:
        ddb = s2.client()
        for writes in acked:
            for key, i in writes:
                item = ddb.get_item(TableName="crash", Key={"pk": {"S": key}}, ConsistentRead=True).get(
                    "Item"
                )
                assert item == {"pk": {"S": key}, "v": {"N": str(i)}}, key
        total = sum(map(len, acked))
        count = ddb.describe_table(TableName="crash")["Table"]["ItemCount"]
        assert count >= total  # in-flight writes may have landed too
    finally:
        s2.stop()


def test_restart_keeps_tables_items_and_settings(tmp_path):
    s = start_server(tmp_path)
    ddb = s.client()
    ddb.create_table(
        TableName="keep",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "k", "Value": "v"}],
    )
    ddb.update_time_to_live(
        TableName="keep", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    ddb.put_item(TableName="keep", Item={"pk": {"S": "a"}, "n": {"N": "1.50"}})
    assert s.stop() == 0
    s2 = start_server(tmp_path)
    try:
        ddb = s2.client()
        t = ddb.describe_table(TableName="keep")["Table"]
        assert t["ItemCount"] == 1
        assert ddb.get_item(TableName="keep", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1.5"}
        assert (
            ddb.describe_time_to_live(TableName="keep")["TimeToLiveDescription"]["TimeToLiveStatus"]
            == "ENABLED"
        )
        assert ddb.list_tags_of_resource(ResourceArn=t["TableArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
    finally:
        s2.stop()
