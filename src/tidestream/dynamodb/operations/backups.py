"""Backups: continuous backups (point-in-time recovery) and on-demand backups, and restores.

UpdateContinuousBackups, DescribeContinuousBackups, RestoreTableToPointInTime (the history is
kept by :mod:`..pitr`); CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup (copies kept by :mod:`..backups`). A restore makes a new table with the
source's keys and indexes (or the request's overrides) and writes the items through the item
store, so indexes and statistics are built as for any write.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import AwsError, TableNotFoundException, ValidationException
from .. import pitr
from ..backups import Backup, fill_table
from ..describe import describe_table
from ..state import DynamoState
from ..tables import Table, new_table_id
from . import operation
from .tables import _apply_table_options, _table_throughput, build_index

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        CreateBackupInput,
        DeleteBackupInput,
        DescribeBackupInput,
        DescribeContinuousBackupsInput,
        ListBackupsInput,
        RestoreTableFromBackupInput,
        RestoreTableToPointInTimeInput,
        UpdateContinuousBackupsInput,
    )


def _source_table(state: DynamoState, ctx: RequestContext, name: str) -> Table:
    """A table named by a backup or restore request, or AWS's TableNotFoundException."""
    try:
        return state.table(ctx, name, control=True)
    except AwsError:
        raise TableNotFoundException(f"Table not found: {name}") from None


# --------------------------------------------------------------------------- continuous backups


def _describe(t: Table) -> dict:
    pitr_desc: dict = {"PointInTimeRecoveryStatus": "ENABLED" if t.pitr else "DISABLED"}
    if t.pitr:
        earliest, latest = pitr.window(t, time.time())
        pitr_desc["EarliestRestorableDateTime"] = earliest
        pitr_desc["LatestRestorableDateTime"] = latest
        pitr_desc["RecoveryPeriodInDays"] = t.pitr_days
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr_desc}


@operation("UpdateContinuousBackups")
def update(state: DynamoState, ctx: RequestContext, p: UpdateContinuousBackupsInput) -> dict:
    spec = p["PointInTimeRecoverySpecification"]
    enabled = bool(spec["PointInTimeRecoveryEnabled"])
    if (
        not enabled and "RecoveryPeriodInDays" in spec
    ):  # AWS's text (catalogue DDB-TABLE-442), before the lookup
        raise ValidationException(
            "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery."
        )
    t = _source_table(state, ctx, p["TableName"])
    if enabled and not t.pitr:
        t.pitr_enabled_at = time.time()
    if not enabled and t.pitr:  # AWS keeps no history once continuous backups are off
        pitr.forget_until(state.engine, t, time.time())
    t.pitr = enabled
    t.pitr_days = int(spec.get("RecoveryPeriodInDays") or 35) if enabled else 35
    state.catalog.put(t)
    return {"ContinuousBackupsDescription": _describe(t)}


@operation("DescribeContinuousBackups")
def describe(state: DynamoState, ctx: RequestContext, p: DescribeContinuousBackupsInput) -> dict:
    t = _source_table(state, ctx, p["TableName"])
    return {"ContinuousBackupsDescription": _describe(t)}


# --------------------------------------------------------------------------- restores


def _check_target_free(state: DynamoState, ctx: RequestContext, name: str) -> None:
    if state.lookup(ctx.account_id, ctx.region, name, control=True) is not None:
        raise AwsError(f"Table already exists: {name}", code="TableAlreadyExistsException")


def _restored_indexes(state: DynamoState, t: Table, p: Mapping[str, Any], ctx: RequestContext) -> None:
    """Fresh index ids (an index's entries live under its id); the overrides replace the
    source's indexes entirely, as on AWS."""
    if p.get("LocalSecondaryIndexOverride") is not None:
        t.lsis = [
            build_index(state, s, t.attribute_types, t.billing_mode, local=True, table_hash=t.hash_key)
            for s in p["LocalSecondaryIndexOverride"]
        ]
    else:
        for ix in t.lsis:
            ix.uid = state.catalog.new_uid()
    if p.get("GlobalSecondaryIndexOverride") is not None:
        t.gsis = [
            build_index(state, s, t.attribute_types, t.billing_mode, local=False)
            for s in p["GlobalSecondaryIndexOverride"]
        ]
    else:
        for ix in t.gsis:
            ix.uid = state.catalog.new_uid()
            if t.billing_mode == "PAY_PER_REQUEST":
                ix.read_capacity = ix.write_capacity = 0
            elif not ix.read_capacity:
                ix.read_capacity, ix.write_capacity = t.read_capacity, t.write_capacity
    for ix in t.indexes:
        ix.item_count = ix.size_bytes = 0
        ix.status, ix.backfilling = "ACTIVE", False


def _restored_billing(t: Table, p: Mapping[str, Any]) -> None:
    billing = p.get("BillingModeOverride") or t.billing_mode
    if billing != t.billing_mode or p.get("ProvisionedThroughputOverride"):
        t.read_capacity, t.write_capacity = _table_throughput(
            {"ProvisionedThroughput": p.get("ProvisionedThroughputOverride")}, billing
        )
        t.billing_mode = billing


