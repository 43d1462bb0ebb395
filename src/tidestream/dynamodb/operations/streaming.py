"""Enable/Disable/Describe/UpdateKinesisStreamingDestination (change data capture into Kinesis)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...cdc import destinations as D
from ...context import RequestContext
from ...errors import ValidationException
from ..state import DynamoState
from ..tables import Table
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        DescribeKinesisStreamingDestinationInput,
        KinesisStreamingDestinationInput,
        UpdateKinesisStreamingDestinationInput,
    )


_BAD_STATE = "Table is not in a valid state to enable Kinesis Streaming Destination: "


def _settled(state: DynamoState, table: Table) -> None:
    changed = False
    for d in table.kinesis_destinations:
        changed |= D.settle(d, state.stream_check, table)
    if changed:
        state.catalog.put(table)


def _find(table: Table, arn: str) -> dict | None:
    for d in table.kinesis_destinations:
        if d["arn"] == arn:
            return d
    return None


def _not_a_destination(table: Table, arn: str) -> ValidationException:
    return ValidationException(
        f"{_BAD_STATE}No streaming destination with streamArn: {arn} found for "
        f"table with tableName: {table.name}"
    )


@operation("EnableKinesisStreamingDestination")
def enable(state: DynamoState, ctx: RequestContext, p: KinesisStreamingDestinationInput) -> dict:
    table = state.table(ctx, p["TableName"], control=True)
    _settled(state, table)
    arn = p["StreamArn"]
    config = p.get("EnableKinesisStreamingConfiguration") or {}
    for d in table.kinesis_destinations:
        if d["status"] not in (D.DISABLED, D.ENABLE_FAILED):
            # one stream per table, and no re-enable while enabled
            raise ValidationException(
                f"{_BAD_STATE}EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED "
                "to perform ENABLE operation."
            )
    dest = _find(table, arn)
    if dest is None:
        dest = {"arn": arn, "status": D.DISABLED, "precision": None, "until": 0.0, "description": ""}
        table.kinesis_destinations.append(dest)
    if config.get("ApproximateCreationDateTimePrecision"):
        dest["precision"] = config["ApproximateCreationDateTimePrecision"]
    D.begin(dest, D.ENABLING, state.settings.status_delay)
    state.catalog.put(table)
    return {
        "TableName": table.name,
        "StreamArn": arn,
        "DestinationStatus": D.ENABLING,
        "EnableKinesisStreamingConfiguration": dict(config),
    }


@operation("DisableKinesisStreamingDestination")
def disable(state: DynamoState, ctx: RequestContext, p: KinesisStreamingDestinationInput) -> dict:
    table = state.table(ctx, p["TableName"], control=True)
    _settled(state, table)
    arn = p["StreamArn"]
    dest = _find(table, arn)
    # a stream never enabled on the table gets the same answer as one not ACTIVE (AWS, us-east-1
    # and us-west-2, 2026-10-09: ack-api-quirks' val_kinesis_disable_bogus)
    if dest is None or dest["status"] != D.ACTIVE:
        raise ValidationException(
            f"{_BAD_STATE}KinesisStreamingDestination must be ACTIVE to perform DISABLE operation."
        )
    D.begin(dest, D.DISABLING, state.settings.status_delay)
    state.catalog.put(table)
    out: dict[str, Any] = {"TableName": table.name, "StreamArn": arn, "DestinationStatus": D.DISABLING}
    if p.get("EnableKinesisStreamingConfiguration"):
        out["EnableKinesisStreamingConfiguration"] = p["EnableKinesisStreamingConfiguration"]
    return out


@operation("DescribeKinesisStreamingDestination")
def describe(state: DynamoState, ctx: RequestContext, p: DescribeKinesisStreamingDestinationInput) -> dict:
    table = state.table(ctx, p["TableName"], control=True)
    _settled(state, table)
    return {
        "TableName": table.name,
        "KinesisDataStreamDestinations": [D.describe(d) for d in table.kinesis_destinations],
    }


@operation("UpdateKinesisStreamingDestination")
def update(state: DynamoState, ctx: RequestContext, p: UpdateKinesisStreamingDestinationInput) -> dict:
    arn = p["StreamArn"]
    config = p.get("UpdateKinesisStreamingConfiguration") or {}
    precision = config.get("ApproximateCreationDateTimePrecision")
    if not precision:  # needs no table: answered before the lookup
        raise ValidationException(
            "Streaming destination cannot be updated with given parameters: "
            "UpdateKinesisStreamingConfiguration cannot be null or contain only null values"
        )
    table = state.table(ctx, p["TableName"], control=True)
    _settled(state, table)
    dest = _find(table, arn)
    if dest is None:
        raise _not_a_destination(table, arn)
    if dest["status"] != D.ACTIVE:
        raise ValidationException(
            f"{_BAD_STATE}KinesisStreamingDestination must be ACTIVE to perform UPDATE operation."
        )
    if (dest.get("precision") or "MILLISECOND") == precision:
        raise ValidationException(
            f"Invalid Request: Precision is already set to the desired value of {precision} for "
            f"tableId: {table.table_id}, kdsArn: {arn}"
        )
    dest["precision"] = precision
    D.begin(dest, D.UPDATING, state.settings.status_delay)
    state.catalog.put(table)
    return {
        "TableName": table.name,
        "StreamArn": arn,
        "DestinationStatus": D.UPDATING,
        "UpdateKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision},
    }
