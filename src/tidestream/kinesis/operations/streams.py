"""Stream lifecycle and settings: create, delete, describe, list, mode, retention, monitoring,
encryption, limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import nexttokens
from ...context import RequestContext
from ...errors import InvalidArgumentException, ResourceInUseException, ValidationException
from .. import records
from ..messages import shard_limit, stream_exists
from ..shards import even_ranges, parse_shard_id
from ..state import KinesisState
from ..streams import ALL_METRICS, Stream, shard_view, summary
from . import operation
from .account import warm_throughput

if TYPE_CHECKING:
    from ...protocol.shapes.kinesis import (
        CreateStreamInput,
        DecreaseStreamRetentionPeriodInput,
        DeleteStreamInput,
        DescribeLimitsInput,
        DescribeStreamInput,
        DescribeStreamSummaryInput,
        DisableEnhancedMonitoringInput,
        EnableEnhancedMonitoringInput,
        IncreaseStreamRetentionPeriodInput,
        ListStreamsInput,
        StartStreamEncryptionInput,
        StopStreamEncryptionInput,
        UpdateMaxRecordSizeInput,
        UpdateStreamModeInput,
    )


ON_DEMAND_SHARDS = 4
MAX_TAGS = 50
ON_DEMAND_STREAM_LIMIT = 50


def account_shard_limit(region: str) -> int:
    """AWS's default open-shard quota per account: 500 in the big three regions, else 200."""
    return 500 if region in ("us-east-1", "us-west-2", "eu-west-1") else 200


#: open shards per account and region even with ``--kinesis-limits off``: a request for 10^29
#: shards must be refused, not attempted (it held the event loop until the process died)
UNLIMITED_SHARD_CEILING = 10_000


def check_shard_limit(state, account: str, region: str, extra: int) -> None:
    current = state.open_shard_count(account, region)
    limit = account_shard_limit(region) if state.limits.enabled else UNLIMITED_SHARD_CEILING
    if current + extra > limit:
        raise shard_limit(account, region, current, limit, extra)


@operation("CreateStream")
def create_stream(state: KinesisState, ctx: RequestContext, params: CreateStreamInput) -> None:
    name = params["StreamName"]
    details = params.get("StreamModeDetails")
    mode = details.get("StreamMode") if details else None
    count = params.get("ShardCount")
    if mode is None:
        mode = "PROVISIONED" if count is not None else "ON_DEMAND"
    if mode == "ON_DEMAND":
        count = count or ON_DEMAND_SHARDS
    elif count is None:
        raise InvalidArgumentException("ShardCount is required for PROVISIONED streams.")
    existing = state.lookup(ctx.account_id, ctx.region, name, stored=True)
    if existing is not None and state.settle(existing) is not None:
        raise stream_exists(name, ctx.account_id)
    check_shard_limit(state, ctx.account_id, ctx.region, count)
    tags = params.get("Tags") or {}
    if len(tags) > MAX_TAGS:
        raise InvalidArgumentException(
            f"Failed to create stream {name} under account {ctx.account_id} because a given "
            f"stream cannot have more than {MAX_TAGS} tags."
        )
    now = state.now_ms()
    sid, id_write = state.allocate_id()
    stream = Stream(
        sid,
        ctx.account_id,
        ctx.region,
        name,
        now,
        mode,
        tags=dict(tags),
        max_record_kib=int(params.get("MaxRecordSizeInKiB") or 1024),
    )
    extra: list[tuple[bytes, bytes | None]] = [id_write]
    for lo, hi in even_ranges(count):
        shard = state.open_shard(stream, lo, hi, now)
        extra.append((records.counter_key(sid, shard.index), records.encode_counter(0, now)))
    stream.rebuild_router()
    state.transition(stream, "CREATING")
    state.catalog.add(stream)
    state.save(stream, extra)
    return None


@operation("DeleteStream")
def delete_stream(state: KinesisState, ctx: RequestContext, params: DeleteStreamInput) -> None:
    stream = state.resolve(ctx, params)
    if stream.status == "DELETING":
        return None
    if state.consumers.of_stream(stream.id, state.now_ms()) and not params.get("EnforceConsumerDeletion"):
        raise ResourceInUseException(
            f"Stream {stream.name} under account {stream.account} has registered consumers. "
            "Deregister them first or set EnforceConsumerDeletion."
        )
    state.consumers.drop_stream(stream.id)
    state.fanout.appended(stream.id)  # live subscriptions notice and end
    state.transition(stream, "DELETING")
    state.save(stream)
    state.settle(stream)
    return None


