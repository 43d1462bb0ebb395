"""DynamoDB Streams edge cases, each as AWS answers it.

Sources:
- ScyllaDB Alternator's ``test/alternator/test_streams.py`` (run against DynamoDB):
  ``test_list_streams_too_high_limit`` (Limit above 100 is a ValidationException),
  ``test_list_streams_with_nonexistent_last_stream`` (a malformed ExclusiveStartStreamArn is a
  ValidationException), ``test_streams_disable_on_disabled``.
- ack-api-quirks DynamoDB finding DDB-TABLE-050 (verified against AWS 2026-10-09): disabling a
  table's stream twice answers "Table has no stream to disable: TableName: <name>";
  DescribeTable then has no StreamSpecification but keeps LatestStreamArn/LatestStreamLabel,
  and re-enabling mints a new ARN while the old stream stays DISABLED.
- AWS's member-constraint envelope for the 1..100 range (the model documents "The upper limit is
  100"; the message follows GetRecords' recorded "less than or equal to 1000").
- An UpdateItem whose only action is REMOVE on an item that does not exist creates nothing on
  AWS (the item stays absent: ReturnValues ALL_NEW answers no Attributes), so nothing is
  recorded in the stream (AWS writes a record only for a change to an item).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _err(e) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def _table(ddb, name: str, stream: bool = True) -> dict:
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **(spec if stream else {}),
    )["TableDescription"]


def _records(st, arn: str) -> list[dict]:
    shard = st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return st.get_records(ShardIterator=it["ShardIterator"])["Records"]


def test_list_streams_limit_is_1_to_100(srv):
    ddb, st = srv.client("dynamodb"), srv.client("dynamodbstreams")
    _table(ddb, "lim")
    assert len(st.list_streams(Limit=100)["Streams"]) == 1
    for limit in (101, 100000):
        with pytest.raises(ClientError) as e:
            st.list_streams(Limit=limit)
        assert _err(e) == (
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100",
        )


def test_list_streams_malformed_start_arn(srv):
    ddb, st = srv.client("dynamodb"), srv.client("dynamodbstreams")
    arn = _table(ddb, "start")["LatestStreamArn"]
    with pytest.raises(ClientError) as e:
        st.list_streams(
            TableName="start", ExclusiveStartStreamArn="kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas"
        )
    assert _err(e) == ("ValidationException", "Invalid StreamArn")
    # a well-formed ARN that names no stream pages on from where it would sort
    gone = arn.replace("table/start/", "table/a-gone/")
    assert [s["StreamArn"] for s in st.list_streams(ExclusiveStartStreamArn=gone)["Streams"]] == [arn]


def test_disabling_a_stream_the_table_does_not_have(srv):
    ddb = srv.client("dynamodb")
    _table(ddb, "never", stream=False)
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="never", StreamSpecification={"StreamEnabled": False})
    assert _err(e) == ("ValidationException", "Table has no stream to disable: TableName: never")
    first = _table(ddb, "twice")
    ddb.update_table(TableName="twice", StreamSpecification={"StreamEnabled": False})
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="twice", StreamSpecification={"StreamEnabled": False})
    assert _err(e) == ("ValidationException", "Table has no stream to disable: TableName: twice")
    t = ddb.describe_table(TableName="twice")["Table"]
    assert "StreamSpecification" not in t
    assert (t["LatestStreamArn"], t["LatestStreamLabel"]) == (
        first["LatestStreamArn"],
        first["LatestStreamLabel"],
    )


def test_reenabled_stream_has_a_new_label(srv):
    ddb, st = srv.client("dynamodb"), srv.client("dynamodbstreams")
    first = _table(ddb, "again")
    ddb.update_table(TableName="again", StreamSpecification={"StreamEnabled": False})
    second = ddb.update_table(
        TableName="again", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )["TableDescription"]
    assert second["LatestStreamLabel"] != first["LatestStreamLabel"]
    assert second["LatestStreamArn"].endswith("/stream/" + second["LatestStreamLabel"])
    t = ddb.describe_table(TableName="again")["Table"]
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert (t["LatestStreamArn"], t["LatestStreamLabel"]) == (
        second["LatestStreamArn"],
        second["LatestStreamLabel"],
    )
    labels = {s["StreamLabel"]: s["StreamArn"] for s in st.list_streams(TableName="again")["Streams"]}
    assert labels == {
        first["LatestStreamLabel"]: first["LatestStreamArn"],
        second["LatestStreamLabel"]: second["LatestStreamArn"],
    }


def test_update_that_changes_nothing_on_a_missing_item_records_nothing(srv):
    ddb, st = srv.client("dynamodb"), srv.client("dynamodbstreams")
    arn = _table(ddb, "noop")["LatestStreamArn"]
    r = ddb.update_item(
        TableName="noop", Key={"id": {"S": "gone"}}, UpdateExpression="REMOVE a, b", ReturnValues="ALL_NEW"
    )
    assert "Attributes" not in r
    assert "Item" not in ddb.get_item(TableName="noop", Key={"id": {"S": "gone"}}, ConsistentRead=True)
    # a DELETE from a set on a missing item changes nothing either
    ddb.update_item(
        TableName="noop",
        Key={"id": {"S": "gone"}},
        UpdateExpression="DELETE s :v",
        ExpressionAttributeValues={":v": {"SS": ["x"]}},
    )
    assert "Item" not in ddb.get_item(TableName="noop", Key={"id": {"S": "gone"}}, ConsistentRead=True)
    ddb.put_item(TableName="noop", Item={"id": {"S": "marker"}})
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in _records(st, arn)] == ["marker"]


def test_stream_of_a_table_deleted_unseen_stays_listed(srv):
    """ack-api-quirks' DynamoDB streams rules (findings verified against AWS 2026-10-08/09): old
    streams stay listable as DISABLED even after DeleteTable; here one nothing read or wrote."""
    ddb, st = srv.client("dynamodb"), srv.client("dynamodbstreams")
    arn = _table(ddb, "dropped")["LatestStreamArn"]
    ddb.delete_table(TableName="dropped")
    assert [s["StreamArn"] for s in st.list_streams(TableName="dropped")["Streams"]] == [arn]
    assert st.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
