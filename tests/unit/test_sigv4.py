"""SigV4 verification against botocore's signer (the oracle): canonical form, keys, errors."""

from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidestream.errors import AwsError
from tidestream.http.messages import Request
from tidestream.http.sigv4 import Verifier, canonical_request, load_credentials

KEY, SECRET, ACCOUNT = "AKIDTEST", "s3cr3t/+=", "123456789012"
NOW = 1_704_067_200.0  # 2024-01-01T00:00:00Z


def sign(
    method="POST",
    path="/",
    body=b"{}",
    headers=None,
    region="us-east-1",
    service="dynamodb",
    key=KEY,
    secret=SECRET,
    stamp="20240101T000000Z",
    host="localhost:4566",
):
    """A request signed by botocore, as our HTTP layer would hand it over."""
    h = {
        "Host": host,
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
    }
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}  # None: leave that header out
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=h)
    req.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(key, secret), service, region)
    # botocore sets the timestamp in add_auth; replay its steps with ours (frozen clock)
    signer._modify_request_before_signing(req)
    creq = signer.canonical_request(req)
    sts = signer.string_to_sign(req, creq)
    signer._inject_signature_to_request(req, signer.signature(sts, req))
    headers = {k.lower(): v for k, v in req.headers.items()}
    return Request(method, path, headers, body), creq


@pytest.fixture
def verifier():
    return Verifier({KEY: (SECRET, ACCOUNT), "AKIDOTHER": ("x", "210987654321")}, clock=lambda: NOW)


def _err(verifier, req) -> AwsError:
    with pytest.raises(AwsError) as e:
        verifier(req)
    return e.value


def test_good_request(verifier):
    req, _ = sign()
    assert verifier(req) == (ACCOUNT, "us-east-1")
    req, _ = sign(
        region="eu-west-3", headers={"X-Amz-Target": "Kinesis_20131202.ListStreams"}, service="kinesis"
    )
    assert verifier(req) == (ACCOUNT, "eu-west-3")


def test_signing_key_is_cached(verifier):
    req, _ = sign()
    verifier(req)
    verifier(req)
    assert len(verifier._keys) == 1


def test_gzip_body_is_verified_raw(verifier):
    import gzip

    raw = gzip.compress(b'{"Limit": 3}')
    req, _ = sign(body=raw, headers={"Content-Encoding": "gzip"})
    req.raw_body, req.body = raw, b'{"Limit": 3}'
    assert verifier(req)[0] == ACCOUNT


@pytest.mark.parametrize(
    "mutate,code,text",
    [
        (
            lambda r: r.headers.pop("authorization"),
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        ),
        (
            lambda r: r.headers.__setitem__("authorization", "Bearer abc"),
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        ),
        (
            lambda r: setattr(r, "body", b'{"Limit":1}'),
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your "
            "AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        (
            lambda r: r.headers.__setitem__("x-amz-target", "DynamoDB_20120810.DeleteTable"),
            "InvalidSignatureException",
            "The request signature we calculated",
        ),
        (
            lambda r: r.headers.__setitem__("x-amz-date", "2024-01-01"),
            "IncompleteSignatureException",
            "Date must be in ISO-8601 'basic format'. Got '2024-01-01'. See http://en.wikipedia.org/wiki/ISO_8601",
        ),
        (
            lambda r: r.headers.__setitem__("authorization", r.headers["authorization"].replace(KEY, "NOPE")),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            lambda r: r.headers.__setitem__("authorization", "AWS4-HMAC-SHA256 Signature=abc"),
            "IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Signature=abc",
        ),
        (
            lambda r: r.headers.__setitem__(
                "authorization", r.headers["authorization"].replace("SignedHeaders=", "SignedHeaders=x;")
            ),
            "InvalidSignatureException",
            "The request signature",
        ),
        (
            lambda r: r.headers.__setitem__("authorization", r.headers["authorization"].replace("host;", "")),
            "InvalidSignatureException",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            lambda r: r.headers.__setitem__(
                "authorization", r.headers["authorization"].replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
            ),
            "IncompleteSignatureException",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
        ),
        (
            lambda r: r.headers.__setitem__(
                "authorization", r.headers["authorization"].replace("/aws4_request", "")
            ),
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{KEY}/20240101/us-east-1/dynamodb'",
        ),
        (
            lambda r: r.headers.__setitem__(
                "authorization",
                r.headers["authorization"].replace(
                    "20240101/us-east-1/dynamodb/aws4_request", "20231231/US/kinesis/aws5_request"
                ),
            ),
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'US'. Credential should be scoped to "
            "correct service: 'dynamodb'. Credential should be scoped with a valid terminator: "
            "'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from "
            "ISO-8601 version of date from HTTP: '20231231' != '20240101', from '20240101T000000Z'.",
        ),
    ],
)
def test_errors(verifier, mutate, code, text):
    req, _ = sign()
    mutate(req)
    err = _err(verifier, req)
    assert err.code == code and err.status == 400
    assert err.message.startswith(text)