def _monitoring(stream: Stream) -> list[dict[str, Any]]:
    return [{"ShardLevelMetrics": list(stream.metrics)}]


@operation("DescribeStream")
def describe_stream(state: KinesisState, ctx: RequestContext, params: DescribeStreamInput) -> dict:
    stream = state.resolve(ctx, params)
    limit = min(params.get("Limit") or 100, 10000)
    after = params.get("ExclusiveStartShardId")
    shards = [] if stream.status == "CREATING" else sorted(stream.shards.values(), key=lambda s: s.index)
    if after:
        idx = parse_shard_id(after)
        shards = [s for s in shards if idx is None or s.index > idx]
    page = shards[:limit]
    ts = state.ts(ctx)
    desc: dict[str, Any] = {
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status,
        "StreamModeDetails": {"StreamMode": stream.mode},
        "Shards": [shard_view(stream, s) for s in page],
        "HasMoreShards": len(shards) > len(page),
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": ts(stream.created_ms),
        "EnhancedMonitoring": _monitoring(stream),
        "EncryptionType": stream.encryption,
    }
    if stream.key_id:
        desc["KeyId"] = stream.key_id
    return {"StreamDescription": desc}


@operation("DescribeStreamSummary")
def describe_stream_summary(
    state: KinesisState, ctx: RequestContext, params: DescribeStreamSummaryInput
) -> dict:
    stream = state.resolve(ctx, params)
    ts = state.ts(ctx)
    desc: dict[str, Any] = {
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status,
        "StreamModeDetails": {"StreamMode": stream.mode},
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": ts(stream.created_ms),
        "EnhancedMonitoring": _monitoring(stream),
        "EncryptionType": stream.encryption,
    }
    if stream.key_id:
        desc["KeyId"] = stream.key_id
    desc["OpenShardCount"] = len(stream.open_shards())
    desc["ConsumerCount"] = len(state.consumers.of_stream(stream.id, state.now_ms()))
    desc["MaxRecordSizeInKiB"] = stream.max_record_kib
    warm = warm_throughput(stream)
    if warm is not None:
        desc["WarmThroughput"] = warm
    return {"StreamDescriptionSummary": desc}


@operation("UpdateMaxRecordSize")
def update_max_record_size(
    state: KinesisState, ctx: RequestContext, params: UpdateMaxRecordSizeInput
) -> None:
    """The largest record (partition key + data) the stream accepts, 1024..10240 KiB."""
    stream = state.active(ctx, params)
    stream.max_record_kib = int(params["MaxRecordSizeInKiB"])
    state.save(stream)
    return None


def _token(name: str) -> str:
    return nexttokens.encode({"after": name})


def _untoken(token: str) -> str:
    try:
        after = nexttokens.decode(token).get("after")
    except nexttokens.BadToken:
        after = None
    if not isinstance(after, str):
        raise InvalidArgumentException("Invalid NextToken.")
    return after


@operation("ListStreams")
def list_streams(state: KinesisState, ctx: RequestContext, params: ListStreamsInput) -> dict:
    limit = min(params.get("Limit") or 100, 10000)
    after = params.get("ExclusiveStartStreamName")
    if params.get("NextToken"):
        after = _untoken(params["NextToken"])
    if state.shared is not None:  # a cluster node lists what is stored (streams of other nodes)
        state.shared.reload_all()
    streams = [s for s in state.catalog.in_region(ctx.account_id, ctx.region) if state.settle(s) is not None]
    if after:
        streams = [s for s in streams if s.name > after]
    page = streams[:limit]
    ts = state.ts(ctx)
    out: dict[str, Any] = {"StreamNames": [s.name for s in page], "HasMoreStreams": len(streams) > len(page)}
    if out["HasMoreStreams"] and page:
        out["NextToken"] = _token(page[-1].name)
    out["StreamSummaries"] = [summary(s, ts) for s in page]
    return out


@operation("UpdateStreamMode")
def update_stream_mode(state: KinesisState, ctx: RequestContext, params: UpdateStreamModeInput) -> None:
    stream = state.active(ctx, params)
    mode = (params.get("StreamModeDetails") or {}).get("StreamMode")
    if mode not in ("PROVISIONED", "ON_DEMAND"):
        raise ValidationException("StreamModeDetails.StreamMode must be PROVISIONED or ON_DEMAND")
    stream.mode = mode
    state.transition(stream, "UPDATING")
    state.save(stream)
    return None


