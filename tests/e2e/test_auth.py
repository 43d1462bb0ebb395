"""``--auth enforce``: SigV4 verified against a credentials file, with real boto3 clients.

botocore's signer is the oracle: whatever it signs must pass, and any change after signing
(body, headers, clock) must be answered with AWS's exact error.
"""

from __future__ import annotations

import datetime
import gzip
import http.client
from unittest import mock

import boto3
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import start_server

A_KEY, A_SECRET, A_ACCOUNT = "AKIAALICE0000000001", "alice/secret+key", "111111111111"
B_KEY, B_SECRET, B_ACCOUNT = "AKIABOB000000000002", "bob-secret", "222222222222"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auth")
    creds = tmp / "credentials"
    creds.write_text(
        f"# test credentials\n{A_KEY} {A_SECRET} {A_ACCOUNT}\n\n"
        f"{B_KEY}   {B_SECRET}   {B_ACCOUNT}  # second account\n"
    )
    s = start_server(tmp, "--auth", "enforce", "--credentials", str(creds), on_disk=False)
    yield s
    assert s.stop() == 0, s.read_log()


@pytest.fixture
def asrv(auth_server):
    auth_server.reset()
    return auth_server


def client(srv, service="dynamodb", key=A_KEY, secret=A_SECRET, region="us-east-1"):
    return boto3.client(
        service,
        endpoint_url=srv.endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def signed(
    srv,
    target,
    body: bytes,
    *,
    key=A_KEY,
    secret=A_SECRET,
    region="us-east-1",
    service="dynamodb",
    stamp: str | None = None,
    extra: dict | None = None,
):
    """(headers, body) signed by botocore; ``stamp`` freezes X-Amz-Date."""
    host = f"127.0.0.1:{srv.port}"
    ctype = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"
    h = {"Host": host, "X-Amz-Target": target, "Content-Type": ctype}
    h.update(extra or {})
    req = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers=h)
    signer = SigV4Auth(Credentials(key, secret), service, region)
    if stamp is None:
        signer.add_auth(req)
    else:
        req.context["timestamp"] = stamp
        signer._modify_request_before_signing(req)
        creq = signer.canonical_request(req)
        signer._inject_signature_to_request(req, signer.signature(signer.string_to_sign(req, creq), req))
    return dict(req.headers.items()), body


