"""Lambda API bad input: AWS's error code, status and text, and nothing created or changed.

Real server, real boto3. Each test names where the expected text comes from: an AWS response
quoted in a public issue, AWS's documentation, or LocalStack's tests validated against AWS.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.e2e.test_lambda import ROLE, create, error_of, package


@pytest.fixture
def lam(srv):
    return srv.client("lambda")


def names(lam) -> list[str]:
    return [f["FunctionName"] for f in lam.list_functions()["Functions"]]


def test_name_longer_than_64_is_refused(lam):
    """AWS's answer quoted in dailyidea/dailyidea.com---ARCHIVE#419: "1 validation error detected:
    Value 'dailyidea-...' at 'functionName' failed to satisfy constraint: Member must have length
    less than or equal to 64 (... Error Code: InvalidParameterValueException ...)"."""
    long_name = "n" * 65
    assert error_of(lambda: create(lam, long_name)) == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": f"1 validation error detected: Value '{long_name}' at 'functionName' failed to "
        "satisfy constraint: Member must have length less than or equal to 64",
    }
    assert create(lam, "n" * 64)["FunctionName"] == "n" * 64
    assert names(lam) == ["n" * 64]


def test_memory_timeout_and_ephemeral_storage_quotas(lam):
    """MemorySize: AWS's text as its Lambda troubleshooting guide quotes it ("'MemorySize' value
    failed to satisfy constraint: Member must have value less than or equal to 3008" for new
    accounts; 10,240 MB is the quota otherwise). Timeout: AWS's answer quoted in
    covidatlas/li#575 ("1 validation error detected: Value '3000' at 'timeout' failed to satisfy
    constraint: Member must have value less than or equal to 900 (... ValidationException ...)");
    cfn-lint#4685 confirms 900 s still holds without CapacityProviderConfig. EphemeralStorage:
    AWS's quota is 10,240 MB; the text is the model-validation form (tidestream's choice). The
    MemorySize error code is not in those quotes: InvalidParameterValueException is a guess."""
    assert error_of(lambda: create(lam, MemorySize=10241)) == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "'MemorySize' value failed to satisfy constraint: Member must have value less than "
        "or equal to 10240",
    }
    assert error_of(lambda: create(lam, Timeout=901)) == {
        "Code": "ValidationException",
        "Status": 400,
        "Message": "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
        "Member must have value less than or equal to 900",
    }
    assert error_of(lambda: create(lam, EphemeralStorage={"Size": 10241})) == {
        "Code": "ValidationException",
        "Status": 400,
        "Message": "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to "
        "satisfy constraint: Member must have value less than or equal to 10240",
    }
    assert names(lam) == []
    created = create(lam, MemorySize=10240, Timeout=900, EphemeralStorage={"Size": 10240})
    assert (created["MemorySize"], created["Timeout"], created["EphemeralStorage"]) == (
        10240,
        900,
        {"Size": 10240},
    )
    revision = created["RevisionId"]
    for change in ({"MemorySize": 10241}, {"Timeout": 901}, {"EphemeralStorage": {"Size": 10241}}):
        err = error_of(lambda change=change: lam.update_function_configuration(FunctionName="fn", **change))
        assert err["Status"] == 400 and "less than or equal to" in err["Message"], change
    after = lam.get_function_configuration(FunctionName="fn")
    assert after["RevisionId"] == revision and after["MemorySize"] == 10240  # nothing changed


def test_layers_do_not_exist(lam):
    """AWS's answer quoted in intuit/costBuddy#19: "InvalidParameterValueException: Layer version
    arn:aws:lambda:eu-west-1:...:layer:AWSLambda-Python37-SciPy1x:2 does not exist." tidestream
    serves no layers, so every layer version is one that does not exist."""
    layer = "arn:aws:lambda:us-east-1:000000000000:layer:deps:3"
    assert error_of(lambda: create(lam, Layers=[layer])) == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": f"Layer version {layer} does not exist.",
    }
    assert names(lam) == []
    create(lam)
    err = error_of(lambda: lam.update_function_configuration(FunctionName="fn", Layers=[layer]))
    assert err["Message"] == f"Layer version {layer} does not exist."
    assert "Layers" not in lam.get_function_configuration(FunctionName="fn")


def test_environment_over_4_kb_names_the_measured_string(lam):
    """AWS's answer, as Terraform prints it in public reports: "InvalidParameterValueException:
    Lambda was unable to configure your environment variables because the environment variables
    you have provided exceeded the 4KB limit. String measured: {"PG_PASSWORD":"hunter2"}" (the
    JSON of the variables, not a byte count; LocalStack's provider says the same)."""
    variables = {"BIG": "x" * 4100}
    err = error_of(lambda: create(lam, Environment={"Variables": variables}))
    assert err == {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit. String measured: "
        + json.dumps(variables, separators=(",", ":")),
    }
    assert names(lam) == []


def test_qualifier_in_the_name_must_match_the_qualifier_parameter(lam):
    """AWS's text, from the EventBridge Scheduler user guide (a Lambda target's DLQ message):
    ERROR_CODE InvalidParameterValueException, ERROR_MESSAGE "The derived qualifier from the
    function name does not match the specified qualifier." (for FunctionName "MyFunction:2",
    Qualifier "1")."""
    create(lam)
    expected = {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "The derived qualifier from the function name does not match the specified qualifier.",
    }
    assert error_of(lambda: lam.get_function(FunctionName="fn:2", Qualifier="1")) == expected
    assert error_of(lambda: lam.get_function_configuration(FunctionName="fn:2", Qualifier="1")) == expected
    assert error_of(lambda: lam.delete_function(FunctionName="fn:2", Qualifier="1")) == expected
    # the same qualifier twice is no conflict
    got = lam.get_function(FunctionName="fn:$LATEST", Qualifier="$LATEST")
    assert got["Configuration"]["FunctionName"] == "fn"
    assert names(lam) == ["fn"]


