"""Node.js functions run by AWS's own runtime interface client (aws-lambda-ric from npm,
installed into tests/lambda-node/node_modules by ``npm ci``, pinned in its package-lock.json).
Real server processes, real boto3 clients, real zips: CommonJS and ESM handlers, errors, the
environment AWS sets, and the error a server without the client answers.

Needs Node.js and npm (CI installs them): without them this test fails, it does not skip."""

from __future__ import annotations

import base64
import fcntl
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.e2e.test_lambda import ROLE, error_of, package

NODE = Path(__file__).resolve().parent.parent / "lambda-node"
RIC = NODE / "node_modules" / "aws-lambda-ric"

ENV_NAMES = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "_HANDLER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    "LANG",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "COLOUR",
)

COMMONJS = """
let calls = 0;
exports.handler = async (event, context) => {
  calls += 1;
  console.log("handling", event.tag);
  const env = {};
  for (const name of %s) env[name] = process.env[name] ?? null;
  return {calls, event, env, name: context.functionName, arn: context.invokedFunctionArn,
          requestId: context.awsRequestId, memory: context.memoryLimitInMB,
          remaining: context.getRemainingTimeInMillis(), stream: context.logStreamName};
};
exports.boom = async (event) => { throw new TypeError("boom: " + event.why); };
exports.callback = (event, context, callback) => callback(null, {via: "callback"});
""" % json.dumps(list(ENV_NAMES))

ESM = """
import { hostname } from "node:os";
const started = Date.now();
export const handler = async (event, context) => ({esm: true, host: typeof hostname(), echo: event,
                                                    requestId: context.awsRequestId, started});
"""


def _install() -> None:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.fail("test_lambda_node needs Node.js and npm on PATH")
    # xdist workers may get here together (this file and the mapping pipeline's): one installs
    with open(NODE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (RIC / "package.json").is_file():
            return
        r = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert r.returncode == 0, f"npm ci in tests/lambda-node failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def node_srv(tmp_path_factory):
    """A server that finds the RIC through TIDESTREAM_LAMBDA_NODE_RIC (the documented variable)."""
    _install()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIDESTREAM_LAMBDA_NODE_RIC", str(RIC))
        s = start_server(tmp_path_factory.mktemp("node"), "--durability", "relaxed")
    yield s
    assert s.stop() == 0, s.read_log()


@pytest.fixture
def lam(node_srv):
    node_srv.reset()
    return node_srv.client("lambda")


def _create(lam, name: str, runtime: str, handler: str, code: bytes, **kw) -> None:
    lam.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": code}, **kw
    )