def _check_retention(hours: int) -> None:
    if hours < 24:
        raise InvalidArgumentException(
            f"Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is too short."
        )
    if hours > 8760:
        raise InvalidArgumentException(
            f"Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is too long."
        )


@operation("IncreaseStreamRetentionPeriod")
def increase_retention(
    state: KinesisState, ctx: RequestContext, params: IncreaseStreamRetentionPeriodInput
) -> None:
    stream = state.active(ctx, params)
    hours = params["RetentionPeriodHours"]
    _check_retention(hours)
    if hours < stream.retention_hours:
        raise InvalidArgumentException(
            f"Requested retention period ({hours} hours) for stream {stream.name} can not be shorter "
            f"than existing retention period ({stream.retention_hours} hours). Use DecreaseRetentionPeriod API."
        )
    stream.retention_hours = hours
    state.save(stream)
    return None


@operation("DecreaseStreamRetentionPeriod")
def decrease_retention(
    state: KinesisState, ctx: RequestContext, params: DecreaseStreamRetentionPeriodInput
) -> None:
    stream = state.active(ctx, params)
    hours = params["RetentionPeriodHours"]
    _check_retention(hours)
    if hours > stream.retention_hours:
        raise InvalidArgumentException(
            f"Requested retention period ({hours} hours) for stream {stream.name} can not be longer "
            f"than existing retention period ({stream.retention_hours} hours). Use IncreaseRetentionPeriod API."
        )
    stream.retention_hours = hours
    state.save(stream)
    return None


def _metrics_arg(params: Mapping[str, Any]) -> set[str]:
    wanted = set(params.get("ShardLevelMetrics") or [])
    return set(ALL_METRICS) if "ALL" in wanted else wanted


def _monitoring_result(stream: Stream, current: list[str]) -> dict:
    return {
        "StreamName": stream.name,
        "CurrentShardLevelMetrics": current,
        "DesiredShardLevelMetrics": list(stream.metrics),
        "StreamARN": stream.arn,
    }


@operation("EnableEnhancedMonitoring")
def enable_monitoring(
    state: KinesisState, ctx: RequestContext, params: EnableEnhancedMonitoringInput
) -> dict:
    stream = state.active(ctx, params)
    current = list(stream.metrics)
    wanted = set(current) | _metrics_arg(params)
    stream.metrics = [m for m in ALL_METRICS if m in wanted]
    state.save(stream)
    return _monitoring_result(stream, current)


@operation("DisableEnhancedMonitoring")
def disable_monitoring(
    state: KinesisState, ctx: RequestContext, params: DisableEnhancedMonitoringInput
) -> dict:
    stream = state.active(ctx, params)
    current = list(stream.metrics)
    drop = _metrics_arg(params)
    stream.metrics = [m for m in current if m not in drop]
    state.save(stream)
    return _monitoring_result(stream, current)


@operation("StartStreamEncryption")
def start_encryption(state: KinesisState, ctx: RequestContext, params: StartStreamEncryptionInput) -> None:
    stream = state.active(ctx, params)
    if params.get("EncryptionType") != "KMS":
        raise InvalidArgumentException("Invalid EncryptionType. Only KMS is supported.")
    stream.encryption = "KMS"
    stream.key_id = params["KeyId"]
    state.transition(stream, "UPDATING")
    state.save(stream)
    return None


@operation("StopStreamEncryption")
def stop_encryption(state: KinesisState, ctx: RequestContext, params: StopStreamEncryptionInput) -> None:
    stream = state.active(ctx, params)
    stream.encryption = "NONE"
    stream.key_id = None
    state.transition(stream, "UPDATING")
    state.save(stream)
    return None


@operation("DescribeLimits")
def describe_limits(state: KinesisState, ctx: RequestContext, params: DescribeLimitsInput) -> dict:
    if state.shared is not None:  # a cluster node counts what is stored (streams of other nodes)
        state.shared.reload_all()
    streams = state.catalog.in_region(ctx.account_id, ctx.region)
    return {
        "ShardLimit": account_shard_limit(ctx.region),
        "OpenShardCount": sum(len(s.open_shards()) for s in streams),
        "OnDemandStreamCount": sum(1 for s in streams if s.mode == "ON_DEMAND"),
        "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT,
    }
