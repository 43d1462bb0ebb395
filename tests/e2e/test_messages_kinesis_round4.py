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
- DynamoDB Streams' ExpiredIteratorException text "Shard iterator has expired": AWS's answer
  quoted by spring-integration-aws pull request 59 ("(Service: AmazonDynamoDBStreams; Status
  Code: 400; Error Code: ExpiredIteratorException; Request ID: 65MHG5...)"). It replaced the
  model's documentation sentence "The provided iterator exceeds the maximum age allowed.".
- STS: see each test.
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


def test_a_consumer_arn_has_its_own_tags_and_policy(kin):
    """TagResource/UntagResource/ListTagsForResource and the resource-policy operations take "a
    data stream, a queue, or an enhanced fan-out consumer" (the API reference, botocore's model;
    RegisterStreamConsumer's Tags member). A consumer ARN used to reach its stream: tagging the
    consumer tagged the stream, and its policy replaced the stream's."""
    kin.create_stream(StreamName="owner", ShardCount=1)
    wait_active(kin, "owner")
    arn = kin.describe_stream_summary(StreamName="owner")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kin.register_stream_consumer(StreamARN=arn, ConsumerName="reader", Tags={"team": "a"})[
        "Consumer"
    ]["ConsumerARN"]
    kin.tag_resource(ResourceARN=consumer, Tags={"env": "test"})
    kin.tag_resource(ResourceARN=arn, Tags={"stream": "yes"})
    assert kin.list_tags_for_resource(ResourceARN=consumer)["Tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "a"},
    ]
    assert kin.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "stream", "Value": "yes"}]
    kin.untag_resource(ResourceARN=consumer, TagKeys=["team"])
    assert kin.list_tags_for_resource(ResourceARN=consumer)["Tags"] == [{"Key": "env", "Value": "test"}]
    policy = '{"Version":"2012-10-17","Statement":[]}'
    kin.put_resource_policy(ResourceARN=consumer, Policy=policy)
    assert kin.get_resource_policy(ResourceARN=consumer)["Policy"] == policy
    assert kin.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    kin.delete_resource_policy(ResourceARN=consumer)
    assert kin.get_resource_policy(ResourceARN=consumer)["Policy"] == "{}"
    code, message = fails(kin.list_tags_for_resource, ResourceARN=arn + "/consumer/absent:1700000000")
    assert (code, message) == (
        "ResourceNotFoundException",
        f"Consumer {arn}/consumer/absent:1700000000 not found.",
    )


# -- STS -------------------------------------------------------------------------------------------
ROLE = "arn:aws:iam::222233334444:role/web"


def _sts(endpoint: str, **creds):
    import boto3
    from botocore.config import Config

    creds = creds or {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
    return boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
        **creds,
    )


def _jwt(claims: dict) -> str:
    import base64
    import json

    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


def test_get_session_token_refuses_session_credentials(srv):
    """AWS: 403 AccessDenied "Cannot call GetSessionToken with session credentials" (aws-sdk-net
    issue 1704, aws-sdk-js issue 3670, Hadoop S3A ITestS3ATemporaryCredentials run against AWS)."""
    creds = _sts(srv.endpoint).get_session_token()["Credentials"]
    session = _sts(
        srv.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    with pytest.raises(Exception) as e:
        session.get_session_token()
    response = e.value.response
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["Error"]["Message"] == "Cannot call GetSessionToken with session credentials"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # the session still works for what it may do
    assert session.get_caller_identity()["Account"] == "000000000000"


def test_assume_role_with_web_identity_issues_working_credentials(srv):
    """What the SDKs' web-identity credential providers (EKS, GitHub Actions) call, unsigned."""
    token = _jwt(
        {
            "sub": "system:serviceaccount:ns:app",
            "iss": "https://oidc.example/id/1",
            "aud": ["sts.amazonaws.com"],
        }
    )
    out = _sts(srv.endpoint).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=token
    )
    assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:ns:app"
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::222233334444:assumed-role/web/pod"
    assert out["Provider"] == "arn:aws:iam::222233334444:oidc-provider/oidc.example/id/1"
    assert out["Audience"] == "sts.amazonaws.com"
    creds = out["Credentials"]
    who = _sts(
        srv.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert (who["Account"], who["Arn"]) == ("222233334444", out["AssumedRoleUser"]["Arn"])


@pytest.mark.parametrize("token", ["not-a-jwt-token", "a.b", "e30..sig", "aaaa.bm90IGpzb24.sig"])
def test_assume_role_with_web_identity_refuses_what_is_not_a_jwt(srv, token):
    """AWS's text for an access token or garbage (AWS's Cognito troubleshooting page quotes the
    STS error body; EKS users' logs show the same at HTTP 400)."""
    with pytest.raises(Exception) as e:
        _sts(srv.endpoint).assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=token.ljust(4, "x")
        )
    response = e.value.response
    assert response["Error"]["Code"] == "InvalidIdentityToken"
    assert response["Error"]["Message"] == (
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_assume_role_with_web_identity_is_refused_under_auth_enforce(tmp_path):
    """The token's signature cannot be checked here, so an unsigned call must not mint
    credentials when authentication is enforced."""
    creds = tmp_path / "creds"
    creds.write_text("AKIDSTS0000000000001 s3cr3t-key 444455556666\n")
    s = start_server(tmp_path, "--auth", "enforce", "--credentials", str(creds), on_disk=False)
    try:
        with pytest.raises(Exception) as e:
            _sts(s.endpoint).assume_role_with_web_identity(
                RoleArn=ROLE, RoleSessionName="pod", WebIdentityToken=_jwt({"sub": "x"})
            )
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert e.value.response["Error"]["Code"] == "MissingAuthenticationToken"
    finally:
        s.stop()


# -- DynamoDB Streams ----------------------------------------------------------------------------
def test_dynamodb_streams_expired_iterator_text():
    """An iterator past its 15 minutes answers AWS's text (spring-integration-aws pull request 59).
    The server's clock cannot be moved from outside, so the iterator module is called as the
    GetRecords operation calls it, with a real iterator issued for a real-shaped ARN."""
    from tidestream.dynamodbstreams import iterators
    from tidestream.errors import ExpiredIteratorException

    secret = b"k" * 32
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2026-01-01T00:00:00.000"
    token = iterators.issue(secret, arn, 1, 5, 1_000)
    assert iterators.open_(secret, token, 1_000 + iterators.TTL_MS).counter == 5
    with pytest.raises(ExpiredIteratorException) as e:
        iterators.open_(secret, token, 1_000 + iterators.TTL_MS + 1)
    assert (e.value.code, e.value.message, e.value.status) == (
        "ExpiredIteratorException",
        "Shard iterator has expired",
        400,
    )
