"""BatchGetItem, BatchWriteItem, TransactWriteItems, TransactGetItems through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table


def test_batch_write_and_get(ddb):
    make_table(ddb, "aaa")
    make_table(ddb, "bbb")
    ddb.batch_write_item(
        RequestItems={
            "aaa": [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(10)],
            "bbb": [{"PutRequest": {"Item": {"pk": {"S": "only"}}}}],
        }
    )
    r = ddb.batch_get_item(
        RequestItems={
            "aaa": {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(12)]},
            "bbb": {"Keys": [{"pk": {"S": "only"}}], "ProjectionExpression": "pk"},
        }
    )
    assert len(r["Responses"]["aaa"]) == 10 and r["Responses"]["bbb"] == [{"pk": {"S": "only"}}]
    assert r["UnprocessedKeys"] == {}
    ddb.batch_write_item(
        RequestItems={"aaa": [{"DeleteRequest": {"Key": {"pk": {"S": f"k{i}"}}}} for i in range(5)]}
    )
    assert ddb.scan(TableName="aaa")["Count"] == 5


def test_batch_errors(ddb):
    make_table(ddb, "aaa")
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(
            RequestItems={
                "aaa": [
                    {"PutRequest": {"Item": {"pk": {"S": "x"}}}},
                    {"PutRequest": {"Item": {"pk": {"S": "x"}}}},
                ]
            }
        )
    assert e.value.response["Error"]["Message"] == "Provided list of item keys contains duplicates"
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={"missing": [{"PutRequest": {"Item": {"pk": {"S": "x"}}}}]})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.batch_get_item(RequestItems={"aaa": {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(101)]}})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    # nothing was written by the rejected batches
    assert ddb.scan(TableName="aaa")["Count"] == 0


def test_transact_write_commits_all_or_nothing(ddb):
    make_table(ddb, "acct")
    ddb.put_item(TableName="acct", Item={"pk": {"S": "alice"}, "bal": {"N": "100"}})
    ddb.put_item(TableName="acct", Item={"pk": {"S": "bob"}, "bal": {"N": "0"}})

    def transfer(amount: int):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "acct",
                        "Key": {"pk": {"S": "alice"}},
                        "UpdateExpression": "SET bal = bal - :a",
                        "ConditionExpression": "bal >= :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                    }
                },
                {
                    "Update": {
                        "TableName": "acct",
                        "Key": {"pk": {"S": "bob"}},
                        "UpdateExpression": "SET bal = bal + :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                    }
                },
                {"Put": {"TableName": "acct", "Item": {"pk": {"S": f"log-{amount}"}}}},
            ]
        )

    transfer(60)
    with pytest.raises(ClientError) as e:
        transfer(60)
    err = e.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert err["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific "
        "reasons [ConditionalCheckFailed, None, None]"
    )
    assert [r["Code"] for r in err["CancellationReasons"]] == ["ConditionalCheckFailed", "None", "None"]
    bal = lambda who: ddb.get_item(TableName="acct", Key={"pk": {"S": who}})["Item"]["bal"]["N"]  # noqa: E731
    assert (bal("alice"), bal("bob")) == ("40", "60")
    assert ddb.scan(TableName="acct", Select="COUNT")["Count"] == 3


def test_transact_duplicate_item_and_idempotency(ddb):
    make_table(ddb, "tbl")
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "x"}}}},
                {"Delete": {"TableName": "tbl", "Key": {"pk": {"S": "x"}}}},
            ]
        )
    assert (
        e.value.response["Error"]["Message"]
        == "Transaction request cannot include multiple operations on one item"
    )
    items = [
        {
            "Update": {
                "TableName": "tbl",
                "Key": {"pk": {"S": "c"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
    assert ddb.get_item(TableName="tbl", Key={"pk": {"S": "c"}})["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "tbl", "Item": {"pk": {"S": "z"}}}}],
            ClientRequestToken="tok-1",
        )
    assert e.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_transact_get(ddb):
    make_table(ddb, "tbl")
    ddb.put_item(TableName="tbl", Item={"pk": {"S": "a"}, "v": {"S": "1"}})
    r = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": "tbl", "Key": {"pk": {"S": "a"}}}},
            {"Get": {"TableName": "tbl", "Key": {"pk": {"S": "missing"}}}},
        ]
    )
    assert r["Responses"] == [{"Item": {"pk": {"S": "a"}, "v": {"S": "1"}}}, {}]
