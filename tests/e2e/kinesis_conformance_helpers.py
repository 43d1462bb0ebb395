"""Helpers for the Kinesis conformance suites (expectations recorded against real Kinesis by the
public kinesalite suites and LocalStack snapshots): boto3 clients that send invalid input
unchanged, raw JSON requests (to see the exact error body), and error assertions."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"
#: a 3-shard stream's hash ranges, as AWS splits [0, 2^128 - 1]
RANGES3 = [
    ("0", "113427455640312821154458202477256070484"),
    ("113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
    ("226854911280625642308916404954512140970", "340282366920938463463374607431768211455"),
]


def client(srv, **kw):
    """A Kinesis client that sends invalid input as is and never retries."""
    import boto3

    return boto3.client(
        "kinesis",
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(
            parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"}, **kw
        ),
    )


def raw(srv, target: str, body) -> tuple[int, dict]:
    """POST a JSON 1.1 Kinesis request; returns (status, decoded body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        srv.endpoint + "/",
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202." + target,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return r.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def fails(call, *args, **kw) -> tuple[str, str]:
    """(error code, message) of a call that must fail."""
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    err = e.value.response["Error"]
    return err["Code"], err.get("Message", "")


def validation(*msgs: str) -> tuple[str, str]:
    n = len(msgs)
    return (
        "ValidationException",
        f"{n} validation error{'' if n == 1 else 's'} detected: " + "; ".join(msgs),
    )


def null(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def bad(value: str, path: str, constraint: str) -> str:
    return f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


NAME_PATTERN = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
MIN1 = "Member must have length greater than or equal to 1"
MAX128 = "Member must have length less than or equal to 128"


def not_found(name: str) -> tuple[str, str]:
    return "ResourceNotFoundException", f"Stream {name} under account {ACCOUNT} not found."


def wait_active(kin, name: str, timeout: float = 10.0) -> dict:
    deadline = time.time() + timeout
    while True:
        d = kin.describe_stream(StreamName=name)["StreamDescription"]
        if d["StreamStatus"] == "ACTIVE" or time.time() > deadline:
            return d
        time.sleep(0.05)


def make_stream(kin, name: str = "s", shards: int = 3) -> str:
    kin.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kin, name)
    return name
