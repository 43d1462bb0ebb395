"""Fidelity round 4: successful answers carry every field AWS returns, and none it doesn't.

Source: LocalStack's ``tests/aws/services/dynamodb/test_dynamodb.snapshot.json`` (Apache-2.0),
recorded by running its tests against AWS (copied to ``../shared/reference/aws-recorded/``;
``dynamodb.validation.json`` dates each recording). The snapshot tests there compare every field
and its value shape with volatile values masked; these tests compare the field sets the same way.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_table, start_server

KEY_SCHEMA = [{"AttributeName": "TID", "KeyType": "HASH"}]
DEFINITIONS = [
    {"AttributeName": "TID", "AttributeType": "S"},
    {"AttributeName": "TRID", "AttributeType": "S"},
]
GSI = {
    "IndexName": "TransactionRecordID",
    "KeySchema": [{"AttributeName": "TRID", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}
#: test_gsi_with_billing_mode[PROVISIONED|PAY_PER_REQUEST] "create-table-with-gsi" (validated 2025)
CREATED_GSI_FIELDS = {
    "IndexArn",
    "IndexName",
    "IndexSizeBytes",
    "IndexStatus",
    "ItemCount",
    "KeySchema",
    "Projection",
    "ProvisionedThroughput",
}
#: the same test's "describe-table": the index gained WarmThroughput once the table is ACTIVE
DESCRIBED_GSI_FIELDS = CREATED_GSI_FIELDS | {"WarmThroughput"}


def _create_with_gsi(ddb, name: str, billing: str) -> dict[str, Any]:
    kw: dict[str, Any] = {"BillingMode": billing}
    index = dict(GSI)
    if billing == "PROVISIONED":
        kw["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        index["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    return ddb.create_table(
        TableName=name,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=DEFINITIONS,
        GlobalSecondaryIndexes=[index],
        **kw,
    )["TableDescription"]


@pytest.mark.parametrize("billing", ["PROVISIONED", "PAY_PER_REQUEST"])
def test_create_table_gsi_has_no_backfilling_nor_warm_throughput(ddb, billing):
    """AWS's CreateTable answer describes an index made with its table without ``Backfilling``
    (an UpdateTable-only field: "For indexes that were created during a CreateTable operation, the
    Backfilling attribute does not appear", API reference, GlobalSecondaryIndexDescription) and
    without ``WarmThroughput``, which DescribeTable adds."""
    created = _create_with_gsi(ddb, f"gsi_{billing.lower()}", billing)
    assert set(created["GlobalSecondaryIndexes"][0]) == CREATED_GSI_FIELDS
    described = ddb.describe_table(TableName=f"gsi_{billing.lower()}")["Table"]
    index = described["GlobalSecondaryIndexes"][0]
    assert set(index) == DESCRIBED_GSI_FIELDS
    expected_warm = (1, 1) if billing == "PROVISIONED" else (12000, 4000)
    assert (
        index["WarmThroughput"]["ReadUnitsPerSecond"],
        index["WarmThroughput"]["WriteUnitsPerSecond"],
    ) == (expected_warm)


def test_create_table_on_demand_summary_has_no_date_until_created(ddb):
    """test_gsi_with_billing_mode[PAY_PER_REQUEST]: "create-table-with-gsi" has
    ``BillingModeSummary: {BillingMode}`` alone; "describe-table" adds
    ``LastUpdateToPayPerRequestDateTime`` (so does test_table_v2_stream's describe)."""
    created = _create_with_gsi(ddb, "ondemand_summary", "PAY_PER_REQUEST")
    assert created["BillingModeSummary"] == {"BillingMode": "PAY_PER_REQUEST"}
    described = ddb.describe_table(TableName="ondemand_summary")["Table"]
    assert set(described["BillingModeSummary"]) == {"BillingMode", "LastUpdateToPayPerRequestDateTime"}


def test_create_table_with_warm_throughput_reports_it(ddb):
    """test_table_warm_throughput: CreateTable with WarmThroughput 1000/1200 on a 5/5 table
    answers ``WarmThroughput {1000, 1200, UPDATING}`` and DescribeTable ``{1000, 1200, ACTIVE}``
    (a table created without it has none in the CreateTable answer: test_table_crud)."""
    created = make_table(
        ddb,
        "warm_created",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        WarmThroughput={"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200},
    )
    described = ddb.describe_table(TableName=created)["Table"]
    assert described["WarmThroughput"] == {
        "ReadUnitsPerSecond": 1000,
        "WriteUnitsPerSecond": 1200,
        "Status": "ACTIVE",
    }
    answer = ddb.create_table(
        TableName="warm_answer",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=DEFINITIONS[:1],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        WarmThroughput={"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200},
    )["TableDescription"]
    assert answer["WarmThroughput"] == {
        "ReadUnitsPerSecond": 1000,
        "WriteUnitsPerSecond": 1200,
        "Status": "UPDATING",
    }


def test_create_table_without_warm_throughput_answers_none(ddb):
    """test_table_crud "create-table": no WarmThroughput while CREATING when none was asked."""
    answer = ddb.create_table(
        TableName="warm_absent",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=DEFINITIONS[:1],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )["TableDescription"]
    assert "WarmThroughput" not in answer
    assert ddb.describe_table(TableName="warm_absent")["Table"]["WarmThroughput"] == {
        "ReadUnitsPerSecond": 5,
        "WriteUnitsPerSecond": 5,
        "Status": "ACTIVE",
    }


def test_update_table_warm_throughput_alone_is_a_change(ddb):
    """UpdateTable's own "nothing to update" text names WarmThroughput among the changes it takes
    (ack-api-quirks DDB-TABLE-442, live 2026-10-09), and it must come alone: a request with only
    WarmThroughput is accepted and DescribeTable then reports what was asked."""
    make_table(ddb, "warm_updated")
    ddb.update_table(
        TableName="warm_updated", WarmThroughput={"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000}
    )
    warm = ddb.describe_table(TableName="warm_updated")["Table"]["WarmThroughput"]
    assert (warm["ReadUnitsPerSecond"], warm["WriteUnitsPerSecond"]) == (15000, 5000)


def test_describe_contributor_insights_of_a_new_table(ddb):
    """test_dynamodb_describe_contributor_insights "describe-contributor-insights-disabled":
    ``{ContributorInsightsStatus: DISABLED, TableName}`` and nothing else (was an unknown
    operation)."""
    make_table(ddb, "insights_new")
    answer = ddb.describe_contributor_insights(TableName="insights_new")
    answer.pop("ResponseMetadata")
    assert answer == {"ContributorInsightsStatus": "DISABLED", "TableName": "insights_new"}


def test_contributor_insights_enabled_is_kept_and_reported(ddb):
    """UpdateContributorInsights answers ENABLING; DescribeContributorInsights then answers the
    fields of the API reference's response syntax for an enabled table (rule list, mode, date);
    DISABLE answers DISABLING and the table reads DISABLED again."""
    make_table(ddb, "insights_on", range_key="sk")
    enabled = ddb.update_contributor_insights(TableName="insights_on", ContributorInsightsAction="ENABLE")
    assert enabled["ContributorInsightsStatus"] == "ENABLING"
    described = ddb.describe_contributor_insights(TableName="insights_on")
    assert described["ContributorInsightsStatus"] == "ENABLED"
    assert described["ContributorInsightsMode"] == "ACCESSED_AND_THROTTLED_KEYS"
    assert {rule.split("-")[1] for rule in described["ContributorInsightsRuleList"]} == {
        "PKC",
        "PKT",
        "SKC",
        "SKT",
    }
    assert "LastUpdateDateTime" in described
    summaries = ddb.list_contributor_insights(TableName="insights_on")["ContributorInsightsSummaries"]
    assert [s["ContributorInsightsStatus"] for s in summaries] == ["ENABLED"]
    disabled = ddb.update_contributor_insights(TableName="insights_on", ContributorInsightsAction="DISABLE")
    assert disabled["ContributorInsightsStatus"] == "DISABLING"
    assert (
        ddb.describe_contributor_insights(TableName="insights_on")["ContributorInsightsStatus"] == "DISABLED"
    )


def _lsi_table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "l", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_l",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def test_batch_and_transaction_writes_report_item_collection_metrics(ddb):
    """BatchWriteItem and TransactWriteItems with ReturnItemCollectionMetrics=SIZE answer, like
    PutItem, metrics for tables with a local secondary index only: a map of table name to one
    entry per item collection written (API reference, BatchWriteItem and TransactWriteItems
    "ItemCollectionMetrics"; PutItem's "If the table does not have any local secondary indexes,
    this information is not returned"; fakecloud pull request 1042 checked the same against AWS)."""
    _lsi_table(ddb, "collections")
    make_table(ddb, "no_collections")
    entry_a = {"ItemCollectionKey": {"pk": {"S": "a"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    entry_b = {"ItemCollectionKey": {"pk": {"S": "b"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    batch = ddb.batch_write_item(
        RequestItems={
            "collections": [
                {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}},
                {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"S": "2"}}}},
                {"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            ],
            "no_collections": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}],
        },
        ReturnItemCollectionMetrics="SIZE",
    )
    assert batch["ItemCollectionMetrics"] == {"collections": [entry_a, entry_b]}
    transaction = ddb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": "collections", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": "no_collections", "Item": {"pk": {"S": "b"}}}},
        ],
        ReturnItemCollectionMetrics="SIZE",
    )
    assert transaction["ItemCollectionMetrics"] == {"collections": [entry_b]}
    plain = ddb.batch_write_item(
        RequestItems={"no_collections": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]},
        ReturnItemCollectionMetrics="SIZE",
    )
    assert "ItemCollectionMetrics" not in plain


def test_warm_throughput_and_contributor_insights_survive_a_restart(tmp_path):
    """Both settings are acknowledged, so they are on disk: a restarted server reports them."""
    s = start_server(tmp_path)
    try:
        ddb = s.client()
        make_table(
            ddb, "kept_settings", WarmThroughput={"ReadUnitsPerSecond": 13000, "WriteUnitsPerSecond": 4100}
        )
        ddb.update_contributor_insights(TableName="kept_settings", ContributorInsightsAction="ENABLE")
        assert s.stop() == 0
        s.start()
        ddb = s.client()
        warm = ddb.describe_table(TableName="kept_settings")["Table"]["WarmThroughput"]
        assert (warm["ReadUnitsPerSecond"], warm["WriteUnitsPerSecond"]) == (13000, 4100)
        insights = ddb.describe_contributor_insights(TableName="kept_settings")
        assert insights["ContributorInsightsStatus"] == "ENABLED"
    finally:
        s.stop()


def test_update_table_answers_updating_and_a_new_index_creating(ddb):
    """UpdateTable answers TableStatus UPDATING even when the change takes no time (and for a
    no-op: ack-api-quirks DDB-TABLE-177, verified against AWS 2026-10-08, "response
    TableStatus=UPDATING" while DescribeTable reads ACTIVE at once); an index it creates shows
    ``IndexStatus: CREATING, Backfilling: false`` (the developer guide's "Adding a global
    secondary index" answer)."""
    make_table(ddb, "updating_answer")
    answer = ddb.update_table(
        TableName="updating_answer",
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by_g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )["TableDescription"]
    assert answer["TableStatus"] == "UPDATING"
    index = answer["GlobalSecondaryIndexes"][0]
    assert (index["IndexStatus"], index["Backfilling"]) == ("CREATING", False)
    described = ddb.describe_table(TableName="updating_answer")["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    same = ddb.update_table(TableName="updating_answer", BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert same["TableStatus"] == "UPDATING"


def test_update_table_to_standard_class_adds_no_summary(ddb):
    """ "setting TableClass=STANDARD never makes TableClassSummary appear" on a table never given
    a class (ack-api-quirks DDB-TABLE-177, verified against AWS 2026-10-08)."""
    make_table(ddb, "class_unset")
    answer = ddb.update_table(TableName="class_unset", TableClass="STANDARD")["TableDescription"]
    assert "TableClassSummary" not in answer
    assert "TableClassSummary" not in ddb.describe_table(TableName="class_unset")["Table"]
    ddb.update_table(TableName="class_unset", TableClass="STANDARD_INFREQUENT_ACCESS")
    summary = ddb.describe_table(TableName="class_unset")["Table"]["TableClassSummary"]
    assert summary["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
