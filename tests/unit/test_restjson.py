"""The generic REST-JSON routing, driven by botocore's Lambda model (no server needed)."""

from __future__ import annotations

import orjson

from tidestream.errors import AwsError
from tidestream.http.restjson import RestJsonRouter


def router() -> RestJsonRouter:
    return RestJsonRouter("lambda")


def test_routes_by_method_and_path():
    r = router()
    assert {"/2015-03-31/", "/2017-03-31/", "/2018-10-31/"} <= set(r.prefixes)
    assert r.match("GET", "/2015-03-31/functions/f/configuration")[0].operation == "GetFunctionConfiguration"
    assert r.match("GET", "/2015-03-31/functions/f")[0].operation == "GetFunction"
    assert r.match("DELETE", "/2015-03-31/functions/f")[0].operation == "DeleteFunction"
    assert r.match("GET", "/2015-03-31/functions/")[0].operation == "ListFunctions"
    assert r.match("POST", "/2015-03-31/functions")[0].operation == "CreateFunction"
    assert r.match("PATCH", "/2015-03-31/functions/f") is None
    assert r.match("GET", "/2015-03-31/functions/f/unknown") is None
    # a query parameter fixed by the requestUri picks the operation
    assert (
        r.match("GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x")[0].operation == "GetLayerVersionByArn"
    )
    assert r.match("GET", "/2018-10-31/layers", "MaxItems=2")[0].operation == "ListLayers"


def test_params_from_uri_query_headers_and_raw_payload():
    r = router()
    route, labels = r.match("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Ax/invocations")
    params = r.params(
        route,
        labels,
        "Qualifier=%24LATEST",
        {"x-amz-invocation-type": "Event", "x-amz-log-type": "Tail"},
        b'{"a": 1}',
    )
    assert params == {
        "FunctionName": "arn:aws:lambda:x",
        "Qualifier": "$LATEST",
        "InvocationType": "Event",
        "LogType": "Tail",
        "Payload": b'{"a": 1}',
    }
    route, labels = r.match("GET", "/2015-03-31/functions")
    assert r.params(route, labels, "MaxItems=2&Marker=m", {}, b"") == {"MaxItems": 2, "Marker": "m"}
    # a value that does not parse is left as text for the validator to report
    assert r.params(route, labels, "MaxItems=two", {}, b"") == {"MaxItems": "two"}
    route, labels = r.match("DELETE", "/2017-03-31/tags/arn")
    assert r.params(route, labels, "tagKeys=a&tagKeys=b", {}, b"") == {
        "Resource": "arn",
        "TagKeys": ["a", "b"],
    }


def test_render_status_headers_and_payload():
    r = router()
    route, _ = r.match("POST", "/2015-03-31/functions/f/invocations")
    resp = r.render(
        route,
        {"StatusCode": 200, "Payload": b'"hi"', "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST"},
        "rid",
    )
    assert resp.status == 200 and resp.body == b'"hi"'
    headers = dict(resp.headers)
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert headers["X-Amz-Executed-Version"] == "$LATEST"
    assert headers["x-amzn-RequestId"] == "rid"
    route, _ = r.match("DELETE", "/2015-03-31/functions/f")
    resp = r.render(route, {"StatusCode": 204}, "rid")
    assert (resp.status, resp.body) == (204, b"")
    route, _ = r.match("POST", "/2015-03-31/functions")
    resp = r.render(route, {"FunctionName": "f"}, "rid")
    assert resp.status == 201 and orjson.loads(resp.body) == {"FunctionName": "f"}


def test_errors_take_status_and_message_casing_from_the_model():
    r = router()
    resp = r.error(AwsError("gone", code="ResourceNotFoundException"), "rid")
    assert resp.status == 404 and dict(resp.headers)["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert orjson.loads(resp.body) == {"Type": "User", "Message": "gone"}
    resp = r.error(AwsError("busy", code="ResourceConflictException"), "rid")
    assert resp.status == 409 and orjson.loads(resp.body) == {"Type": "User", "message": "busy"}
    resp = r.error(AwsError("bad", code="ValidationException"), "rid")  # not in the model
    assert resp.status == 400 and orjson.loads(resp.body) == {"Type": "User", "message": "bad"}
