"""Account settings and warm throughput: DescribeAccountSettings, UpdateAccountSettings,
UpdateStreamWarmThroughput.

The minimum throughput billing commitment is an account-level switch (botocore's kinesis model,
2025): warm throughput is only offered to on-demand streams of accounts that enabled it. Nothing
is billed here, so the switch only gates UpdateStreamWarmThroughput and is reported back; it is
stored per account and region so a restart keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ...context import RequestContext
from ...errors import InvalidArgumentException
from ...storage import keyspace
from ..state import KinesisState
from ..streams import Stream
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        DescribeAccountSettingsInput,
        UpdateAccountSettingsInput,
        UpdateStreamWarmThroughputInput,
    )

#: the shortest commitment: disabling earlier leaves it on until this much after it started
MINIMUM_COMMITMENT_MS = 24 * 3_600_000


def _settings_key(account: str, region: str) -> bytes:
    return keyspace.KINESIS_ACCOUNT_SETTINGS + f"{account}/{region}".encode()


def _load(state: KinesisState, account: str, region: str) -> dict[str, Any]:
    raw = state.engine.get(_settings_key(account, region))
    return orjson.loads(raw) if raw else {"status": "DISABLED"}


def _current_status(settings: dict[str, Any], now_ms: int) -> str:
    """ENABLED_UNTIL_EARLIEST_ALLOWED_END turns into DISABLED once that moment has passed."""
    status = settings["status"]
    if status == "ENABLED_UNTIL_EARLIEST_ALLOWED_END" and now_ms >= settings["earliest_end_ms"]:
        return "DISABLED"
    return status


def _commitment(state: KinesisState, ctx: RequestContext, settings: dict[str, Any]) -> dict[str, Any]:
    """The MinimumThroughputBillingCommitment output structure."""
    ts = state.ts(ctx)
    out: dict[str, Any] = {"Status": _current_status(settings, state.now_ms())}
    for field, member in (
        ("started_ms", "StartedAt"),
        ("ended_ms", "EndedAt"),
        ("earliest_end_ms", "EarliestAllowedEndAt"),
    ):
        if settings.get(field) is not None:
            out[member] = ts(settings[field])
    return out


def _updated(settings: dict[str, Any], wanted: str, now_ms: int) -> dict[str, Any]:
    """The settings after asking for *wanted*; re-sending the current state changes nothing."""
    current = _current_status(settings, now_ms)
    if wanted == "ENABLED":
        if current == "ENABLED":
            return settings
        return {"status": "ENABLED", "started_ms": now_ms, "earliest_end_ms": now_ms + MINIMUM_COMMITMENT_MS}
    if current == "DISABLED":
        return {**settings, "status": "DISABLED"}
    end = max(now_ms, settings["earliest_end_ms"])
    status = "ENABLED_UNTIL_EARLIEST_ALLOWED_END" if end > now_ms else "DISABLED"
    return {**settings, "status": status, "ended_ms": end}


@operation("DescribeAccountSettings")
def describe_account_settings(
    state: KinesisState, ctx: RequestContext, params: DescribeAccountSettingsInput
) -> dict:
    settings = _load(state, ctx.account_id, ctx.region)
    return {"MinimumThroughputBillingCommitment": _commitment(state, ctx, settings)}


@operation("UpdateAccountSettings")
def update_account_settings(
    state: KinesisState, ctx: RequestContext, params: UpdateAccountSettingsInput
) -> dict:
    wanted = params["MinimumThroughputBillingCommitment"]["Status"]
    settings = _updated(_load(state, ctx.account_id, ctx.region), wanted, state.now_ms())
    state.engine.write([(_settings_key(ctx.account_id, ctx.region), orjson.dumps(settings))])
    return {"MinimumThroughputBillingCommitment": _commitment(state, ctx, settings)}


def warm_throughput(stream: Stream) -> dict[str, int] | None:
    """DescribeStreamSummary's WarmThroughput: only on-demand streams given a target have one
    (scaling is immediate here, so the current value is the target)."""
    if stream.mode != "ON_DEMAND" or stream.warm_mibps is None:
        return None
    return {"TargetMiBps": stream.warm_mibps, "CurrentMiBps": stream.warm_mibps}


@operation("UpdateStreamWarmThroughput")
def update_stream_warm_throughput(
    state: KinesisState, ctx: RequestContext, params: UpdateStreamWarmThroughputInput
) -> dict:
    """Only for on-demand streams of accounts with the commitment enabled (the API reference);
    AWS's texts for the two refusals were not recorded."""
    stream = state.active(ctx, params)
    if stream.mode != "ON_DEMAND":
        raise InvalidArgumentException(
            f"Warm throughput is only supported for ON_DEMAND streams. Stream {stream.name} under "
            f"account {stream.account} is in {stream.mode} mode."
        )
    settings = _load(state, ctx.account_id, ctx.region)
    if _current_status(settings, state.now_ms()) == "DISABLED":
        raise InvalidArgumentException(
            f"Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account "
            f"{stream.account}."
        )
    stream.warm_mibps = int(params["WarmThroughputMiBps"])
    state.transition(stream, "UPDATING")
    state.save(stream)
    return {"StreamARN": stream.arn, "StreamName": stream.name, "WarmThroughput": warm_throughput(stream)}