def _new_table(
    state: DynamoState, ctx: RequestContext, source: Table, p: Mapping[str, Any], summary: dict[str, Any]
) -> Table:
    """The restore's target: the source's schema and settings (with the request's overrides),
    none of what AWS leaves to be set again (streams, TTL, tags, PITR, policies, protection)."""
    now = time.time()
    t = Table(
        account=ctx.account_id,
        region=ctx.region,
        name=p["TargetTableName"],
        uid=state.catalog.new_uid(),
        table_id=new_table_id(),
        key_schema=list(source.key_schema),
        attribute_types=dict(source.attribute_types),
        attribute_order=list(source.attribute_order),
        created=now,
        billing_mode=source.billing_mode,
        read_capacity=source.read_capacity,
        write_capacity=source.write_capacity,
        gsis=copy.deepcopy(source.gsis),
        lsis=copy.deepcopy(source.lsis),
        sse=dict(source.sse),
        table_class=source.table_class,
        on_demand_read=source.on_demand_read,
        on_demand_write=source.on_demand_write,
        restore_summary=summary,
    )
    _restored_billing(t, p)
    if t.billing_mode == "PAY_PER_REQUEST":
        t.billing_mode_updated = now
    _restored_indexes(state, t, p, ctx)
    overrides = {
        "SSESpecification": p.get("SSESpecificationOverride"),
        "OnDemandThroughput": p.get("OnDemandThroughputOverride"),
    }
    _apply_table_options(t, {k: v for k, v in overrides.items() if v}, ctx, sse_by_default=False)
    return t


def _restore(state: DynamoState, t: Table, items: Iterator[dict]) -> dict:
    """Register the new table, copy the items in, and answer as CreateTable does.

    The table is written CREATING first and ACTIVE (after the status delay) once every item is
    in: a crash halfway leaves a visible, partial table the user can delete and restore again."""
    delay = state.settings.status_delay
    t.status, t.active_at = "CREATING", time.time() + delay
    state.catalog.put(t)
    fill_table(state.items, t, items)
    if delay <= 0:
        t.status = "ACTIVE"
    state.catalog.put(t)
    desc = describe_table(t)
    desc.pop("WarmThroughput", None)
    return {"TableDescription": desc}


# --------------------------------------------------------------------------- on-demand backups


def _find_backup(state: DynamoState, ctx: RequestContext, arn: str) -> Backup:
    """Backups are reachable from their own account only (another's reads as not found)."""
    b = state.backups.find(arn)
    if b is None or b.account != ctx.account_id:
        raise AwsError(f"Backup not found: {arn}", code="BackupNotFoundException")
    return b


def _details(b: Backup) -> dict[str, Any]:
    return {
        "BackupArn": b.arn,
        "BackupName": b.name,
        "BackupSizeBytes": b.size_bytes,
        "BackupStatus": b.status,
        "BackupType": "USER",
        "BackupCreationDateTime": b.created,
    }


def _key_schema(ks: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"AttributeName": n, "KeyType": k} for n, k in ks]


def _features(t: Table) -> dict[str, Any]:
    """SourceTableFeatureDetails: the source's indexes, stream, TTL and encryption."""
    out: dict[str, Any] = {}
    desc = describe_table(t)
    if t.lsis:
        out["LocalSecondaryIndexes"] = [
            {k: d[k] for k in ("IndexName", "KeySchema", "Projection")} for d in desc["LocalSecondaryIndexes"]
        ]
    if t.gsis:
        out["GlobalSecondaryIndexes"] = [
            {k: d[k] for k in ("IndexName", "KeySchema", "Projection")}
            | {
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": ix.read_capacity,
                    "WriteCapacityUnits": ix.write_capacity,
                }
            }
            for d, ix in zip(desc["GlobalSecondaryIndexes"], t.gsis)
        ]
    if t.stream_enabled:
        out["StreamDescription"] = {"StreamEnabled": True, "StreamViewType": t.stream_view_type}
    out["TimeToLiveDescription"] = {"TimeToLiveStatus": t.ttl_status}
    if t.ttl_attribute:
        out["TimeToLiveDescription"]["AttributeName"] = t.ttl_attribute
    if t.sse:
        out["SSEDescription"] = dict(t.sse)
    return out


def _description(b: Backup) -> dict[str, Any]:
    t = b.table()
    source = {
        "TableName": t.name,
        "TableId": t.table_id,
        "TableArn": t.arn,
        "TableSizeBytes": b.size_bytes,
        "KeySchema": _key_schema(t.key_schema),
        "TableCreationDateTime": t.created,
        "ProvisionedThroughput": {
            "ReadCapacityUnits": t.read_capacity,
            "WriteCapacityUnits": t.write_capacity,
        },
        "ItemCount": b.item_count,
        "BillingMode": t.billing_mode,
    }
    return {
        "BackupDetails": _details(b),
        "SourceTableDetails": source,
        "SourceTableFeatureDetails": _features(t),
    }


