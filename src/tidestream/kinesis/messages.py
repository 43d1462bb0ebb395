"""AWS's Kinesis error texts in one place, so operations stay short and wording stays exact."""

from __future__ import annotations

import time

from ..errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)


def stream_not_found(name: str, account: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Stream {name} under account {account} not found.")


def stream_exists(name: str, account: str) -> ResourceInUseException:
    return ResourceInUseException(f"Stream {name} under account {account} already exists.")


def not_active(name: str, account: str, status: str) -> ResourceInUseException:
    return ResourceInUseException(
        f"Stream {name} under account {account} not ACTIVE, instead in state {status}"
    )


def shard_missing(shard: str, name: str, account: str) -> ResourceNotFoundException:
    """GetShardIterator/GetRecords wording."""
    return ResourceNotFoundException(f"Shard {shard} in stream {name} under account {account} does not exist")


def shard_not_found(shard: str, name: str, account: str) -> ResourceNotFoundException:
    """SplitShard/MergeShards wording, and every operation's for an id that names no shard."""
    return ResourceNotFoundException(
        f"Could not find shard {shard} in stream {name} under account {account}."
    )


def invalid_iterator() -> InvalidArgumentException:
    return InvalidArgumentException("Invalid ShardIterator.")


def amz_time(ms: int) -> str:
    """Java ``Date.toString`` in UTC, as AWS prints times in iterator errors."""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


def rate_exceeded(shard: str, name: str, account: str) -> str:
    return f"Rate exceeded for shard {shard} in stream {name} under account {account}."


def shard_limit(account: str, region: str, current: int, limit: int, extra: int) -> LimitExceededException:
    return LimitExceededException(
        f"This request would exceed the shard limit for the account {account} in {region}. "
        f"Current shard count for the account: {current}. Limit: {limit}. Number of additional "
        f"shards that would have resulted from this request: {extra}. Refer to the AWS Service "
        "Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) "
        "for current limits and how to request higher limits."
    )
