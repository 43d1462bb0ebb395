"""Fidelity round 4: Kinesis, DynamoDB Streams and STS against today's AWS.

Sources:
- LocalStack ``tests/aws/services/kinesis/test_kinesis.py``
  ``test_get_records_shard_iterator_with_surrounding_quotes`` (marked ``aws.validated``: run
  against AWS): GetRecords accepts a shard iterator wrapped in double quotes and returns its
  records.
- botocore's kinesis model (2025-2026 members) and the Kinesis API reference:
  DescribeAccountSettings / UpdateAccountSettings (``MinimumThroughputBillingCommitment`` with
  ``Status`` ENABLED, DISABLED or ENABLED_UNTIL_EARLIEST_ALLOWED_END, ``StartedAt``, ``EndedAt``,
  ``EarliestAllowedEndAt``); UpdateStreamWarmThroughput "is only supported for data streams with
  the on-demand capacity mode in accounts that have MinimumThroughputBillingCommitment enabled";
  DescribeStreamSummary's ``WarmThroughput`` ("only present for On-Demand Kinesis Data Streams in
  accounts that have MinimumThroughputBillingCommitment enabled"). The refusals' texts were not
  recorded: the tests pin the error code and that nothing changed.
"""

from __future__ import annotations

import pytest

from tests.conftest import ServerProcess, start_server
from tests.e2e.kinesis_conformance_helpers import client, fails, wait_active


@pytest.fixture
def kin(srv):
    return client(srv)


def _one_shard_iterator(kin, name: str) -> str:
    shard = kin.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]["ShardId"]
    return kin.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]


def test_get_records_accepts_an_iterator_in_quotes(kin):
    """LocalStack test_get_records_shard_iterator_with_surrounding_quotes (AWS-validated)."""
    kin.create_stream(StreamName="quoted", ShardCount=1)
    wait_active(kin, "quoted")
    kin.put_records(StreamName="quoted", Records=[{"Data": b"Hello world", "PartitionKey": "1"}])
    iterator = _one_shard_iterator(kin, "quoted")
    records = kin.get_records(ShardIterator=f'"{iterator}"')["Records"]
    assert [r["Data"] for r in records] == [b"Hello world"]
    # only the quotes are forgiven: anything else around a valid iterator is still refused
    assert fails(kin.get_records, ShardIterator=f"'{iterator}'") == (
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )
    assert fails(kin.get_records, ShardIterator=f'"{iterator}') == (
        "InvalidArgumentException",
        "Invalid ShardIterator.",
    )


def test_account_settings_start_disabled_and_survive_a_restart(tmp_path):
    """DescribeAccountSettings / UpdateAccountSettings (botocore's kinesis model)."""
    s = start_server(tmp_path)
    try:
        kin = client(s)
        assert kin.describe_account_settings()["MinimumThroughputBillingCommitment"] == {"Status": "DISABLED"}
        enabled = kin.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})[
            "MinimumThroughputBillingCommitment"
        ]
        assert enabled["Status"] == "ENABLED"
        assert enabled["EarliestAllowedEndAt"] > enabled["StartedAt"]
        # re-enabling keeps the commitment's start
        again = kin.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        assert again["MinimumThroughputBillingCommitment"]["StartedAt"] == enabled["StartedAt"]
        assert s.stop() == 0
        s = ServerProcess(s.port, s.data_dir, s.args, log_path=s.log_path).start()
        kin = client(s)
        after = kin.describe_account_settings()["MinimumThroughputBillingCommitment"]
        assert after == enabled
        # disabling inside the minimum commitment leaves it on until its earliest end
        ended = kin.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})[
            "MinimumThroughputBillingCommitment"
        ]
        assert ended["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
        assert ended["EndedAt"] == enabled["EarliestAllowedEndAt"]
    finally:
        s.stop()


def test_update_account_settings_refuses_an_unknown_status(kin):
    code, message = fails(kin.update_account_settings, MinimumThroughputBillingCommitment={"Status": "ON"})
    assert code == "ValidationException"
    assert "Member must satisfy enum value set: [ENABLED, DISABLED]" in message
    assert kin.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "DISABLED"


def test_warm_throughput_needs_an_on_demand_stream_and_the_commitment(kin):
    """UpdateStreamWarmThroughput's two preconditions (the API reference), then its answer and
    DescribeStreamSummary's WarmThroughput."""
    kin.create_stream(StreamName="warm", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kin.create_stream(StreamName="cold", ShardCount=1)
    wait_active(kin, "warm")
    wait_active(kin, "cold")
    code, message = fails(kin.update_stream_warm_throughput, StreamName="warm", WarmThroughputMiBps=100)
    assert code == "InvalidArgumentException"
    assert "MinimumThroughputBillingCommitment" in message
    kin.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    code, message = fails(kin.update_stream_warm_throughput, StreamName="cold", WarmThroughputMiBps=100)
    assert code == "InvalidArgumentException"
    assert "ON_DEMAND" in message
    assert "WarmThroughput" not in kin.describe_stream_summary(StreamName="cold")["StreamDescriptionSummary"]
    out = kin.update_stream_warm_throughput(StreamName="warm", WarmThroughputMiBps=100)
    arn = kin.describe_stream_summary(StreamName="warm")["StreamDescriptionSummary"]["StreamARN"]
    assert (out["StreamARN"], out["StreamName"]) == (arn, "warm")
    assert out["WarmThroughput"] == {"TargetMiBps": 100, "CurrentMiBps": 100}
    wait_active(kin, "warm")
    summary = kin.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["WarmThroughput"] == {"TargetMiBps": 100, "CurrentMiBps": 100}
    code, message = fails(kin.update_stream_warm_throughput, StreamName="warm", WarmThroughputMiBps=-1)
    assert code == "ValidationException"
    assert "Member must have value greater than or equal to 0" in message
