"""Resource-based policies on tables and streams through boto3: revisions, conditional puts
and deletes, validation, durability, and AWS's errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table, start_server


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _policy(arn: str, action: str = "dynamodb:GetItem") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": action,
                    "Resource": arn,
                }
            ],
        }
    )


def _table_arn(ddb, name: str) -> str:
    make_table(ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def test_put_get_delete_with_revisions(ddb):
    arn = _table_arn(ddb, "guarded")
    with pytest.raises(ClientError) as e:
        ddb.get_resource_policy(ResourceArn=arn)
    assert _err(e) == (
        "PolicyNotFoundException",
        f"Resource-based policy not found for the provided ResourceArn: {arn}",
    )
    first = ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn))["RevisionId"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == _policy(arn) and got["RevisionId"] == first
    # the same document again is idempotent; a new one gets a new revision
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn))["RevisionId"] == first
    second = ddb.put_resource_policy(
        ResourceArn=arn, Policy=_policy(arn, "dynamodb:*"), ExpectedRevisionId=first
    )["RevisionId"]
    assert second != first
    with pytest.raises(ClientError) as e:  # stale revision
        ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn), ExpectedRevisionId=first)
    assert _err(e)[0] == "PolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn), ExpectedRevisionId="NO_POLICY")
    assert _err(e)[0] == "PolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=first)
    assert _err(e)[0] == "PolicyNotFoundException"
    assert ddb.get_resource_policy(ResourceArn=arn)["RevisionId"] == second
    assert ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=second)["RevisionId"] == second
    with pytest.raises(ClientError) as e:
        ddb.delete_resource_policy(ResourceArn=arn)
    assert _err(e)[0] == "PolicyNotFoundException"


def test_stream_policy_is_separate(ddb):
    arn = _table_arn(ddb, "streamy")
    stream = ddb.describe_table(TableName="streamy")["Table"]["LatestStreamArn"]
    ddb.put_resource_policy(
        ResourceArn=stream, Policy=_policy(stream, "dynamodb:GetRecords"), ExpectedRevisionId="NO_POLICY"
    )
    assert "GetRecords" in ddb.get_resource_policy(ResourceArn=stream)["Policy"]
    with pytest.raises(ClientError) as e:
        ddb.get_resource_policy(ResourceArn=arn)
    assert _err(e)[0] == "PolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ddb.get_resource_policy(ResourceArn=arn + "/stream/1999-01-01T00:00:00.000")
    assert _err(e)[0] == "ResourceNotFoundException"


def test_policy_validation_and_missing_table(ddb):
    arn = _table_arn(ddb, "checked")
    for bad in ("not json", "[]", json.dumps({"Version": "2012-10-17"})):
        with pytest.raises(ClientError) as e:
            ddb.put_resource_policy(ResourceArn=arn, Policy=bad)
        assert _err(e)[0] == "ValidationException"
    big = json.dumps({"Statement": [{"Effect": "Allow", "Sid": "x" * 21000}]})
    with pytest.raises(ClientError) as e:
        ddb.put_resource_policy(ResourceArn=arn, Policy=big)
    assert _err(e)[0] == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        ddb.get_resource_policy(ResourceArn=arn)
    assert _err(e)[0] == "PolicyNotFoundException"  # nothing was written
    missing = arn.replace("table/checked", "table/nothere")
    with pytest.raises(ClientError) as e:
        ddb.put_resource_policy(ResourceArn=missing, Policy=_policy(missing))
    assert _err(e)[0] == "ResourceNotFoundException"


def test_policy_survives_restart_and_goes_with_the_table(tmp_path):
    s = start_server(tmp_path)
    try:
        ddb = s.client()
        arn = _table_arn(ddb, "kept")
        rev = ddb.put_resource_policy(ResourceArn=arn, Policy=_policy(arn))["RevisionId"]
        assert s.stop() == 0
        s.start()
        ddb = s.client()
        assert ddb.get_resource_policy(ResourceArn=arn)["RevisionId"] == rev
        ddb.delete_table(TableName="kept")
        _table_arn(ddb, "kept")
        with pytest.raises(ClientError) as e:
            ddb.get_resource_policy(ResourceArn=arn)
        assert _err(e)[0] == "PolicyNotFoundException"
    finally:
        s.stop()


def test_create_table_with_resource_policy(ddb):
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/born"
    with pytest.raises(ClientError) as e:
        make_table(ddb, "born", ResourcePolicy="{not json")
    assert _err(e)[0] == "ValidationException"
    assert ddb.list_tables()["TableNames"] == []  # refused before anything was written
    make_table(ddb, "born", ResourcePolicy=_policy(arn))
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == _policy(arn) and got["RevisionId"].isdigit()