def send(srv, headers: dict, body: bytes):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("POST", "/", body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, orjson.loads(data) if data else {}


def _create_table(ddb, name="tbl1"):
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_good_credentials_dynamodb_and_kinesis(asrv):
    ddb = client(asrv)
    _create_table(ddb)
    ddb.put_item(TableName="tbl1", Item={"k": {"S": "a"}, "v": {"N": "1"}})
    assert ddb.get_item(TableName="tbl1", Key={"k": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    arn = ddb.describe_table(TableName="tbl1")["Table"]["TableArn"]
    assert arn == f"arn:aws:dynamodb:us-east-1:{A_ACCOUNT}:table/tbl1"
    kin = client(asrv, "kinesis", region="eu-west-1")
    kin.create_stream(StreamName="s1", ShardCount=1)
    assert kin.list_streams()["StreamNames"] == ["s1"]
    d = kin.describe_stream_summary(StreamName="s1")["StreamDescriptionSummary"]
    assert d["StreamARN"] == f"arn:aws:kinesis:eu-west-1:{A_ACCOUNT}:stream/s1"


def test_accounts_are_isolated(asrv):
    alice, bob = client(asrv), client(asrv, key=B_KEY, secret=B_SECRET)
    _create_table(alice, "shared-name")
    assert alice.list_tables()["TableNames"] == ["shared-name"]
    assert bob.list_tables()["TableNames"] == []
    _create_table(bob, "shared-name")
    bob.put_item(TableName="shared-name", Item={"k": {"S": "bob"}})
    assert alice.scan(TableName="shared-name")["Count"] == 0
    assert bob.describe_table(TableName="shared-name")["Table"]["TableArn"].split(":")[4] == B_ACCOUNT
    bk = client(asrv, "kinesis", key=B_KEY, secret=B_SECRET)
    bk.create_stream(StreamName="bs", ShardCount=1)
    assert client(asrv, "kinesis").list_streams()["StreamNames"] == []


def _client_error(fn) -> ClientError:
    with pytest.raises(ClientError) as e:
        fn()
    return e.value


def test_unknown_access_key(asrv):
    for service, call in (("dynamodb", "list_tables"), ("kinesis", "list_streams")):
        err = _client_error(getattr(client(asrv, service, key="AKIANOBODY", secret="x"), call))
        assert err.response["Error"]["Code"] == "UnrecognizedClientException"
        assert err.response["Error"]["Message"] == "The security token included in the request is invalid."
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_wrong_secret(asrv):
    for service, call in (("dynamodb", "list_tables"), ("kinesis", "list_streams")):
        err = _client_error(getattr(client(asrv, service, secret="not-the-secret"), call))
        assert err.response["Error"]["Code"] == "InvalidSignatureException"
        assert err.response["Error"]["Message"] == MISMATCH
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_authorization(asrv):
    status, body = send(
        asrv,
        {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
        b"{}",
    )
    assert status == 400
    assert body == {
        "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
    }
    status, body = send(
        asrv,
        {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"},
        b"{}",
    )
    assert status == 400
    assert body == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Missing Authentication Token",
    }


def test_incomplete_authorization(asrv):
    status, body = send(
        asrv,
        {
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=x",
            "Content-Type": "application/x-amz-json-1.0",
        },
        b"{}",
    )
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#IncompleteSignatureException"
    assert body["message"] == (
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        "'SignedHeaders' parameter. Authorization header requires existence of either a "
        "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=x"
    )


def test_tampered_body_is_rejected_and_writes_nothing(asrv):
    ddb = client(asrv)
    _create_table(ddb)
    body = orjson.dumps({"TableName": "tbl1", "Item": {"k": {"S": "honest"}}})
    headers, _ = signed(asrv, "DynamoDB_20120810.PutItem", body)
    evil = body.replace(b"honest", b"forged")
    status, resp = send(asrv, headers, evil)
    assert status == 400
    assert resp == {"__type": "com.amazon.coral.service#InvalidSignatureException", "message": MISMATCH}
    assert ddb.scan(TableName="tbl1")["Count"] == 0
    status, _ = send(asrv, headers, body)  # the untouched request is fine
    assert status == 200
    assert [i["k"]["S"] for i in ddb.scan(TableName="tbl1")["Items"]] == ["honest"]


def test_tampered_header_is_rejected(asrv):
    headers, body = signed(asrv, "DynamoDB_20120810.ListTables", b"{}")
    headers["X-Amz-Target"] = "DynamoDB_20120810.DescribeLimits"
    status, resp = send(asrv, headers, body)
    assert status == 400 and resp["message"] == MISMATCH


def test_gzip_body_signed_as_sent(asrv):
    body = gzip.compress(b'{"Limit": 5}')
    headers, _ = signed(asrv, "DynamoDB_20120810.ListTables", body, extra={"Content-Encoding": "gzip"})
    status, resp = send(asrv, headers, body)
    assert status == 200, resp
    assert resp == {"TableNames": []}


def _stamp(dt: datetime.datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def test_skewed_clock(asrv):
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=7)
    headers, body = signed(asrv, "DynamoDB_20120810.ListTables", b"{}", stamp=_stamp(old))
    status, resp = send(asrv, headers, body)
    assert status == 400
    assert resp["__type"] == "com.amazon.coral.service#InvalidSignatureException"
    import re

    m = re.fullmatch(
        r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
        r"\((\d{8}T\d{6}Z) - 5 min\.\)",
        resp["message"],
    )
    assert m, resp["message"]
    assert m.group(1) == _stamp(old)

    def parse(stamp: str) -> datetime.datetime:
        return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")

    assert parse(m.group(3)) - parse(m.group(2)) == datetime.timedelta(minutes=5)
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)
    headers, body = signed(
        asrv, "Kinesis_20131202.ListStreams", b"{}", service="kinesis", stamp=_stamp(future)
    )
    status, resp = send(asrv, headers, body)
    assert status == 400 and resp["__type"] == "InvalidSignatureException"
    assert resp["message"].startswith(f"Signature not yet current: {_stamp(future)} is still later than ")


def test_skewed_clock_through_boto3(asrv):
    old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(hours=1)
    with mock.patch("botocore.auth.get_current_datetime", return_value=old):
        err = _client_error(client(asrv).list_tables)
    assert err.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.response["Error"]["Message"].startswith(
        f"Signature expired: {_stamp(old)} is now earlier than"
    )
    # a small skew (under 5 minutes) is accepted
    near = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=3)
    with mock.patch("botocore.auth.get_current_datetime", return_value=near):
        assert client(asrv).list_tables()["TableNames"] == []


def test_scope_for_wrong_service(asrv):
    headers, body = signed(asrv, "DynamoDB_20120810.ListTables", b"{}", service="kinesis")
    status, resp = send(asrv, headers, body)
    assert status == 400
    assert resp["message"] == "Credential should be scoped to correct service: 'dynamodb'."


def test_health_needs_no_signature(asrv):
    c = http.client.HTTPConnection("127.0.0.1", asrv.port, timeout=5)
    c.request("GET", "/_tidestream/health")
    status = c.getresponse().status
    c.close()
    assert status == 200


def _presigned_path(
    srv, *, expires: int = 600, headers: dict | None = None, unsigned_payload: bool = False
) -> tuple[str, dict]:
    """A URL presigned by botocore for ``POST /`` (``unsigned_payload``: signs UNSIGNED-PAYLOAD,
    as S3-style presigners do), with the headers it signed."""
    from botocore.auth import SigV4QueryAuth

    host = f"127.0.0.1:{srv.port}"
    scheme = "https" if unsigned_payload else "http"  # botocore signs UNSIGNED-PAYLOAD only on https
    req = AWSRequest(
        method="POST", url=f"{scheme}://{host}/", data=b"", headers={"Host": host, **(headers or {})}
    )
    req.context["payload_signing_enabled"] = not unsigned_payload
    SigV4QueryAuth(Credentials(A_KEY, A_SECRET), "dynamodb", "us-east-1", expires=expires).add_auth(req)
    return req.url.split(host, 1)[1], dict(req.headers.items())


def _post_raw(srv, path: str, headers: dict, body: bytes):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, orjson.loads(data) if data else {}


def test_presigned_host_only_url_cannot_be_replayed_as_put_item(asrv):
    ddb = client(asrv)
    _create_table(ddb)
    path, headers = _presigned_path(asrv, unsigned_payload=True)
    forged = {
        **headers,
        "X-Amz-Target": "DynamoDB_20120810.PutItem",
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Content-Type": "application/x-amz-json-1.0",
    }
    body = orjson.dumps({"TableName": "tbl1", "Item": {"k": {"S": "forged"}}})
    status, resp = _post_raw(asrv, path, forged, body)
    assert status == 400
    assert resp == {
        "__type": "com.amazon.coral.service#InvalidSignatureException",
        "message": "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    }
    # signing the target is not enough while the payload is left unsigned
    path, headers = _presigned_path(
        asrv, unsigned_payload=True, headers={"X-Amz-Target": "DynamoDB_20120810.PutItem"}
    )
    status, resp = _post_raw(asrv, path, {**headers, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, body)
    assert status == 400 and resp["message"] == MISMATCH
    assert ddb.scan(TableName="tbl1")["Count"] == 0


def test_presigned_url_valid_for_over_a_week_is_refused(asrv):
    target = {"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    path, headers = _presigned_path(asrv, expires=604800, headers=target)
    status, resp = _post_raw(asrv, path, headers, b"")
    assert (status, resp) == (200, {"TableNames": []})
    path, headers = _presigned_path(asrv, expires=604801, headers=target)
    status, resp = _post_raw(asrv, path, headers, b"")
    assert status == 400
    assert resp == {
        "__type": "com.amazon.coral.service#IncompleteSignatureException",
        "message": "X-Amz-Expires must be less than a week (in seconds) that is 604800",
    }