def _invoke(lam, name: str, event: dict) -> tuple[dict, object]:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    return r, json.loads(r["Payload"].read())


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs20.x", "nodejs22.x"])
def test_commonjs_handler_sees_the_environment_aws_sets(lam, node_srv, runtime):
    code = package(COMMONJS, "index.js")
    _create(
        lam,
        "cjs",
        runtime,
        "index.handler",
        code,
        MemorySize=256,
        Environment={"Variables": {"COLOUR": "blue"}},
    )
    r, out = _invoke(lam, "cjs", {"tag": "first"})
    assert "FunctionError" not in r, out
    env = out["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "cjs" and env["_HANDLER"] == "index.handler"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and out["memory"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/cjs"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TZ"] == ":UTC" and env["LANG"] == "en_US.UTF-8"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_ENDPOINT_URL"] == node_srv.endpoint and env["COLOUR"] == "blue"
    assert env["AWS_ACCESS_KEY_ID"] == "000000000000" and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_SESSION_TOKEN"] and env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert Path(env["LAMBDA_TASK_ROOT"]).parent == node_srv.data_dir / "lambda" / "code"
    assert Path(env["LAMBDA_RUNTIME_DIR"]) == RIC.resolve()
    # AWS's stream name: date/[version]32 hex digits
    stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert stream == out["stream"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream), stream
    assert out["name"] == "cjs" and out["arn"].endswith(":function:cjs")
    assert out["requestId"] == r["ResponseMetadata"]["RequestId"] and 0 < out["remaining"] <= 3000
    log = base64.b64decode(r["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {out['requestId']} Version: $LATEST")
    assert f"\t{out['requestId']}\tINFO\thandling first" in log  # the RIC's console format
    assert "REPORT RequestId: " in log and "Init Duration: " in log
    _, again = _invoke(lam, "cjs", {"tag": "second"})
    assert again["calls"] == 2  # the warm process was reused, module state kept


def test_esm_handler_and_thrown_error(lam):
    code = package(ESM, "app.mjs", **{"index.js": COMMONJS})
    _create(lam, "esm", "nodejs20.x", "app.handler", code)
    r, out = _invoke(lam, "esm", {"n": 1})
    assert "FunctionError" not in r, out
    assert out["esm"] is True and out["echo"] == {"n": 1} and out["host"] == "string"
    _create(lam, "boom", "nodejs20.x", "index.boom", code)
    r, out = _invoke(lam, "boom", {"why": "bad"})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError" and out["errorMessage"] == "boom: bad"
    assert out["trace"][0] == "TypeError: boom: bad"  # Node.js runtimes say "trace", as on AWS


def test_callback_handler_as_the_ric_answers(lam):
    """aws-lambda-ric 4 refuses callback-style handlers at init (as AWS's Node.js 24 runtime
    does); the init error reaches the caller as a function error, never a server error."""
    _create(lam, "cb", "nodejs20.x", "index.callback", package(COMMONJS, "index.js"))
    r, out = _invoke(lam, "cb", {})
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert "callback" in out["errorMessage"].lower(), out


SDK_V3 = """
const { DynamoDBClient, PutItemCommand, GetItemCommand } = require("@aws-sdk/client-dynamodb");
const client = new DynamoDBClient({});  // no endpoint, no keys: AWS_ENDPOINT_URL and the role's keys
exports.handler = async (event, context) => {
  const key = {pk: {S: event.key}};
  await client.send(new PutItemCommand({TableName: event.table, Item: {...key, by: {S: context.functionName}}}));
  return (await client.send(new GetItemCommand({TableName: event.table, Key: key, ConsistentRead: true}))).Item;
};
"""


def test_sdk_v3_calls_from_a_function_land_here(lam, node_srv):
    """AWS's Node.js runtimes include SDK v3; here the function brings it (NODE_PATH, as a user
    would point it at a directory of packages, or bundled in the zip) and AWS_ENDPOINT_URL sends
    its calls to tidestream."""
    from tests.e2e.test_js_sdk import JS
    from tests.e2e.test_js_sdk import _install as install_sdk

    install_sdk(shutil.which("npm") or "npm")
    node_srv.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    env = {"NODE_PATH": str(JS / "node_modules")}
    _create(
        lam,
        "writer",
        "nodejs20.x",
        "index.handler",
        package(SDK_V3, "index.js"),
        Timeout=30,
        Environment={"Variables": env},
    )
    r, out = _invoke(lam, "writer", {"table": "orders", "key": "o-1"})
    assert "FunctionError" not in r, out
    assert out == {"pk": {"S": "o-1"}, "by": {"S": "writer"}}
    item = node_srv.client("dynamodb").get_item(TableName="orders", Key={"pk": {"S": "o-1"}})["Item"]
    assert item["by"] == {"S": "writer"}


def test_missing_handler_module_is_an_import_error(lam):
    _create(lam, "nomod", "nodejs20.x", "missing.handler", package(COMMONJS, "index.js"))
    r, out = _invoke(lam, "nomod", {})
    assert r["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.ImportModuleError", out


def test_without_the_ric_create_works_and_invoke_says_how_to_install(tmp_path):
    srv = start_server(tmp_path, "--durability", "relaxed")  # no TIDESTREAM_LAMBDA_NODE_RIC
    try:
        lam = srv.client("lambda")
        _create(lam, "cjs", "nodejs20.x", "index.handler", package(COMMONJS, "index.js"))
        err = error_of(lambda: lam.invoke(FunctionName="cjs", Payload=b"{}"))
        assert err["Code"] == "InvalidRuntimeException" and err["Status"] == 502
        assert "aws-lambda-ric" in err["Message"] and "npm install" in err["Message"]
        assert "TIDESTREAM_LAMBDA_NODE_RIC" in err["Message"]
        assert lam.get_function(FunctionName="cjs")["Configuration"]["State"] == "Active"
    finally:
        srv.stop()


def test_ric_next_to_the_data_dir_is_found(tmp_path):
    """``node_modules/aws-lambda-ric`` in the data directory's parent: no variable needed."""
    _install()
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "aws-lambda-ric").symlink_to(RIC.resolve(), target_is_directory=True)
    srv = start_server(tmp_path, "--durability", "relaxed")  # data dir: tmp_path / "data"
    try:
        lam = srv.client("lambda")
        _create(lam, "esm", "nodejs22.x", "app.handler", package(ESM, "app.mjs"))
        r, out = _invoke(lam, "esm", {"n": 2})
        assert "FunctionError" not in r and out["echo"] == {"n": 2}, out
    finally:
        srv.stop()
