"""Function logs: AWS's START / END / REPORT lines around the function's own output, in the
per-function log file, printed by ``tidestream logs`` from the data directory or from a running
server (an operator route, signed under ``--auth enforce``), ``--follow`` included.
Real server processes, real boto3 clients, real zips, the real command line."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

from tests.conftest import start_server
from tests.e2e.test_lambda import ROLE, package

APP = """
def handler(event, context):
    print("hello from", context.aws_request_id)
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return "ok"
"""

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: [1-9]\d* MB(?P<init>\tInit Duration: \d+\.\d{2} ms)?\t$",
    re.M,
)


def _env_without_credentials(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    missing = str(tmp_path / "no-such-file")
    return {**env, "AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing, **extra}


def logs_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tidestream", "logs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env_without_credentials(tmp_path, **env),
    )


def _create_and_invoke(lam) -> list[str]:
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": package(APP)},
    )
    ids = []
    for event in ({}, {"fail": True}):
        r = lam.invoke(FunctionName="fn", Payload=json.dumps(event), LogType="Tail")
        ids.append(r["ResponseMetadata"]["RequestId"])
        assert base64.b64decode(r["LogResult"]).decode().startswith(f"START RequestId: {ids[-1]}")
    return ids


def test_logs_from_the_data_dir_and_from_the_server(tmp_path):
    srv = start_server(tmp_path, "--durability", "relaxed")
    try:
        ids = _create_and_invoke(srv.client("lambda"))
        remote = logs_cli(tmp_path, "fn", "--endpoint", srv.endpoint)
        assert remote.returncode == 0, remote.stderr
        unknown = logs_cli(tmp_path, "nope", "--endpoint", srv.endpoint)
        assert unknown.returncode == 1 and "No log for function nope" in unknown.stderr
    finally:
        assert srv.stop() == 0
    local = logs_cli(tmp_path, "fn", "--data-dir", str(tmp_path / "data"))  # the server is stopped
    assert local.returncode == 0, local.stderr
    assert local.stdout == remote.stdout
    text = local.stdout
    for request_id in ids:
        assert f"START RequestId: {request_id} Version: $LATEST\n" in text
        assert f"hello from {request_id}\n" in text
        assert f"END RequestId: {request_id}\n" in text
    assert "asked to fail" in text  # the unhandled error's report, as awslambdaric writes it
    reports = [(m["id"], bool(m["init"])) for m in REPORT.finditer(text)]
    assert reports == [(ids[0], True), (ids[1], False)]  # Init Duration on the cold start only
    assert text.index(f"START RequestId: {ids[1]}") > text.index(f"REPORT RequestId: {ids[0]}")
    assert logs_cli(tmp_path, "fn", "--data-dir", str(tmp_path / "elsewhere")).returncode == 1


def test_follow_prints_new_invocations(tmp_path):
    srv = start_server(tmp_path, "--durability", "relaxed")
    follower = None
    try:
        lam = srv.client("lambda")
        first, _ = _create_and_invoke(lam)
        follower = subprocess.Popen(
            [sys.executable, "-m", "tidestream", "logs", "fn", "--follow", "--endpoint", srv.endpoint],
            stdout=subprocess.PIPE,
            text=True,
            env=_env_without_credentials(tmp_path),
        )
        assert follower.stdout is not None
        guard = threading.Timer(60, follower.kill)  # a follower that never prints fails, not hangs
        guard.start()
        seen = []
        for line in follower.stdout:  # what was there: printed at once
            seen.append(line)
            if line.startswith("REPORT") and len([s for s in seen if s.startswith("REPORT")]) == 2:
                break
        later = lam.invoke(FunctionName="fn", Payload=b"{}")["ResponseMetadata"]["RequestId"]
        for line in follower.stdout:  # and what came after
            if line.startswith(f"END RequestId: {later}"):
                break
        assert follower.poll() is None  # still following
        guard.cancel()
        assert f"START RequestId: {first} Version: $LATEST\n" in seen
    finally:
        if follower is not None:
            follower.kill()
            follower.wait(10)
            follower.stdout.close()
        srv.stop()


def test_logs_route_is_signed_under_auth_enforce(tmp_path):
    key, secret, account = "AKIAALICE0000000001", "alice-secret", "111111111111"
    creds = tmp_path / "credentials"
    creds.write_text(f"{key} {secret} {account}\n")
    srv = start_server(tmp_path, "--auth", "enforce", "--credentials", str(creds))
    try:
        lam = boto3.client(
            "lambda",
            endpoint_url=srv.endpoint,
            region_name="eu-west-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=BotoConfig(retries={"max_attempts": 1}),
        )
        ids = _create_and_invoke(lam)
        unsigned = logs_cli(tmp_path, "fn", "--endpoint", srv.endpoint)
        assert unsigned.returncode == 1
        assert "403: Request is missing Authentication Token" in unsigned.stderr
        signed = logs_cli(
            tmp_path, "fn", "--endpoint", srv.endpoint, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret
        )
        assert signed.returncode == 0, signed.stderr
        assert f"END RequestId: {ids[1]}" in signed.stdout
        path = tmp_path / "data" / "lambda" / "logs" / account / "eu-west-1" / "fn.log"
        assert signed.stdout == path.read_text()
        wrong = logs_cli(tmp_path, "fn", "--data-dir", str(tmp_path / "data"), "--region", "us-east-1")
        assert wrong.returncode == 1 and "No log for function fn" in wrong.stderr
    finally:
        srv.stop()
