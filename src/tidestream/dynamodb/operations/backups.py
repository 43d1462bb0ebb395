"""UpdateContinuousBackups, DescribeContinuousBackups (point-in-time recovery flags).

Restores are out of scope: tidestream records the setting and reports restorable times as AWS
would, so infrastructure code that turns PITR on works unchanged.
"""

from __future__ import annotations

import time

from ...context import RequestContext
from ...errors import AwsError
from ..state import DynamoState
from ..tables import Table
from . import operation


def _describe(t: Table) -> dict:
    pitr: dict = {"PointInTimeRecoveryStatus": "ENABLED" if t.pitr else "DISABLED"}
    if t.pitr:
        now = time.time()
        pitr["EarliestRestorableDateTime"] = t.pitr_enabled_at
        pitr["LatestRestorableDateTime"] = now - 300 if now - 300 > t.pitr_enabled_at else t.pitr_enabled_at
        pitr["RecoveryPeriodInDays"] = 35
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}


@operation("UpdateContinuousBackups")
def update(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    try:
        t = state.table(ctx, p["TableName"], control=True)
    except AwsError:
        raise AwsError(f"Table not found: {p['TableName']}", code="TableNotFoundException")
    spec = p["PointInTimeRecoverySpecification"]
    enabled = bool(spec["PointInTimeRecoveryEnabled"])
    if enabled and not t.pitr:
        t.pitr_enabled_at = time.time()
    t.pitr = enabled
    state.catalog.put(t)
    return {"ContinuousBackupsDescription": _describe(t)}


@operation("DescribeContinuousBackups")
def describe(state: DynamoState, ctx: RequestContext, p: dict) -> dict:
    try:
        t = state.table(ctx, p["TableName"], control=True)
    except AwsError:
        raise AwsError(f"Table not found: {p['TableName']}", code="TableNotFoundException")
    return {"ContinuousBackupsDescription": _describe(t)}
