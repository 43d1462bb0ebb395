"""DescribeContributorInsights, UpdateContributorInsights, ListContributorInsights.

Why: tools that inspect a table (LocalStack's recorded test_dynamodb_describe_contributor_insights,
Terraform's aws_dynamodb_contributor_insights, the console) call these and fail on an unknown
operation. tidestream has no CloudWatch, so the setting is kept and reported, nothing more: a
table or index never configured answers ``{TableName, ContributorInsightsStatus: DISABLED}``, the
field set AWS's recorded answer has.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import ResourceNotFoundException
from ..state import DynamoState
from ..tables import Table
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        DescribeContributorInsightsInput,
        ListContributorInsightsInput,
        UpdateContributorInsightsInput,
    )

#: the rules AWS creates per key part: most accessed (C) and most throttled (T) keys
_RULES = {"ACCESSED_AND_THROTTLED_KEYS": ("C", "T"), "THROTTLED_KEYS": ("T",)}


def _checked_index(t: Table, index_name: str | None) -> str:
    """The setting's key in the table record: the GSI's name, or "" for the table itself."""
    if not index_name:
        return ""
    ix = t.index(index_name)
    if ix is None or ix.local:  # contributor insights exist for tables and their GSIs only
        raise ResourceNotFoundException("Requested resource not found")
    return index_name


def _rule_names(t: Table, index_name: str, mode: str, updated: float) -> list[str]:
    """CloudWatch rule names as AWS makes them: DynamoDBContributorInsights-<PK|SK><C|T>-<name>-<ms>."""
    ix = t.index(index_name) if index_name else None
    key_schema = ix.key_schema if ix else t.key_schema
    parts = ["PK"] + (["SK"] if any(kind == "RANGE" for _, kind in key_schema) else [])
    target = f"{t.name}-{index_name}" if index_name else t.name
    stamp = int(updated * 1000)
    return [f"DynamoDBContributorInsights-{p}{r}-{target}-{stamp}" for p in parts for r in _RULES[mode]]


def _summary(t: Table, index_name: str, *, detailed: bool) -> dict[str, Any]:
    setting = t.contributor_insights.get(index_name, {})
    out: dict[str, Any] = {"TableName": t.name}
    if index_name:
        out["IndexName"] = index_name
    status = setting.get("status", "DISABLED")
    if detailed and status == "ENABLED":
        out["ContributorInsightsRuleList"] = _rule_names(t, index_name, setting["mode"], setting["updated"])
    out["ContributorInsightsStatus"] = status
    if "mode" in setting and status == "ENABLED":
        out["ContributorInsightsMode"] = setting["mode"]
    if detailed and "updated" in setting:
        out["LastUpdateDateTime"] = setting["updated"]
    return out


@operation("DescribeContributorInsights")
def describe_contributor_insights(
    state: DynamoState, ctx: RequestContext, p: DescribeContributorInsightsInput
) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    return _summary(t, _checked_index(t, p.get("IndexName")), detailed=True)


@operation("UpdateContributorInsights")
def update_contributor_insights(
    state: DynamoState, ctx: RequestContext, p: UpdateContributorInsightsInput
) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    index_name = _checked_index(t, p.get("IndexName"))
    enable = p["ContributorInsightsAction"] == "ENABLE"
    mode = p.get("ContributorInsightsMode") or "ACCESSED_AND_THROTTLED_KEYS"
    setting = {"status": "ENABLED" if enable else "DISABLED", "mode": mode, "updated": time.time()}
    t.contributor_insights[index_name] = setting
    state.catalog.put(t)
    out: dict[str, Any] = {"TableName": t.name}
    if index_name:
        out["IndexName"] = index_name
    out["ContributorInsightsStatus"] = "ENABLING" if enable else "DISABLING"
    if enable:
        out["ContributorInsightsMode"] = mode
    return out


@operation("ListContributorInsights")
def list_contributor_insights(
    state: DynamoState, ctx: RequestContext, p: ListContributorInsightsInput
) -> dict:
    """The table and its GSIs when TableName is given; otherwise every table and index whose
    setting was ever changed (one page: the settings are few)."""
    if p.get("TableName"):
        t = state.table(ctx, p["TableName"], control=True)
        names = [""] + [ix.name for ix in t.gsis]
        return {"ContributorInsightsSummaries": [_summary(t, n, detailed=False) for n in names]}
    summaries = [
        _summary(t, name, detailed=False)
        for t in state.catalog.all()
        if t.account == ctx.account_id and t.region == ctx.region
        for name in sorted(t.contributor_insights)
    ]
    return {"ContributorInsightsSummaries": summaries}
