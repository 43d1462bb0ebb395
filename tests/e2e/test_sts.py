"""STS over the Query protocol on the same port: GetCallerIdentity and AssumeRole with boto3 and
the AWS CLI; issued credentials work (and verify under ``--auth enforce``); XML errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.conftest import make_table, start_server

ROLE = "arn:aws:iam::222233334444:role/app/deployer"
NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def _session_client(srv, service: str, creds: dict):
    return boto3.client(
        service,
        endpoint_url=srv.endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def test_get_caller_identity(srv):
    who = srv.client("sts", access_key="123456789012").get_caller_identity()
    assert who["Account"] == "123456789012"
    assert who["Arn"] == "arn:aws:iam::123456789012:root"
    default = srv.client("sts").get_caller_identity()
    assert default["Account"] == "000000000000"


def test_assume_role_credentials_act_in_the_roles_account(srv):
    sts = srv.client("sts")
    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="ci-run", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["SessionToken"] and len(creds["SecretAccessKey"]) == 40
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::222233334444:assumed-role/deployer/ci-run"
    assert out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":ci-run")
    who = _session_client(srv, "sts", creds).get_caller_identity()
    assert who["Account"] == "222233334444" and who["Arn"] == out["AssumedRoleUser"]["Arn"]
    ddb = _session_client(srv, "dynamodb", creds)
    make_table(ddb, "roletable")
    arn = ddb.describe_table(TableName="roletable")["Table"]["TableArn"]
    assert arn == "arn:aws:dynamodb:us-east-1:222233334444:table/roletable"
    assert srv.client("dynamodb").list_tables()["TableNames"] == []  # not the default account


def test_query_protocol_errors(srv):
    sts = srv.client("sts")
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn="arn:aws:iam::role/missing-account", RoleSessionName="ss")
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "ValidationError",
        "arn:aws:iam::role/missing-account is invalid",
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # what botocore would refuse client-side, sent by hand: the server's own validation
    req = urllib.request.Request(
        srv.endpoint + "/",
        method="POST",
        data=b"Action=AssumeRole&Version=2011-06-15&RoleArn=" + ROLE.encode() + b"&RoleSessionName=x"
        b"&DurationSeconds=60",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with pytest.raises(urllib.error.HTTPError) as h:
        urllib.request.urlopen(req, timeout=10)
    assert h.value.code == 400
    root = ET.fromstring(h.value.read())
    assert root.tag == NS + "ErrorResponse"
    assert root.find(f"{NS}Error/{NS}Code").text == "ValidationError"
    message = root.find(f"{NS}Error/{NS}Message").text
    assert message.startswith("2 validation errors detected: ")
    assert (
        "at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        in message
    )
    assert (
        "at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        in message
    )
    assert root.find(f"{NS}RequestId").text
    req = urllib.request.Request(
        srv.endpoint + "/",
        method="POST",
        data=b"Action=DeleteEverything&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as h:
        urllib.request.urlopen(req, timeout=10)
    root = ET.fromstring(h.value.read())
    assert (h.value.code, root.find(f"{NS}Error/{NS}Code").text) == (400, "InvalidAction")


def test_aws_cli_get_caller_identity_and_assume_role(srv):
    exe = shutil.which("aws")
    assert exe, "the AWS CLI (`aws`) must be on PATH for this test (it comes with the machine image)"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="111122223333",
        AWS_SECRET_ACCESS_KEY="cli",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )

    def aws(*args: str) -> dict:
        out = subprocess.run(
            [exe, "--endpoint-url", srv.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert aws("sts", "get-caller-identity") == {
        "UserId": "111122223333",
        "Account": "111122223333",
        "Arn": "arn:aws:iam::111122223333:root",
    }
    creds = aws("sts", "assume-role", "--role-arn", ROLE, "--role-session-name", "cli")["Credentials"]
    env.update(
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
    )
    assert aws("sts", "get-caller-identity")["Account"] == "222233334444"


@pytest.fixture
def enforcing(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("AKIDSTS0000000000001 s3cr3t-key 444455556666\n")
    s = start_server(tmp_path, "--auth", "enforce", "--credentials", str(creds), on_disk=False)
    yield s
    s.stop()


def test_issued_credentials_verify_under_auth_enforce(enforcing):
    sts = boto3.client(
        "sts",
        endpoint_url=enforcing.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDSTS0000000000001",
        aws_secret_access_key="s3cr3t-key",
    )
    assert sts.get_caller_identity()["Account"] == "444455556666"
    creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="enforced")["Credentials"]
    ddb = _session_client(enforcing, "dynamodb", creds)
    make_table(ddb, "enforced")
    assert ddb.list_tables()["TableNames"] == ["enforced"]
    forged = dict(creds, SecretAccessKey="x" * 40)
    with pytest.raises(ClientError) as e:
        _session_client(enforcing, "dynamodb", forged).list_tables()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    bad = boto3.client(
        "sts",
        endpoint_url=enforcing.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDUNKNOWN000000000",
        aws_secret_access_key="nope",
    )
    with pytest.raises(ClientError) as e:
        bad.get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_health_lists_sts(srv):
    import json
    import urllib.request

    with urllib.request.urlopen(srv.endpoint + "/_tidestream/health", timeout=5) as r:
        assert "sts" in json.loads(r.read())["services"]
