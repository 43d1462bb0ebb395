"""Operator routes (``/_tidestream/*``, ``/metrics``) against real server processes.

The attack these guard against: any web page open in a developer's browser, or anyone on the
network, wiping all data with ``POST /_tidestream/reset``. Each refusal is checked by the data
that must survive it, not only by the status code.
"""

from __future__ import annotations

import http.client

import boto3
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from tests.conftest import ServerProcess, free_port, make_table

KEY, SECRET, ACCOUNT = "AKIAOPERATOR00000001", "operator/secret+key", "333333333333"
RESET = "/_tidestream/reset"
ADMIN = {"X-Tidestream-Admin": "1"}


@pytest.fixture(scope="module")
def enforce_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admin-enforce")
    creds = tmp / "credentials"
    creds.write_text(f"{KEY} {SECRET} {ACCOUNT}\n")
    s = ServerProcess(
        free_port(), None, ["--auth", "enforce", "--credentials", str(creds)], log_path=tmp / "server.log"
    ).start()
    yield s
    assert s.stop() == 0, s.read_log()


@pytest.fixture
def esrv(enforce_server: ServerProcess) -> ServerProcess:
    enforce_server.reset()
    return enforce_server


def request(
    srv: ServerProcess, method: str, path: str, headers: dict | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def sign(
    srv: ServerProcess,
    method: str,
    path: str,
    *,
    key: str = KEY,
    secret: str = SECRET,
    service: str = "dynamodb",
    extra: dict | None = None,
) -> dict[str, str]:
    """Headers of ``method path`` signed by botocore (the oracle), plus ``extra`` (signed too)."""
    req = AWSRequest(
        method=method, url=f"http://127.0.0.1:{srv.port}{path}", data=b"", headers=dict(extra or {})
    )
    SigV4Auth(Credentials(key, secret), service, "eu-west-1").add_auth(req)
    return dict(req.headers.items())


def ddb(srv: ServerProcess, key: str = KEY, secret: str = SECRET):
    return boto3.client(
        "dynamodb",
        endpoint_url=srv.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def seed(client) -> None:
    make_table(client, "keep")
    client.put_item(TableName="keep", Item={"pk": {"S": "survivor"}})


def survives(client) -> bool:
    return "Item" in client.get_item(TableName="keep", Key={"pk": {"S": "survivor"}})


def refused(status: int, data: bytes, code: str) -> dict:
    assert status == 403, (status, data)
    body = orjson.loads(data)
    assert body["__type"] == code and "X-Tidestream-Admin: 1" in body["hint"], body
    return body


# --------------------------------------------------------------------------- --auth enforce


def test_reset_without_valid_signature_is_refused_and_wipes_nothing(esrv):
    client = ddb(esrv)
    seed(client)
    status, _, data = request(esrv, "POST", RESET, ADMIN)
    assert (
        refused(status, data, "MissingAuthenticationTokenException")["message"]
        == "Request is missing Authentication Token"
    )
    status, _, data = request(esrv, "POST", RESET, sign(esrv, "POST", RESET, secret="wrong", extra=ADMIN))
    assert refused(status, data, "InvalidSignatureException")["message"].startswith(
        "The request signature we calculated does not match"
    )
    status, _, data = request(esrv, "POST", RESET, sign(esrv, "POST", RESET, key="AKIANOBODY", extra=ADMIN))
    refused(status, data, "UnrecognizedClientException")
    assert survives(client)


def test_reset_with_valid_signature_works(esrv):
    client = ddb(esrv)
    seed(client)
    # a signature for any service name is accepted on operator routes
    status, _, data = request(
        esrv, "POST", RESET, sign(esrv, "POST", RESET, service="tidestream", extra=ADMIN)
    )
    assert (status, orjson.loads(data)) == (200, {"reset": True})
    assert client.list_tables()["TableNames"] == []


def test_signed_reset_still_needs_the_admin_header(esrv):
    client = ddb(esrv)
    seed(client)
    status, _, data = request(esrv, "POST", RESET, sign(esrv, "POST", RESET))
    assert (
        refused(status, data, "AccessDeniedException")["message"]
        == "Refused missing header X-Tidestream-Admin: 1."
    )
    assert survives(client)


def test_metrics_needs_a_signature_under_enforce(esrv):
    status, _, data = request(esrv, "GET", "/metrics")
    refused(status, data, "MissingAuthenticationTokenException")
    status, headers, data = request(esrv, "GET", "/metrics", sign(esrv, "GET", "/metrics"))
    assert status == 200 and headers["content-type"].startswith("text/plain")


def test_health_stays_open_under_enforce(esrv):
    """A liveness probe carries no credentials; health changes nothing and tells only this."""
    status, _, data = request(esrv, "GET", "/_tidestream/health")
    assert status == 200
    assert set(orjson.loads(data)) == {"status", "version", "storage", "services"}


# --------------------------------------------------------------------------- --auth off: browsers


def test_cross_site_reset_is_refused_with_auth_off(srv):
    client = srv.client()
    seed(client)
    evil = {**ADMIN, "Origin": "http://evil.example", "Content-Type": "application/json"}
    status, _, data = request(srv, "POST", RESET, evil, b"{}")
    assert "Origin: http://evil.example" in refused(status, data, "AccessDeniedException")["message"]
    status, _, data = request(srv, "POST", RESET, {**ADMIN, "Sec-Fetch-Site": "cross-site"})
    refused(status, data, "AccessDeniedException")
    # DNS rebinding: the page's own name now points at 127.0.0.1, so Origin matches Host
    rebound = {**ADMIN, "Host": f"evil.example:{srv.port}", "Origin": f"http://evil.example:{srv.port}"}
    status, _, data = request(srv, "POST", RESET, rebound)
    refused(status, data, "AccessDeniedException")
    status, _, data = request(srv, "POST", RESET, {**ADMIN, "Origin": "null"})
    refused(status, data, "AccessDeniedException")
    assert survives(client)


def test_plain_post_without_admin_header_is_refused(srv):
    client = srv.client()
    seed(client)
    for headers in ({}, {"Content-Type": "text/plain"}, {"X-Tidestream-Admin": "yes"}):
        status, _, data = request(srv, "POST", RESET, headers, b"x")
        refused(status, data, "AccessDeniedException")
    assert survives(client)


def test_reset_from_scripts_and_own_origin_works(srv):
    client = srv.client()
    seed(client)
    own = {**ADMIN, "Origin": f"http://127.0.0.1:{srv.port}", "Sec-Fetch-Site": "same-origin"}
    status, _, _ = request(srv, "POST", RESET, own)
    assert status == 200
    assert client.list_tables()["TableNames"] == []


def test_preflight_grants_nothing_on_operator_routes(srv):
    preflight = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-tidestream-admin",
    }
    for path in (RESET, "/metrics", "/_tidestream/health"):
        status, headers, data = request(srv, "OPTIONS", path, preflight)
        assert status == 403, path
        assert not [h for h in headers if h.startswith("access-control-")], headers
    # the AWS API keeps its CORS answer for browsers using the AWS SDK for JavaScript
    status, headers, _ = request(
        srv, "OPTIONS", "/", {**preflight, "Access-Control-Request-Headers": "x-amz-target,authorization"}
    )
    assert status == 200 and headers["access-control-allow-origin"] == "*"


# --------------------------------------------------------------------------- startup warning


def test_public_bind_without_auth_warns_loudly(tmp_path):
    s = ServerProcess(free_port(), None, ["--host", "0.0.0.0"], log_path=tmp_path / "server.log")
    s.start()  # only ever reached through 127.0.0.1
    try:
        log = s.read_log()
    finally:
        assert s.stop() == 0
    assert "SECURITY WARNING: listening on 0.0.0.0 WITHOUT AUTHENTICATION" in log, log
    assert "POST /_tidestream/reset" in log


def test_loopback_bind_without_auth_does_not_warn(server):
    assert "listening on http://127.0.0.1:" in server.read_log()
    assert "SECURITY WARNING" not in server.read_log()


@pytest.mark.parametrize(
    "host,auth,warns",
    [
        ("0.0.0.0", "off", True),
        ("::", "off", True),
        ("192.168.1.20", "off", True),
        ("tidestream.internal", "off", True),
        ("0.0.0.0", "enforce", False),
        ("127.0.0.1", "off", False),
        ("127.0.0.2", "off", False),
        ("::1", "off", False),
        ("localhost", "off", False),
    ],
)
def test_which_binds_warn(host, auth, warns):
    from tidestream.config import Config
    from tidestream.runtime import exposure_warning

    assert (exposure_warning(Config(host=host, auth=auth)) is not None) == warns
