"""Reserved concurrency: PutFunctionConcurrency / GetFunctionConcurrency /
DeleteFunctionConcurrency, durable across a restart, and honoured by the sandboxes (0 throttles
every invocation as AWS does). Real server, real boto3, a real zip."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from botocore.exceptions import ClientError

from tests.conftest import ServerProcess, start_server
from tests.e2e.test_lambda import ROLE, error_of, package

GATED = """
import os, time

def handler(event, context):
    open(event["started"], "w").close()
    while not os.path.exists(event["release"]):  # the test lets it finish
        time.sleep(0.01)
    return "released"

def quick(event, context):
    return "ran"
"""


def _wait_for(path: Path) -> None:
    for _ in range(3000):
        if path.exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def _throttled(lam, name: str) -> dict:
    try:
        lam.invoke(FunctionName=name, Payload=b"{}")
    except ClientError as err:
        return err.response
    raise AssertionError("the invocation was not throttled")


def test_reserved_concurrency_is_durable_and_bounds_invocations(tmp_path):
    srv = start_server(tmp_path, "--durability", "relaxed")
    try:
        lam = srv.client("lambda")
        for name, handler in (("gated", "app.handler"), ("other", "app.quick")):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler=handler,
                Timeout=60,
                Code={"ZipFile": package(GATED)},
            )
        assert lam.get_function_concurrency(FunctionName="gated").get("ReservedConcurrentExecutions") is None
        put = lam.put_function_concurrency(FunctionName="gated", ReservedConcurrentExecutions=1)
        assert put["ReservedConcurrentExecutions"] == 1
        assert lam.get_function(FunctionName="gated")["Concurrency"] == {"ReservedConcurrentExecutions": 1}
        assert "Concurrency" not in lam.get_function(FunctionName="other")

        event = {"started": str(tmp_path / "started"), "release": str(tmp_path / "release")}
        results: list = []
        first = threading.Thread(
            target=lambda: results.append(lam.invoke(FunctionName="gated", Payload=json.dumps(event)))
        )
        first.start()
        _wait_for(tmp_path / "started")
        busy = _throttled(lam, "gated")  # the one reserved execution is busy
        assert busy["Error"]["Code"] == "TooManyRequestsException"
        assert busy["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert busy["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        (tmp_path / "release").touch()
        first.join(60)
        assert json.loads(results[0]["Payload"].read()) == "released"
        assert "FunctionError" not in lam.invoke(FunctionName="gated", Payload=json.dumps(event))

        err = error_of(
            lambda: lam.put_function_concurrency(FunctionName="other", ReservedConcurrentExecutions=900)
        )
        assert err == {
            "Code": "InvalidParameterValueException",
            "Status": 400,
            "Message": "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100].",
        }
        assert lam.get_function_concurrency(FunctionName="other").get("ReservedConcurrentExecutions") is None
        lam.put_function_concurrency(FunctionName="other", ReservedConcurrentExecutions=0)
        assert srv.stop() == 0
        srv = ServerProcess(srv.port, srv.data_dir, srv.args, log_path=srv.log_path).start()
        lam = srv.client("lambda")
        assert lam.get_function_concurrency(FunctionName="gated")["ReservedConcurrentExecutions"] == 1
        assert lam.get_function_concurrency(FunctionName="other")["ReservedConcurrentExecutions"] == 0
        zero = _throttled(lam, "other")  # 0 reserved: every invocation is throttled
        assert zero["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
        assert zero["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

        event = lam.invoke(FunctionName="other", InvocationType="Event", Payload=b"{}")
        assert event["StatusCode"] == 202  # accepted, then dropped with a warning (docs/lambda.md)
        for _ in range(3000):
            if "failed: Rate Exceeded." in srv.read_log():
                break
            time.sleep(0.01)
        assert (
            "of arn:aws:lambda:us-east-1:000000000000:function:other failed: Rate Exceeded." in srv.read_log()
        )

        deleted = lam.delete_function_concurrency(FunctionName="other")
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert lam.get_function_concurrency(FunctionName="other").get("ReservedConcurrentExecutions") is None
        assert json.loads(lam.invoke(FunctionName="other", Payload=b"{}")["Payload"].read()) == "ran"
        missing = error_of(lambda: lam.get_function_concurrency(FunctionName="missing"))
        assert missing["Code"] == "ResourceNotFoundException" and missing["Status"] == 404
    finally:
        srv.stop()
