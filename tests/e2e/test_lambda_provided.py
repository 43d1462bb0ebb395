"""``provided.al2023`` / ``provided.al2``: the package's own ``bootstrap`` speaks the Runtime API.

The bootstraps here are Python scripts (no compiler needed) doing what a Go or Rust runtime does:
poll ``/invocation/next``, post ``/response`` or ``/error``, or report ``/init/error``. Real
server, real boto3, real zips whose external attributes carry the executable bit."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import zipfile

import pytest

from tests.conftest import node_endpoints
from tests.e2e.test_lambda import ROLE, error_of

BOOTSTRAP = (
    f"#!{sys.executable}\n"
    + """
import json, os, sys, time, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
MODE = os.environ["_HANDLER"]


def post(path, body, error_type=None):
    headers = {"Lambda-Runtime-Function-Error-Type": error_type} if error_type else {}
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    urllib.request.urlopen(req).read()


if MODE == "init-error":
    post("/init/error", {"errorMessage": "cannot read config", "errorType": "Runtime.BadConfig"},
         "Runtime.BadConfig")
    sys.exit(1)
if MODE == "exit-at-init":
    print("giving up before the first invocation", flush=True)
    sys.exit(3)
calls = 0
while True:
    with urllib.request.urlopen(API + "/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = {k: r.headers[k] for k in ("Lambda-Runtime-Deadline-Ms",
                   "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id")}
        event = json.loads(r.read())
    calls += 1
    print(f"bootstrap got {request_id}", flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    if MODE == "fail":
        post(f"/invocation/{request_id}/error",
             {"errorMessage": "no such order", "errorType": "OrderError", "stackTrace": ["main.go:12"]},
             "OrderError")
    elif MODE == "exit-mid":
        os._exit(2)
    elif MODE == "sleep" and event.get("seconds"):
        time.sleep(event["seconds"])
    else:
        env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_")) or k in ("TZ", "LANG", "COLOUR")}
        post(f"/invocation/{request_id}/response",
             {"event": event, "env": env, "headers": headers, "calls": calls, "cwd": os.getcwd()})
"""
)


def bootstrap_zip(source: str = BOOTSTRAP, mode: int = 0o755, name: str = "bootstrap") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16  # what `zip` records from the file's permissions
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, source)
    return buf.getvalue()


@pytest.fixture
def lam(srv):
    return srv.client("lambda")


def _create(lam, name: str, handler: str, code: bytes | None = None, runtime: str = "provided.al2023", **kw):
    return lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": code or bootstrap_zip()},
        **kw,
    )


def _invoke(lam, name: str, event: dict | None = None) -> tuple[dict, dict]:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    return r, json.loads(r["Payload"].read())


@pytest.mark.parametrize("runtime", ["provided.al2023", "provided.al2"])
def test_bootstrap_answers_with_the_environment_aws_sets(srv, lam, runtime):
    _create(lam, "go", "echo", runtime=runtime, MemorySize=512, Environment={"Variables": {"COLOUR": "red"}})
    r, out = _invoke(lam, "go", {"order": 7})
    assert "FunctionError" not in r, out
    assert out["event"] == {"order": 7} and out["calls"] == 1
    env = out["env"]
    assert env["_HANDLER"] == "echo" and env["AWS_LAMBDA_FUNCTION_NAME"] == "go"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512" and env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/go" and env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert "AWS_EXECUTION_ENV" not in env  # AWS leaves it unset for OS-only runtimes
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TZ"] == ":UTC" and env["LANG"] == "en_US.UTF-8" and env["COLOUR"] == "red"
    assert env["AWS_ENDPOINT_URL"] in node_endpoints(srv)  # the node that runs the function
    assert env["LAMBDA_TASK_ROOT"] == out["cwd"] == env["LAMBDA_RUNTIME_DIR"]
    assert env["AWS_ACCESS_KEY_ID"] == "000000000000" and env["AWS_SESSION_TOKEN"]
    assert out["headers"]["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:go")
    assert out["headers"]["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    log = base64.b64decode(r["LogResult"]).decode()
    request_id = r["ResponseMetadata"]["RequestId"]
    assert f"bootstrap got {request_id}" in log and "to stderr" in log
    assert log.startswith(f"START RequestId: {request_id}") and "Init Duration" in log
    _, again = _invoke(lam, "go")
    assert again["calls"] == 2  # the same bootstrap process, kept warm


def test_invocation_error_is_passed_through(lam):
    _create(lam, "fails", "fail")
    r, out = _invoke(lam, "fails")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert out == {"errorMessage": "no such order", "errorType": "OrderError", "stackTrace": ["main.go:12"]}
    r, out = _invoke(lam, "fails")  # the runtime lives on after reporting an error
    assert out["errorType"] == "OrderError"


def test_init_error_is_reported_to_the_caller(lam):
    _create(lam, "noinit", "init-error")
    r, out = _invoke(lam, "noinit")
    assert r["FunctionError"] == "Unhandled"
    assert out == {"errorMessage": "cannot read config", "errorType": "Runtime.BadConfig"}


def test_bootstrap_exiting_is_runtime_exit_error(lam):
    _create(lam, "quits", "exit-at-init")
    r, out = _invoke(lam, "quits")
    request_id = r["ResponseMetadata"]["RequestId"]
    assert r["FunctionError"] == "Unhandled"
    assert out == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }
    assert "giving up before the first invocation" in base64.b64decode(r["LogResult"]).decode()
    _create(lam, "dies", "exit-mid")
    r, out = _invoke(lam, "dies")
    assert out["errorType"] == "Runtime.ExitError" and out["errorMessage"].endswith("exit status 2")
    r, out = _invoke(lam, "dies")  # a fresh process for the next invocation
    assert out["errorType"] == "Runtime.ExitError"


def test_missing_or_not_executable_bootstrap_is_invalid_entrypoint(lam):
    _create(lam, "nobootstrap", "x", code=bootstrap_zip(name="main"))
    r, out = _invoke(lam, "nobootstrap")
    request_id = r["ResponseMetadata"]["RequestId"]
    assert r["FunctionError"] == "Unhandled" and out["errorType"] == "Runtime.InvalidEntrypoint"
    assert out["errorMessage"].startswith(
        f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): ["
    )
    assert "Runtime.InvalidEntrypoint" in base64.b64decode(r["LogResult"]).decode()
    _create(lam, "noexec", "x", code=bootstrap_zip(mode=0o644))
    r, out = _invoke(lam, "noexec")
    assert out["errorType"] == "Runtime.InvalidEntrypoint" and out["errorMessage"].endswith(
        "bootstrap: permission denied"
    )
    # a Runtime that tidestream does not run is still an AWS error at Invoke, not a 500
    _create(lam, "ruby", "app.handler", runtime="ruby3.3")
    assert error_of(lambda: lam.invoke(FunctionName="ruby"))["Code"] == "InvalidRuntimeException"


def test_timeout_kills_the_bootstrap_and_the_next_invocation_starts_a_new_one(lam):
    _create(lam, "slow", "sleep", Timeout=1)
    r, out = _invoke(lam, "slow", {"seconds": 600})
    request_id = r["ResponseMetadata"]["RequestId"]
    assert r["FunctionError"] == "Unhandled" and out["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        rf"RequestId: {request_id} Error: Task timed out after 1\.\d\d seconds", out["errorMessage"]
    )
    r, out = _invoke(lam, "slow", {})
    assert "FunctionError" not in r and out["calls"] == 1  # a fresh process
