"""Lambda: the API over REST-JSON on the main port, and functions run by AWS's own runtime
interface client (awslambdaric) as local processes. Real server processes, real boto3 clients,
real zip packages built here."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import zipfile

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.conftest import make_table, start_server

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

APP = """
import os
import time

import boto3

calls = 0


def handler(event, context):
    global calls
    calls += 1
    print("handling", event.get("tag"))
    return {"calls": calls, "event": event, "name": context.function_name,
            "arn": context.invoked_function_arn, "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb,
            "env": {k: os.environ.get(k) for k in (
                "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                "AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT", "COLOUR", "AWS_LAMBDA_LOG_GROUP_NAME")}}


def boom(event, context):
    raise ValueError("boom: " + str(event.get("why")))


def chatty(event, context):
    for i in range(400):
        print(f"line {i:04d} " + "x" * 40)
    return "done"


def sleepy(event, context):
    global calls
    calls += 1
    time.sleep(event.get("seconds", 0))
    return {"calls": calls}


def put_item(event, context):
    ddb = boto3.client("dynamodb")  # no endpoint here: AWS_ENDPOINT_URL points at tidestream
    ddb.put_item(TableName=event["table"], Item={"pk": {"S": event["key"]},
                                                  "by": {"S": context.function_name}})
    return ddb.get_item(TableName=event["table"], Key={"pk": {"S": event["key"]}})["Item"]
"""


def package(source: str = APP, name: str = "app.py", **extra: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, source)
        for path, text in extra.items():
            archive.writestr(path, text)
    return buf.getvalue()


@pytest.fixture
def lam(srv):
    return srv.client("lambda")


def create(lam, name: str = "fn", handler: str = "app.handler", code: bytes | None = None, **kw) -> dict:
    return lam.create_function(
        FunctionName=name,
        Runtime=kw.pop("Runtime", "python3.12"),
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": code or package()},
        **kw,
    )


def invoke(lam, name: str = "fn", event: dict | None = None, **kw) -> tuple[dict, object]:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kw)
    return r, json.loads(r["Payload"].read())


def error_of(call) -> dict:
    with pytest.raises(ClientError) as info:
        call()
    return {
        "Code": info.value.response["Error"]["Code"],
        "Message": info.value.response["Error"]["Message"],
        "Status": info.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


# --- the API -------------------------------------------------------------------------------------


def test_create_get_list_delete_round_trip(lam):
    code = package()
    created = create(
        lam,
        code=code,
        Description="first",
        Timeout=7,
        MemorySize=256,
        Environment={"Variables": {"COLOUR": "green"}},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending" and created["StateReasonCode"] == "Creating"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert created["CodeSize"] == len(code)
    assert (created["Timeout"], created["MemorySize"], created["Description"]) == (7, 256, "first")
    assert created["Environment"] == {"Variables": {"COLOUR": "green"}}
    assert created["Version"] == "$LATEST" and created["PackageType"] == "Zip"

    got = lam.get_function(FunctionName="fn")
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as r:
        assert r.read() == code  # the Code.Location URL serves the package itself
    tampered = got["Code"]["Location"].replace("function=000000000000", "function=111111111111")
    with pytest.raises(urllib.error.HTTPError) as info:  # signed like a presigned S3 URL
        urllib.request.urlopen(tampered, timeout=10)
    assert info.value.code == 403
    by_arn = lam.get_function_configuration(FunctionName=created["FunctionArn"])
    assert by_arn["RevisionId"] == got["Configuration"]["RevisionId"]

    for name in ("fn-b", "fn-c"):
        create(lam, name)
    first = lam.list_functions(MaxItems=2)
    assert [f["FunctionName"] for f in first["Functions"]] == ["fn", "fn-b"]
    second = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == ["fn-c"]
    assert "NextMarker" not in second

    deleted = lam.delete_function(FunctionName="fn")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    err = error_of(lambda: lam.get_function(FunctionName="fn"))
    assert err == {
        "Code": "ResourceNotFoundException",
        "Status": 404,
        "Message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn",
    }
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["fn-b", "fn-c"]


def test_errors_are_aws_errors_and_create_nothing(lam):
    create(lam)
    assert error_of(lambda: create(lam)) == {
        "Code": "ResourceConflictException",
        "Status": 409,
        "Message": "Function already exist: fn",
    }
    err = error_of(lambda: create(lam, "f2", Runtime="python9.9"))
    assert err["Code"] == "InvalidParameterValueException" and err["Status"] == 400
    assert err["Message"].startswith(
        "Value python9.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: ["
    )
    assert "python3.12" in err["Message"] and err["Message"].endswith("] or be a valid ARN")
    err = error_of(lambda: create(lam, "f2", Runtime="python2.7"))
    assert err["Message"].startswith("The runtime parameter of python2.7 is no longer supported")
    err = error_of(
        lambda: lam.create_function(
            FunctionName="f2",
            Runtime="python3.12",
            Role="nope",
            Handler="app.handler",
            Code={"ZipFile": package()},
        )
    )
    assert (
        err["Code"] == "ValidationException"
        and "at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern"
        in err["Message"]
    )
    err = error_of(lambda: create(lam, "f2", handler="has space"))
    assert err["Code"] == "ValidationException" and "'handler'" in err["Message"]
    err = error_of(lambda: create(lam, "f2", code=b"not a zip"))
    assert err == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "Could not unzip uploaded file. Please check your file, then try to upload again.",
    }
    err = error_of(lambda: create(lam, "f2", Environment={"Variables": {"AWS_REGION": "x"}}))
    assert err["Code"] == "InvalidParameterValueException" and err["Message"].endswith(
        "Reserved keys used in this request: AWS_REGION"
    )
    err = error_of(lambda: lam.create_function(FunctionName="f2", Role=ROLE, Code={"ZipFile": package()}))
    assert err["Code"] == "InvalidParameterValueException" and "Runtime and Handler" in err["Message"]
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["fn"]
    for call in (
        lambda: lam.invoke(FunctionName="nope"),
        lambda: lam.update_function_code(FunctionName="nope", ZipFile=package()),
        lambda: lam.delete_function(FunctionName="nope"),
        lambda: lam.get_function(FunctionName="fn", Qualifier="7"),
    ):
        assert error_of(call)["Code"] == "ResourceNotFoundException"
    err = error_of(lambda: lam.invoke(FunctionName="fn", Payload=b"{not json"))
    assert err["Code"] == "InvalidRequestContentException" and err["Status"] == 400
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    assert error_of(lambda: lam.invoke(FunctionName="fn", Payload=big)) == {
        "Code": "RequestEntityTooLargeException",
        "Status": 413,
        "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }


def test_oversized_unzipped_package(lam):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", APP)
        with archive.open("padding.bin", "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(251):  # 251 MiB > 262,144,000 bytes, compressed to ~250 KB
                out.write(chunk)
    err = error_of(lambda: create(lam, code=buf.getvalue()))
    assert err == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "Unzipped size must be smaller than 262144000 bytes",
    }
    assert lam.list_functions()["Functions"] == []


def test_runtime_not_run_yet_fails_at_invoke(lam):
    """AWS accepts java21; tidestream runs python3.x, nodejs and provided only and says so at Invoke."""
    assert create(lam, handler="example.Handler", Runtime="java21")["Runtime"] == "java21"
    err = error_of(lambda: lam.invoke(FunctionName="fn"))
    assert err["Code"] == "InvalidRuntimeException" and err["Status"] == 502
    assert "java21" in err["Message"] and "python3.x" in err["Message"]


def test_error_wire_shape(srv, lam):
    """REST-JSON errors: status from the model, x-amzn-ErrorType, {"Type": "User", ...}."""
    req = urllib.request.Request(
        srv.endpoint + "/2015-03-31/functions/missing",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 404
    assert info.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(info.value.read()) == {
        "Type": "User",
        "Message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing",
    }
    preflight = urllib.request.Request(srv.endpoint + "/2015-03-31/functions/x/invocations", method="OPTIONS")
    with urllib.request.urlopen(preflight, timeout=10) as r:  # browsers' CORS preflight
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_operation_not_implemented_yet(lam):
    err = error_of(lambda: lam.list_layers())
    assert err["Code"] == "UnknownOperationException" and "ListLayers" in err["Message"]


def test_update_code_and_configuration(lam):
    create(lam)
    first = invoke(lam)[1]
    assert first["env"]["COLOUR"] is None
    new_code = package(APP.replace('"calls": calls', '"calls": calls, "version": 2'))
    updated = lam.update_function_code(FunctionName="fn", ZipFile=new_code)
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
    second = invoke(lam)[1]
    assert second["version"] == 2 and second["calls"] == 1  # a new process runs the new code
    conf = lam.update_function_configuration(
        FunctionName="fn", MemorySize=512, Environment={"Variables": {"COLOUR": "blue"}}
    )
    assert conf["MemorySize"] == 512 and conf["Environment"] == {"Variables": {"COLOUR": "blue"}}
    third = invoke(lam)[1]
    assert third["env"]["COLOUR"] == "blue" and third["memory"] == "512"
    err = error_of(
        lambda: lam.update_function_configuration(FunctionName="fn", Timeout=9, RevisionId="stale")
    )
    assert err["Code"] == "PreconditionFailedException" and err["Status"] == 412


def test_tags(lam):
    arn = create(lam, Tags={"team": "data"})["FunctionArn"]
    assert lam.get_function(FunctionName="fn")["Tags"] == {"team": "data"}
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "data", "env": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    missing = arn.replace(":fn", ":other")
    assert error_of(lambda: lam.list_tags(Resource=missing))["Code"] == "ResourceNotFoundException"


# --- running functions -----------------------------------------------------------------------------


def test_invoke_returns_result_context_and_environment_and_reuses_warm_process(srv, lam):
    create(lam, Environment={"Variables": {"COLOUR": "green"}}, MemorySize=192)
    results = [invoke(lam, event={"n": i}) for i in range(3)]
    for i, (r, body) in enumerate(results):
        assert r["StatusCode"] == 200 and "FunctionError" not in r
        assert r["ExecutedVersion"] == "$LATEST"
        assert body["event"] == {"n": i}
        assert body["name"] == "fn"
        assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
        assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
        assert 0 < body["remaining_ms"] <= 3000
        assert body["memory"] == "192"
    assert [body["calls"] for _, body in results] == [1, 2, 3]  # one warm process, reused
    env = results[0][1]["env"]
    assert env == {
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "_HANDLER": "app.handler",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "192",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_ENDPOINT_URL": srv.endpoint,
        "LAMBDA_TASK_ROOT": env["LAMBDA_TASK_ROOT"],
        "COLOUR": "green",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
    }
    assert os.path.isfile(os.path.join(env["LAMBDA_TASK_ROOT"], "app.py"))


def test_unhandled_error(lam):
    create(lam, handler="app.boom")
    r, body = invoke(lam, event={"why": "bad input"})
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom: bad input"
    assert isinstance(body["stackTrace"], list) and any("boom" in line for line in body["stackTrace"])


def test_missing_handler_module(lam):
    create(lam, handler="nowhere.handler")
    r, body = invoke(lam)
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "nowhere" in body["errorMessage"]


def test_log_tail_is_the_last_4_kb_of_this_invocation(lam):
    create(lam)
    r, _ = invoke(lam, event={"tag": "first-call"}, LogType="Tail")
    tail = base64.b64decode(r["LogResult"]).decode()
    assert tail.startswith("START RequestId: " + r["ResponseMetadata"]["RequestId"])
    assert "handling first-call" in tail
    assert re.search(r"END RequestId: \S+\nREPORT RequestId: \S+\tDuration: [\d.]+ ms", tail)
    assert "LogResult" not in invoke(lam)[0]  # only when asked for
    create(lam, "loud", handler="app.chatty")
    r, body = invoke(lam, "loud", LogType="Tail")
    tail = base64.b64decode(r["LogResult"])
    assert body == "done" and len(tail) == 4096
    assert b"line 0399" in tail and b"line 0000" not in tail and b"REPORT RequestId" in tail


def test_function_reaches_dynamodb_through_aws_endpoint_url(srv, lam):
    ddb = srv.client("dynamodb")
    make_table(ddb, "from-lambda")
    create(lam, handler="app.put_item")
    r, item = invoke(lam, event={"table": "from-lambda", "key": "k1"})
    assert "FunctionError" not in r, item
    assert item == {"pk": {"S": "k1"}, "by": {"S": "fn"}}
    assert ddb.get_item(TableName="from-lambda", Key={"pk": {"S": "k1"}})["Item"]["by"] == {"S": "fn"}


def test_timeout_kills_the_process(lam):
    create(lam, handler="app.sleepy", Timeout=1)
    assert invoke(lam, event={"seconds": 0})[1] == {"calls": 1}
    r, body = invoke(lam, event={"seconds": 60}, LogType="Tail")
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"RequestId: \S+ Error: Task timed out after 1\.\d\d seconds", body["errorMessage"]
    ), body
    assert "Task timed out after" in base64.b64decode(r["LogResult"]).decode()
    # the timed-out process was killed: the next invocation starts a fresh one
    assert invoke(lam, event={"seconds": 0})[1] == {"calls": 1}


def test_event_and_dry_run(srv, lam):
    ddb = srv.client("dynamodb")
    make_table(ddb, "events")
    create(lam, handler="app.put_item")
    dry = lam.invoke(FunctionName="fn", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    r = lam.invoke(
        FunctionName="fn", InvocationType="Event", Payload=json.dumps({"table": "events", "key": "async"})
    )
    assert r["StatusCode"] == 202 and r["Payload"].read() == b""
    deadline = time.time() + 30  # polling for the background invocation's write, no timing assert
    item = None
    while item is None and time.time() < deadline:
        item = ddb.get_item(TableName="events", Key={"pk": {"S": "async"}}).get("Item")
        time.sleep(0.1)
    assert item == {"pk": {"S": "async"}, "by": {"S": "fn"}}


def test_function_survives_a_crash(tmp_path):
    """Acknowledged means on disk: SIGKILL right after CreateFunction loses nothing."""
    server = start_server(tmp_path)
    try:
        lam = server.client("lambda")
        code = package()
        create(lam, code=code, Tags={"keep": "me"})
        assert invoke(lam)[1]["calls"] == 1
    finally:
        server.kill()
    server.start()
    try:
        lam = server.client("lambda")
        got = lam.get_function(FunctionName="fn")
        assert got["Configuration"]["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
        assert got["Tags"] == {"keep": "me"}
        r, body = invoke(lam, event={"after": "restart"})
        assert "FunctionError" not in r and body["event"] == {"after": "restart"}
        assert body["calls"] == 1
    finally:
        assert server.stop() == 0


def test_concurrency_per_function_is_bounded(lam):
    """MAX_SANDBOXES (4) invocations run at once, each in a process of its own; one more sent
    at the same time is throttled as AWS throttles a function over its concurrency."""
    from concurrent.futures import ThreadPoolExecutor

    from tidestream.lambda_.sandboxes import MAX_SANDBOXES

    create(lam, handler="app.sleepy", Timeout=60)

    def attempt(_: int):
        try:
            return invoke(lam, event={"seconds": 5})[1]
        except ClientError as err:
            return err.response

    with ThreadPoolExecutor(MAX_SANDBOXES + 1) as pool:
        outcomes = list(pool.map(attempt, range(MAX_SANDBOXES + 1)))
    ran = [o for o in outcomes if o == {"calls": 1}]
    throttled = [o for o in outcomes if o not in ran]
    assert len(ran) == MAX_SANDBOXES and len(throttled) == 1, outcomes
    assert throttled[0]["Error"]["Code"] == "TooManyRequestsException"
    assert throttled[0]["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert throttled[0]["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def signed_client(server, key: str, secret: str):
    return boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def test_auth_enforce(tmp_path):
    key, secret, account = "AKIAALICE0000000001", "alice-secret", "111111111111"
    creds = tmp_path / "credentials"
    creds.write_text(f"{key} {secret} {account}\nAKIABOB000000000002 bob-secret 222222222222\n")
    server = start_server(tmp_path, "--auth", "enforce", "--credentials", str(creds), on_disk=False)
    try:
        alice = signed_client(server, key, secret)
        arn = create(alice)["FunctionArn"]
        assert arn == "arn:aws:lambda:us-east-1:111111111111:function:fn"
        bob = signed_client(server, "AKIABOB000000000002", "bob-secret")
        assert bob.list_functions()["Functions"] == []  # accounts are isolated
        forger = signed_client(server, key, "not-the-secret")
        assert error_of(lambda: forger.list_functions())["Code"] == "InvalidSignatureException"
        req = urllib.request.Request(server.endpoint + "/2015-03-31/functions/fn")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        assert [f["FunctionName"] for f in alice.list_functions()["Functions"]] == ["fn"]
    finally:
        assert server.stop() == 0


def test_aws_cli(srv, tmp_path):
    exe = shutil.which("aws")
    assert exe, "the AWS CLI (`aws`) must be on PATH for this test (it comes with the machine image)"
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(package())
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="cli",
        AWS_SECRET_ACCESS_KEY="cli",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )

    def aws(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [exe, "--endpoint-url", srv.endpoint, "--output", "json", "lambda", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    out = aws(
        "create-function",
        "--function-name",
        "cli-fn",
        "--runtime",
        "python3.12",
        "--role",
        ROLE,
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{zip_path}",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["FunctionName"] == "cli-fn"
    assert aws("wait", "function-active-v2", "--function-name", "cli-fn").returncode == 0
    result = tmp_path / "out.json"
    # AWS CLI v1 (on this image) sends --payload as given; v2 would need --cli-binary-format
    out = aws("invoke", "--function-name", "cli-fn", "--payload", '{"tag": "cli"}', str(result))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["StatusCode"] == 200
    assert json.loads(result.read_text())["event"] == {"tag": "cli"}
    out = aws("get-function", "--function-name", "missing")
    assert out.returncode != 0 and "ResourceNotFoundException" in out.stderr


def test_hostile_input_is_a_4xx_never_a_500(srv, lam):
    """Every implemented route, fed broken bodies, wrong types and odd paths, answers an AWS
    error (4xx with x-amzn-ErrorType), never a 500, and creates nothing."""
    create(lam)
    auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request"}
    bodies = [
        b"{",
        b"[]",
        b'"x"',
        b"null",
        b'{"FunctionName": 5}',
        b'{"Code": "zip"}',
        b'{"FunctionName": "x", "Role": [], "Code": {"ZipFile": "!!!"}, "Runtime": {}}',
        b'{"Timeout": "soon", "MemorySize": 1e400, "Environment": {"Variables": [1]}}',
        b'{"Tags": {"k": 1}}',
        b'{"ZipFile": 12}',
        b'{"FunctionName": "' + b"a" * 5000 + b'"}',
    ]
    routes = [
        ("POST", "/2015-03-31/functions"),
        ("PUT", "/2015-03-31/functions/fn/code"),
        ("PUT", "/2015-03-31/functions/fn/configuration"),
        ("POST", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afn"),
        ("GET", "/2015-03-31/functions?MaxItems=-1&Marker=%00"),
        ("GET", "/2015-03-31/functions/%2e%2e%2f%2e%2e"),
        ("GET", "/2015-03-31/functions/" + "f" * 300),
        ("DELETE", "/2017-03-31/tags/nope?tagKeys="),
        ("POST", "/2015-03-31/functions/fn/invocations?Qualifier=%ff"),
    ]
    for method, path in routes:
        for body in bodies:
            req = urllib.request.Request(
                srv.endpoint + path,
                data=body,
                method=method,
                headers={**auth, "X-Amz-Invocation-Type": "Bogus"},
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, headers = r.status, r.headers
            except urllib.error.HTTPError as err:
                status, headers = err.code, err.headers
            assert status < 500, (method, path, body, status)
            if status >= 400:
                assert headers["x-amzn-ErrorType"], (method, path, body)
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["fn"]


def test_states_follow_status_delay(tmp_path):
    """Pending -> Active and InProgress -> Successful after --status-delay, with AWS's refusals
    meanwhile; boto3's waiters see the transitions."""
    server = start_server(tmp_path, "--status-delay", "3", on_disk=False)
    try:
        lam = server.client("lambda")
        arn = create(lam)["FunctionArn"]
        assert lam.get_function_configuration(FunctionName="fn")["State"] == "Pending"
        assert error_of(lambda: lam.invoke(FunctionName="fn")) == {
            "Code": "ResourceConflictException",
            "Status": 409,
            "Message": "The operation cannot be performed at this time. The function is currently in the "
            "following state: Pending",
        }
        lam.get_waiter("function_active_v2").wait(FunctionName="fn")
        assert invoke(lam)[1]["calls"] == 1
        assert (
            lam.update_function_code(FunctionName="fn", ZipFile=package())["LastUpdateStatus"] == "InProgress"
        )
        assert error_of(lambda: lam.update_function_configuration(FunctionName="fn", Timeout=5)) == {
            "Code": "ResourceConflictException",
            "Status": 409,
            "Message": "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {arn}",
        }
        lam.get_waiter("function_updated_v2").wait(FunctionName="fn")
        assert lam.get_function(FunctionName="fn")["Configuration"]["LastUpdateStatus"] == "Successful"
    finally:
        assert server.stop() == 0
