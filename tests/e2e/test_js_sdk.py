"""The AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis, @aws-sdk/client-dynamodb; exact
versions in tests/js/package.json) against a real server, through tests/js/smoke.mjs.

Needs Node.js >= 20 and npm (CI installs them): without them this test fails, it does not skip.
The first run installs the packages into tests/js/node_modules (git-ignored) with ``npm ci``.

Protocol: SDK v3 sends Kinesis requests as JSON 1.1 (``application/x-amz-json-1.1``, its
AwsJson1_1Protocol), not CBOR as the Java SDKs do, so there is no CBOR round trip to run from
JavaScript; the CBOR path is covered by test_kinesis_cbor.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import start_on_test_store

JS = Path(__file__).resolve().parent.parent / "js"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: test_js_sdk needs Node.js >= 20 and npm on PATH")
    return path


def _install(npm: str) -> None:
    if (JS / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir() and (
        JS / "node_modules" / "@aws-sdk" / "client-dynamodb"
    ).is_dir():
        return
    cmd = [npm, "ci" if (JS / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
    r = subprocess.run(cmd, cwd=JS, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}"


def test_js_sdk_v3_kinesis_and_dynamodb(request, tmp_path):
    node, npm = _tool("node"), _tool("npm")
    major = int(
        subprocess.run([node, "--version"], capture_output=True, text=True)
        .stdout.strip()
        .lstrip("v")
        .split(".")[0]
    )
    assert major >= 20, "the AWS SDK for JavaScript v3 needs Node.js >= 20"
    _install(npm)
    srv = start_on_test_store(request, tmp_path, "--durability", "relaxed", on_disk=False)
    try:
        r = subprocess.run(
            [node, "smoke.mjs", srv.endpoint], cwd=JS, capture_output=True, text=True, timeout=120
        )
    finally:
        srv.stop()
    assert r.returncode == 0, f"smoke.mjs failed:\n{r.stdout}\n{r.stderr}"
    out = json.loads(r.stdout.strip().splitlines()[-1])

    k = out["kinesis"]
    assert k["putRecord"]["ShardId"].startswith("shardId-") and len(k["putRecord"]["SequenceNumber"]) == 56
    assert k["putRecords"]["FailedRecordCount"] == 0 and len(k["putRecords"]["Records"]) == 3
    assert [s["ShardId"] for s in k["listShards"]] == ["shardId-000000000000", "shardId-000000000001"]
    got = {(x["PartitionKey"], x["Data"]) for x in k["getRecords"]}
    assert got == {("pk-1", "hello from js"), ("a", "rec-a"), ("b", "rec-b"), ("c", "rec-c")}
    assert all(x["ArrivalIsDate"] and x["ArrivalMs"] > 1_600_000_000_000 for x in k["getRecords"])
    put = {r_["SequenceNumber"] for r_ in k["putRecords"]["Records"]} | {k["putRecord"]["SequenceNumber"]}
    assert {x["SequenceNumber"] for x in k["getRecords"]} == put
    assert k["hasNextIterator"] and k["millisBehindLatest"] == 0
    assert k["error"] == {
        "name": "ResourceNotFoundException",
        "status": 400,
        "message": "Stream does-not-exist under account 000000000000 not found.",
    }

    d = out["dynamodb"]
    assert d["getItem"] == {"name": "item-2", "sk": "2", "blob": [1, 2, 2]}
    assert d["query"] == {"Count": 2, "names": ["item-3", "item-2"]}

    # what the SDK put on the wire: JSON 1.1 for Kinesis (no CBOR), JSON 1.0 for DynamoDB
    kin_types = {w["contentType"] for w in out["wire"]["kinesis"]}
    assert kin_types == {"application/x-amz-json-1.1"}, kin_types
    assert {w["contentType"] for w in out["wire"]["dynamodb"]} == {"application/x-amz-json-1.0"}
    assert {w["target"].split(".")[0] for w in out["wire"]["kinesis"]} == {"Kinesis_20131202"}