@operation("CreateBackup")
def create_backup(state: DynamoState, ctx: RequestContext, p: CreateBackupInput) -> dict:
    t = _source_table(state, ctx, p["TableName"])
    b = state.backups.create(t, p["BackupName"], time.time())
    # AWS answers CREATING and finishes later (as CreateTable answers CREATING); the copy here
    # is already complete, so DescribeBackup and ListBackups show AVAILABLE at once
    return {"BackupDetails": {**_details(b), "BackupStatus": "CREATING"}}


@operation("DescribeBackup")
def describe_backup(state: DynamoState, ctx: RequestContext, p: DescribeBackupInput) -> dict:
    return {"BackupDescription": _description(_find_backup(state, ctx, p["BackupArn"]))}


@operation("DeleteBackup")
def delete_backup(state: DynamoState, ctx: RequestContext, p: DeleteBackupInput) -> dict:
    b = _find_backup(state, ctx, p["BackupArn"])
    state.backups.delete(b)
    return {"BackupDescription": _description(b)}


def _listed(b: Backup, p: Mapping[str, Any], table_filter: str | None) -> bool:
    if table_filter is not None and table_filter not in (b.table_name, b.table_arn):
        return False
    if p.get("BackupType") not in (None, "USER", "ALL"):
        return False  # tidestream makes no SYSTEM or AWS_BACKUP backups
    lower, upper = p.get("TimeRangeLowerBound"), p.get("TimeRangeUpperBound")
    return (lower is None or b.created >= lower) and (upper is None or b.created < upper)


@operation("ListBackups")
def list_backups(state: DynamoState, ctx: RequestContext, p: ListBackupsInput) -> dict:
    lower, upper = p.get("TimeRangeLowerBound"), p.get("TimeRangeUpperBound")
    if lower is not None and upper is not None and lower > upper:  # AWS's text (catalogue DDB-TABLE-442)
        raise ValidationException(
            "One or more parameter values were invalid: Time range lower bound must be less than or equal to upper bound"
        )
    chosen = [
        b for b in state.backups.of_account(ctx.account_id, ctx.region) if _listed(b, p, p.get("TableName"))
    ]
    start = p.get("ExclusiveStartBackupArn")
    if start is not None:
        arns = [b.arn for b in chosen]
        chosen = chosen[arns.index(start) + 1 :] if start in arns else []
    limit = p.get("Limit") or 100
    summaries = [
        {"TableName": b.table_name, "TableId": b.table_id, "TableArn": b.table_arn, **_details(b)}
        for b in chosen[:limit]
    ]
    out: dict[str, Any] = {"BackupSummaries": summaries}
    if len(chosen) > limit:
        out["LastEvaluatedBackupArn"] = chosen[limit - 1].arn
    return out


@operation("RestoreTableFromBackup")
def restore_from_backup(state: DynamoState, ctx: RequestContext, p: RestoreTableFromBackupInput) -> dict:
    b = _find_backup(state, ctx, p["BackupArn"])
    _check_target_free(state, ctx, p["TargetTableName"])
    t = _new_table(
        state,
        ctx,
        b.table(),
        p,
        {"SourceBackupArn": b.arn, "SourceTableArn": b.table_arn, "RestoreDateTime": b.created},
    )
    return _restore(state, t, state.backups.stored_items(b))


# --------------------------------------------------------------------------- point in time


def _restore_moment(t: Table, p: Mapping[str, Any], now: float) -> float:
    earliest, latest = pitr.window(t, now)
    if p.get("UseLatestRestorableTime"):
        return latest
    moment = p.get("RestoreDateTime")
    if moment is None or not earliest <= moment <= latest:
        raise AwsError(
            "Invalid RestoreDateTime: the restore time must be between the "
            "EarliestRestorableDateTime and the LatestRestorableDateTime of the table.",
            code="InvalidRestoreTimeException",
        )
    return float(moment)


@operation("RestoreTableToPointInTime")
def restore_to_point_in_time(
    state: DynamoState, ctx: RequestContext, p: RestoreTableToPointInTimeInput
) -> dict:
    name = p.get("SourceTableArn") or p.get("SourceTableName")
    if not name:
        raise AwsError(
            "1 validation error detected: Either SourceTableName or SourceTableArn must be provided",
            code="ValidationException",
        )
    source = _source_table(state, ctx, name)
    if not source.pitr:
        raise AwsError(
            f"Point in time recovery is not enabled for table '{source.name}'",
            code="PointInTimeRecoveryUnavailableException",
        )
    _check_target_free(state, ctx, p["TargetTableName"])
    now = time.time()
    moment = _restore_moment(source, p, now)
    pitr.prune(state.engine, source, now)
    t = _new_table(state, ctx, source, p, {"SourceTableArn": source.arn, "RestoreDateTime": moment})
    return _restore(state, t, pitr.items_at(state.items, source, moment))