def test_kinesis_missing_token_text(verifier):
    req = Request("POST", "/", {"x-amz-target": "Kinesis_20131202.ListStreams"}, b"{}")
    err = _err(verifier, req)
    assert (err.code, err.message) == ("MissingAuthenticationTokenException", "Missing Authentication Token")


def test_clock_skew(verifier):
    req, _ = sign(stamp="20231231T235400Z")  # 6 min early
    err = _err(verifier, req)
    assert err.code == "InvalidSignatureException"
    assert err.message == (
        "Signature expired: 20231231T235400Z is now earlier than 20231231T235500Z (20240101T000000Z - 5 min.)"
    )
    req, _ = sign(stamp="20240101T000600Z")
    err = _err(verifier, req)
    assert err.message == (
        "Signature not yet current: 20240101T000600Z is still later than "
        "20240101T000500Z (20240101T000000Z + 5 min.)"
    )
    req, _ = sign(stamp="20231231T235600Z")  # 4 min: fine
    assert verifier(req)[0] == ACCOUNT


def test_content_sha256_header_must_match_body(verifier):
    import hashlib

    body = b'{"Limit":2}'
    req, _ = sign(body=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert verifier(req)[0] == ACCOUNT
    req.body = b'{"Limit":3}'
    assert _err(verifier, req).code == "InvalidSignatureException"


def test_presigned_query_form(verifier):
    creds = Credentials(KEY, SECRET)
    areq = AWSRequest(
        method="POST",
        url="http://localhost:4566/",
        headers={"Host": "localhost:4566", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    areq.context["timestamp"] = "20240101T000000Z"
    signer = SigV4QueryAuth(creds, "dynamodb", "us-west-2", expires=600)
    signer._modify_request_before_signing(areq)
    creq = signer.canonical_request(areq)
    signer._inject_signature_to_request(areq, signer.signature(signer.string_to_sign(areq, creq), areq))
    path = areq.url.split("localhost:4566", 1)[1]
    req = Request("POST", path, {k.lower(): v for k, v in areq.headers.items()}, b"")
    assert verifier(req) == (ACCOUNT, "us-west-2")
    req.headers["authorization"] = "AWS4-HMAC-SHA256 x=y"
    assert _err(verifier, req).message.startswith("Found both 'X-Amz-Algorithm'")


def test_credentials_file(tmp_path):
    p = tmp_path / "creds"
    p.write_text("# comment\n\nAKID1 secret1 111111111111\n  AKID2 secret2 222222222222  # tail\n")
    assert load_credentials(str(p)) == {
        "AKID1": ("secret1", "111111111111"),
        "AKID2": ("secret2", "222222222222"),
    }
    p.write_text("AKID1 secret1\n")
    with pytest.raises(ValueError):
        load_credentials(str(p))


# --------------------------------------------------------------------------- property: canonical form

_seg = st.text(alphabet=st.sampled_from("abcXYZ019-_.~!$&'()*+,;=:@% é/"), max_size=8)
_qval = st.text(alphabet=st.sampled_from("abcXYZ019-_.~!$'()*+,;:@/ é?"), max_size=6)
_hname = st.from_regex(r"x-[a-z0-9]{1,8}(-[a-z0-9]{1,4})?", fullmatch=True)
_hval = st.text(alphabet=st.sampled_from("abcXYZ019 \t-_.~!$&'()*+,;=:@/\"%"), max_size=16)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
    segments=st.lists(_seg, max_size=4),
    trailing=st.booleans(),
    query=st.lists(st.tuples(st.text("abcxyzAB-_.~ %", min_size=1, max_size=5), _qval), max_size=4),
    headers=st.dictionaries(_hname, _hval, max_size=5),
    body=st.binary(max_size=64),
    region=st.sampled_from(["us-east-1", "eu-central-1", "ap-southeast-2", "local"]),
    service=st.sampled_from(["dynamodb", "kinesis"]),
)
def test_canonical_request_matches_botocore(
    method, segments, trailing, query, headers, body, region, service
):
    from urllib.parse import quote, urlencode

    path = "/" + "/".join(quote(s, safe="/") for s in segments) + ("/" if trailing and segments else "")
    qs = urlencode(query, quote_via=quote, safe="") if query else ""
    url = f"http://h.example:4566{path}" + (f"?{qs}" if qs else "")
    target = "DynamoDB_20120810.Scan" if service == "dynamodb" else "Kinesis_20131202.ListShards"
    h = {"Host": "h.example:4566", "X-Amz-Target": target}
    h.update(headers)
    areq = AWSRequest(method=method, url=url, data=body, headers=h)
    areq.context["timestamp"] = "20240101T000000Z"
    signer = SigV4Auth(Credentials(KEY, SECRET), service, region)
    signer._modify_request_before_signing(areq)
    expected_creq = signer.canonical_request(areq)
    signer._inject_signature_to_request(
        areq, signer.signature(signer.string_to_sign(areq, expected_creq), areq)
    )
    wire_path = path + (f"?{qs}" if qs else "")
    lower = {k.lower(): v for k, v in areq.headers.items()}
    signed = lower["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    import hashlib

    ours = canonical_request(method, path, qs, lower, signed, hashlib.sha256(body).hexdigest())
    assert ours == expected_creq
    v = Verifier({KEY: (SECRET, ACCOUNT)}, clock=lambda: NOW)
    assert v(Request(method, wire_path, lower, body)) == (ACCOUNT, region)


# --------------------------------------------------------------------------- what a signature must cover


def presign(
    headers: dict | None = None, expires: int = 600, unsigned_payload: bool = False, body: bytes = b""
) -> tuple[str, dict[str, str]]:
    """(path with query, lower-cased headers) of a URL presigned by botocore at NOW.

    ``unsigned_payload`` signs UNSIGNED-PAYLOAD, as S3-style presigners do (botocore does for
    an https URL whose operation disables payload signing)."""
    scheme = "https" if unsigned_payload else "http"
    areq = AWSRequest(
        method="POST",
        url=f"{scheme}://localhost:4566/",
        data=body,
        headers={"Host": "localhost:4566", **(headers or {})},
    )
    areq.context["timestamp"] = "20240101T000000Z"
    areq.context["payload_signing_enabled"] = not unsigned_payload
    signer = SigV4QueryAuth(Credentials(KEY, SECRET), "dynamodb", "us-east-1", expires=expires)
    signer._modify_request_before_signing(areq)
    creq = signer.canonical_request(areq)
    assert ("UNSIGNED-PAYLOAD" in creq) == unsigned_payload
    signer._inject_signature_to_request(areq, signer.signature(signer.string_to_sign(areq, creq), areq))
    return areq.url.split("localhost:4566", 1)[1], {k.lower(): v for k, v in areq.headers.items()}


def test_presigned_expiry_is_at_most_a_week(verifier):
    path, headers = presign(expires=604800)
    assert verifier(Request("POST", path, headers, b""))[0] == ACCOUNT
    path, headers = presign(expires=604801)
    err = _err(verifier, Request("POST", path, headers, b""))
    assert (err.code, err.status) == ("IncompleteSignatureException", 400)
    assert err.message == "X-Amz-Expires must be less than a week (in seconds) that is 604800"
    bad = path.replace("X-Amz-Expires=604801", "X-Amz-Expires=soon")
    assert _err(verifier, Request("POST", bad, headers, b"")).message == "X-Amz-Expires should be a number"


def test_presigned_host_only_url_cannot_be_replayed_as_another_operation(verifier):
    """The attack: a URL signing only ``host`` and UNSIGNED-PAYLOAD, sent as a PutItem."""
    path, headers = presign(unsigned_payload=True)
    forged = {
        **headers,
        "x-amz-target": "DynamoDB_20120810.PutItem",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    }
    err = _err(verifier, Request("POST", path, forged, b'{"TableName":"t","Item":{}}'))
    assert (err.code, err.message) == (
        "InvalidSignatureException",
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_presigned_unsigned_payload_does_not_free_the_body(verifier):
    path, headers = presign({"X-Amz-Target": "DynamoDB_20120810.PutItem"}, unsigned_payload=True)
    headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    err = _err(verifier, Request("POST", path, headers, b'{"TableName":"t","Item":{}}'))
    assert err.code == "InvalidSignatureException" and err.message.startswith("The request signature")
    # the same URL signed over its real (empty) body is fine
    path, headers = presign({"X-Amz-Target": "DynamoDB_20120810.ListTables"})
    assert verifier(Request("POST", path, headers, b""))[0] == ACCOUNT


def test_header_auth_unsigned_payload_does_not_free_the_body(verifier):
    areq = AWSRequest(
        method="POST",
        url="https://localhost:4566/",
        data=b'{"Limit":1}',
        headers={"Host": "localhost:4566", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    areq.context["timestamp"] = "20240101T000000Z"
    areq.context["payload_signing_enabled"] = False
    signer = SigV4Auth(Credentials(KEY, SECRET), "dynamodb", "us-east-1")
    signer._modify_request_before_signing(areq)
    creq = signer.canonical_request(areq)
    assert creq.endswith("\nUNSIGNED-PAYLOAD")
    signer._inject_signature_to_request(areq, signer.signature(signer.string_to_sign(areq, creq), areq))
    headers = {k.lower(): v for k, v in areq.headers.items()}
    headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"  # not signed: added by the attacker
    err = _err(verifier, Request("POST", "/", headers, b'{"Limit":99}'))
    assert err.code == "InvalidSignatureException" and err.message.startswith("The request signature")


def test_header_auth_must_sign_the_target(verifier):
    req, _ = sign(headers={"X-Amz-Target": None})
    req.headers["x-amz-target"] = "DynamoDB_20120810.DeleteTable"
    err = _err(verifier, req)
    assert err.message == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."


def test_admin_accepts_any_service_scope(verifier):
    req, _ = sign(service="tidestream", headers={"X-Amz-Target": None})
    assert verifier.admin(req) == (ACCOUNT, "us-east-1")
    assert _err(verifier, req).message == "Credential should be scoped to correct service: 'dynamodb'."
    req.headers["authorization"] = req.headers["authorization"].replace("Signature=", "Signature=0")
    assert _err(verifier, req).code == "InvalidSignatureException"
    path, headers = presign()
    assert verifier.admin(Request("POST", path, headers, b""))[0] == ACCOUNT
    assert (
        _err(verifier, Request("GET", "/metrics", {"host": "x"}, b"")).code
        == "MissingAuthenticationTokenException"
    )


def test_credential_scope_parsing_is_string_based_and_exact():
    from tidestream.http import auth

    ok = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host"
    assert auth.parse_credential(ok) == ("AKID", "eu-west-1")
    assert auth.credential_scope("X-Amz-Credential=K/20260101/us-east-1/kinesis/aws4_request&X=1") == [
        "K",
        "20260101",
        "us-east-1",
        "kinesis",
        "aws4_request",
    ]
    for bad in (
        "AWS4-HMAC-SHA256 " + "Credential=" * 6000,  # took 2.9 s with a backtracking regex
        "Credential=AKID/2026010/eu-west-1/dynamodb/aws4_request",
        "Credential=AKID/20260101/eu-west-1/dynamodb/aws3_request",
        "Credential=/20260101/eu-west-1/dynamodb/aws4_request",
        "Credential=AKID/20260101/eu-west-1/dynamodb/extra/aws4_request",
    ):
        assert auth.credential_scope(bad) is None
    # the parser has no regular expression but a single-character class: linear by construction
    assert auth._SCOPE_END.pattern == r"[,&\s]"


def test_remembered_credential_scopes_answer_as_parsing_does():
    """parse_credential remembers a scope by its text up to the comma: random edits of a
    header (separators, truncations, long scopes) get the answer of a fresh parse, twice."""
    import random

    from tidestream.http import auth

    def parsed(text: str) -> tuple[str, str] | None:
        parts = auth.credential_scope(text)
        return None if parts is None else (parts[0], parts[2])

    header = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=h, Signature=s"
    pieces = "Credential=AKID/20260101/us-east-1/aws4_request, &\t x="
    rnd = random.Random(15)
    for i in range(20000):
        chars = list(header)
        for _ in range(rnd.randint(0, 4)):
            chars.insert(rnd.randrange(len(chars) + 1), rnd.choice(pieces))
        if i % 5 == 0:
            chars[rnd.randrange(len(chars))] = "/" * rnd.choice((1, 300))
        text = "".join(chars)
        assert auth.parse_credential(text) == parsed(text) == auth.parse_credential(text), text
    assert len(auth._PARSED_SCOPES) <= auth._PARSED_SCOPES_MAX
    assert all(len(scope) <= auth._CACHED_SCOPE_LENGTH for scope in auth._PARSED_SCOPES)


@pytest.mark.parametrize("separator", [" ", "  ", ",", ", ", " ,\t"])
def test_components_separated_by_spaces_or_commas(verifier, separator):
    """AWS accepts the Authorization components separated by whitespace alone as well as by
    commas (NetSPI AWSSigner PR 40 quotes real AWS traffic with "aws4_request SignedHeaders=")."""
    req, _ = sign()
    auth = req.headers["authorization"]
    req.headers["authorization"] = auth.replace(", ", separator)
    assert verifier(req) == (ACCOUNT, "us-east-1")


def test_space_separated_components_still_name_what_is_missing(verifier):
    req, _ = sign()
    cred = req.headers["authorization"].split(", ")[0]
    req.headers["authorization"] = cred + " Signature=abc"
    err = _err(verifier, req)
    assert (err.code, err.message) == (
        "IncompleteSignatureException",
        "Authorization header requires 'SignedHeaders' parameter. Authorization=" + cred + " Signature=abc",
    )
