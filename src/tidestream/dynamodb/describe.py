"""TableDescription as AWS returns it, built from a :class:`Table`."""

from __future__ import annotations

from typing import Any

from .tables import Index, Table


def _key_schema(ks: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"AttributeName": n, "KeyType": t} for n, t in ks]


def _throughput(read: int, write: int, table: Table | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "NumberOfDecreasesToday": table.decreases_today if table else 0,
        "ReadCapacityUnits": read,
        "WriteCapacityUnits": write,
    }
    if table is not None:
        if table.last_increase:
            out["LastIncreaseDateTime"] = table.last_increase
        if table.last_decrease:
            out["LastDecreaseDateTime"] = table.last_decrease
    return out


def _projection(ix: Index) -> dict[str, Any]:
    p: dict[str, Any] = {"ProjectionType": ix.projection_type}
    if ix.non_key_attributes:
        p["NonKeyAttributes"] = list(ix.non_key_attributes)
    return p


def describe_index(table: Table, ix: Index, *, sizes: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    d: dict[str, Any] = {
        "IndexName": ix.name,
        "KeySchema": _key_schema(ix.key_schema),
        "Projection": _projection(ix),
        "IndexSizeBytes": ix.size_bytes,
        "ItemCount": ix.item_count,
        "IndexArn": f"{table.arn}/index/{ix.name}",
    }
    if not ix.local:
        d["IndexStatus"] = ix.status
        # an index made with its table has neither while the table is CREATING: AWS's
        # create-table-with-gsi answers (LocalStack recordings, both billing modes)
        if ix.status == "CREATING" and table.status != "CREATING":
            d["Backfilling"] = ix.backfilling
        if table.billing_mode == "PAY_PER_REQUEST":
            d["ProvisionedThroughput"] = _throughput(0, 0)
        else:
            d["ProvisionedThroughput"] = _throughput(ix.read_capacity, ix.write_capacity)
        if table.status != "CREATING":
            d["WarmThroughput"] = _index_warm_throughput(table, ix)
    return d


def _index_warm_throughput(table: Table, ix: Index) -> dict[str, Any]:
    """On-demand indexes are warm at AWS's default 12000/4000; provisioned ones at their capacity."""
    on_demand = table.billing_mode == "PAY_PER_REQUEST"
    return {
        "ReadUnitsPerSecond": max(ix.read_capacity, 12000) if on_demand else ix.read_capacity,
        "WriteUnitsPerSecond": max(ix.write_capacity, 4000) if on_demand else ix.write_capacity,
        "Status": ix.status,
    }


def _on_demand(t: Table) -> dict[str, int]:
    od: dict[str, int] = {}
    if t.on_demand_read:
        od["MaxReadRequestUnits"] = t.on_demand_read
    if t.on_demand_write:
        od["MaxWriteRequestUnits"] = t.on_demand_write
    return od


def describe_table(
    table: Table, *, deleting: bool = False, index_sizes: dict[str, tuple[int, int]] | None = None
) -> dict[str, Any]:
    t = table
    d: dict[str, Any] = {}
    if not deleting:
        d["AttributeDefinitions"] = [
            {"AttributeName": n, "AttributeType": t.attribute_types[n]} for n in t.attribute_order
        ]
        d["CreationDateTime"] = t.created
        d["KeySchema"] = _key_schema(t.key_schema)
    d["DeletionProtectionEnabled"] = t.deletion_protection
    d["ItemCount"] = t.item_count
    _describe_billing(t, d)
    d["TableArn"] = t.arn
    d["TableId"] = t.table_id
    d["TableName"] = t.name
    d["TableSizeBytes"] = t.size_bytes
    d["TableStatus"] = "DELETING" if deleting else t.status
    _describe_indexes(t, index_sizes or {}, d)
    _describe_stream(t, d)
    _describe_options(t, d)
    if not deleting and t.status == "ACTIVE":
        d["WarmThroughput"] = _warm_throughput(t, "ACTIVE")
    elif t.status == "CREATING" and (t.warm_read or t.warm_write):
        # a table created with WarmThroughput shows it UPDATING at once; others only once
        # ACTIVE (LocalStack's test_table_warm_throughput / test_table_crud, recorded on AWS)
        d["WarmThroughput"] = _warm_throughput(t, "UPDATING")
    return d


def _describe_billing(t: Table, d: dict[str, Any]) -> None:
    """On-demand tables report zero provisioned throughput and always a billing summary; the
    summary's date appears once the table is created (AWS's CreateTable answer has none)."""
    if t.billing_mode == "PAY_PER_REQUEST":
        d["ProvisionedThroughput"] = _throughput(0, 0, t)
        d["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST"}
        if t.status != "CREATING":
            d["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = t.billing_mode_updated or t.created
    else:
        d["ProvisionedThroughput"] = _throughput(t.read_capacity, t.write_capacity, t)
        if t.billing_mode_updated:
            d["BillingModeSummary"] = {"BillingMode": "PROVISIONED"}


def _describe_indexes(t: Table, sizes: dict[str, tuple[int, int]], d: dict[str, Any]) -> None:
    if t.gsis:
        d["GlobalSecondaryIndexes"] = [
            describe_index(t, ix, sizes=sizes.get(ix.name, (0, 0))) for ix in t.gsis
        ]
    if t.lsis:
        d["LocalSecondaryIndexes"] = [
            describe_index(t, ix, sizes=sizes.get(ix.name, (0, 0))) for ix in t.lsis
        ]


def _describe_stream(t: Table, d: dict[str, Any]) -> None:
    """A disabled stream keeps its label and ARN (it stays readable for 24 h), without a spec."""
    if t.stream_enabled or t.stream_label:
        if t.stream_enabled:
            d["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": t.stream_view_type}
        d["LatestStreamLabel"] = t.stream_label
        d["LatestStreamArn"] = t.stream_arn


def _describe_options(t: Table, d: dict[str, Any]) -> None:
    """The optional summaries AWS includes only when the table has the setting."""
    if t.restore_summary:  # a restored table; the restore is done once the table is ACTIVE
        d["RestoreSummary"] = {**t.restore_summary, "RestoreInProgress": t.status == "CREATING"}
    if t.sse:
        d["SSEDescription"] = dict(t.sse)
    if t.table_class:
        d["TableClassSummary"] = {"TableClass": t.table_class}
    if t.on_demand_read or t.on_demand_write:
        d["OnDemandThroughput"] = _on_demand(t)


def _warm_throughput(t: Table, status: str) -> dict[str, Any]:
    """On-demand tables are warm at AWS's default 12000/4000, provisioned ones at their capacity,
    unless the table asked for more (the recorded describe answers the 1000/1200 asked for)."""
    if t.billing_mode == "PAY_PER_REQUEST":
        read, write = 12000, 4000
    else:
        read, write = t.read_capacity, t.write_capacity
    return {
        "ReadUnitsPerSecond": max(read, t.warm_read),
        "WriteUnitsPerSecond": max(write, t.warm_write),
        "Status": status,
    }