def test_latest_cannot_be_deleted_alone(lam):
    """AWS's text as LocalStack's Lambda provider (snapshot-tested against AWS) and other
    emulators answer it: "$LATEST version cannot be deleted without deleting the function."
    Before, the whole function was deleted."""
    create(lam)
    for kwargs in ({"FunctionName": "fn", "Qualifier": "$LATEST"}, {"FunctionName": "fn:$LATEST"}):
        assert error_of(lambda kwargs=kwargs: lam.delete_function(**kwargs)) == {
            "Code": "InvalidParameterValueException",
            "Status": 400,
            "Message": "$LATEST version cannot be deleted without deleting the function.",
        }
    assert names(lam) == ["fn"]


def test_arn_of_another_region(lam):
    """LocalStack's Lambda provider's text for a function ARN of another region: "Functions from
    'eu-west-1' are not reachable in this region ('us-east-1')" (ResourceNotFoundException).
    Before, the answer was "Function not found" with the ARN."""
    create(lam)
    arn = "arn:aws:lambda:eu-west-1:000000000000:function:fn"
    expected = {
        "Code": "ResourceNotFoundException",
        "Status": 404,
        "Message": "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
    }
    assert error_of(lambda: lam.get_function(FunctionName=arn)) == expected
    assert error_of(lambda: lam.delete_function(FunctionName=arn)) == expected
    assert (
        error_of(
            lambda: lam.create_function(
                FunctionName=arn,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": package()},
            )
        )
        == expected
    )
    assert names(lam) == ["fn"]


def test_zip_file_with_another_code_source(lam):
    """AWS's text, as a public Java test suite of a Lambda client expects it and CloudFormation
    policy linters quote it: InvalidParameterValueException "Please do not provide other
    FunctionCode parameters when providing a ZipFile." Before, the S3 location was ignored."""
    expected = {
        "Code": "InvalidParameterValueException",
        "Status": 400,
        "Message": "Please do not provide other FunctionCode parameters when providing a ZipFile.",
    }
    both = {"ZipFile": package(), "S3Bucket": "deploy-bucket", "S3Key": "fn.zip"}
    assert (
        error_of(
            lambda: lam.create_function(
                FunctionName="fn", Runtime="python3.12", Role=ROLE, Handler="app.handler", Code=both
            )
        )
        == expected
    )
    assert names(lam) == []
    sha = create(lam)["CodeSha256"]
    err = error_of(
        lambda: lam.update_function_code(
            FunctionName="fn",
            ZipFile=package("def handler(e, c):\n    return 2\n"),
            S3Bucket="deploy-bucket",
            S3Key="k",
        )
    )
    assert err == expected
    assert lam.get_function_configuration(FunctionName="fn")["CodeSha256"] == sha


def test_empty_archive_is_accepted_and_fails_at_invoke(lam):
    """AWS accepts a valid zip whatever it holds and fails the invocation in the runtime:
    awslambdaric (AWS's own runtime client, the one AWS's python images run) answers
    Runtime.ImportModuleError "Unable to import module 'app': No module named 'app'". Before,
    an archive with no entries left no task root and Invoke answered a 500."""
    create(lam, "empty", code=package_of({}))
    create(lam, "elsewhere", code=package_of({"lib/other.py": "x = 1\n"}))
    for name in ("empty", "elsewhere"):
        response = lam.invoke(FunctionName=name, Payload=b"{}")
        assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
        body = json.loads(response["Payload"].read())
        assert body["errorType"] == "Runtime.ImportModuleError"
        assert body["errorMessage"] == "Unable to import module 'app': No module named 'app'"


def package_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def test_package_over_16_mb_is_accepted_up_to_aws_limit(lam, srv):
    """AWS takes a deployment package of up to 50 MB zipped in CreateFunction's body (base64
    JSON, so requests up to 69,905,067 bytes; AWS Lambda quotas page, "Deployment package (.zip
    file archive) size: 50 MB (zipped, when uploaded through the Lambda API)"). The server's
    general 16 MiB body limit used to cut such a request with 413."""
    import os

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'big'\n")
        archive.writestr("blob.bin", os.urandom(20 * 1024 * 1024))
    big = buffer.getvalue()
    create(lam, "big", code=big)
    assert lam.get_function_configuration(FunctionName="big")["CodeSize"] == len(big)
    lam.update_function_code(FunctionName="big", ZipFile=big)
    assert json.loads(lam.invoke(FunctionName="big", Payload=b"{}")["Payload"].read()) == "big"


def test_request_over_the_code_limit_is_refused_at_once(srv):
    """Over 69,905,067 bytes AWS answers 413 RequestEntityTooLargeException "Request must be
    smaller than 69905067 bytes for the CreateFunction operation" (the text quoted in
    aws/aws-cli and serverless issues); tidestream answers from Content-Length, before the body."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.putrequest("POST", "/2015-03-31/functions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(69905068))
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 413
    assert body["__type"] == "RequestEntityTooLargeException"
    assert body["message"] == "Request must be smaller than 69905067 bytes for the CreateFunction operation"
