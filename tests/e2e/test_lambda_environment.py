"""The environment a python3.x function sees, variable by variable, as AWS sets it (the Node.js
and provided runtimes are checked in test_lambda_node.py and test_lambda_provided.py)."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest

from tests.conftest import node_endpoints
from tests.e2e.test_lambda import ROLE, package

APP = """
import json, os

def handler(event, context):
    env = dict(os.environ)
    print("ENV " + json.dumps(env, sort_keys=True))
    return {"env": env, "stream": context.log_stream_name, "group": context.log_group_name,
            "cwd": os.getcwd()}
"""


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_python_environment_is_the_one_aws_sets(srv, runtime):
    import awslambdaric

    lam = srv.client("lambda", region="eu-central-1")
    lam.create_function(
        FunctionName="env",
        Runtime=runtime,
        Role=ROLE,
        Handler="app.handler",
        MemorySize=384,
        Code={"ZipFile": package(APP)},
        Environment={"Variables": {"STAGE": "test", "LANG": "C.UTF-8"}},
    )
    r = lam.invoke(FunctionName="env", LogType="Tail")
    out = json.loads(r["Payload"].read())
    env = out["env"]
    expected = {
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "env",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "384",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/env",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "LAMBDA_TASK_ROOT": out["cwd"],
        "LAMBDA_RUNTIME_DIR": os.path.dirname(awslambdaric.__file__),
        "TZ": ":UTC",
        "LANG": "C.UTF-8",  # an unreserved variable the function may set, as on AWS
        "STAGE": "test",
        "AWS_ACCESS_KEY_ID": "000000000000",
        "AWS_ACCESS_KEY": "000000000000",
    }
    assert {k: env.get(k) for k in expected} == expected
    assert env["AWS_ENDPOINT_URL"] in node_endpoints(srv)  # the node that runs the function
    assert env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream) and stream == out["stream"]
    assert out["group"] == "/aws/lambda/env"
    printed = base64.b64decode(r["LogResult"]).decode()
    assert json.loads(printed.split("ENV ", 1)[1].splitlines()[0]) == env  # printed to the log
