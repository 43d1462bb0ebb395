"""AWS Signature Version 4 verification (``--auth enforce``).

``make_authenticator(path)`` reads a credentials file (``ACCESS_KEY_ID SECRET_ACCESS_KEY
ACCOUNT_ID`` per line; blank lines and ``#`` comments allowed) and returns the callable the
application calls for every service request: ``(Request) -> (account_id, region)``, raising the
error AWS would answer otherwise.

Checks, in the order DynamoDB and Kinesis apply them (all answered with HTTP 400):

1. no ``Authorization`` header (nor ``X-Amz-Algorithm`` query parameter), or one that is not
   ``AWS4-...``: ``MissingAuthenticationTokenException`` (DynamoDB: "Request is missing
   Authentication Token", Kinesis: "Missing Authentication Token");
2. a missing ``Credential``/``SignedHeaders``/``Signature`` parameter or date header:
   ``IncompleteSignatureException`` naming each, then ``Authorization=<header>``;
3. an ``X-Amz-Date`` not in ISO-8601 basic format: ``IncompleteSignatureException``;
4. a timestamp more than 5 minutes away from the server clock: ``InvalidSignatureException``
   "Signature expired: <t> is now earlier than <now-5min> (<now> - 5 min.)" (or "Signature not
   yet current: <t> is still later than <now+5min> (<now> + 5 min.)");
5. ``host`` not signed, 6. another algorithm, 7. a credential that is not 5 slash-separated
   parts, 8. a scope for another service / terminator / day: Incomplete- or
   ``InvalidSignatureException`` with AWS's texts;
9. an unknown access key: ``UnrecognizedClientException`` "The security token included in the
   request is invalid.";
10. a signature that does not match: ``InvalidSignatureException`` "The request signature we
    calculated does not match ..." (the expected canonical request is logged at DEBUG).

What a signature must cover (these JSON services have no unsigned-payload operations): the
canonical request always uses the SHA-256 of the body as sent, so an ``X-Amz-Content-SHA256:
UNSIGNED-PAYLOAD`` header (S3's escape hatch) is a mismatch, in the header and in the
query-string (presigned) form alike; and a request carrying ``X-Amz-Target`` must have signed
it, or a signature made for one operation could be replayed as another.  A presigned URL's
``X-Amz-Expires`` must be a number of seconds no larger than a week (604800), as on AWS.

``Verifier.admin`` checks the operator routes (``/_tidestream/*``, ``/metrics``): the same
rules, but the credential may be scoped to any service, so any SigV4 signer works.

Cost: the signing key depends only on (secret, day, region, service), so it is derived once and
cached; a request then costs one SHA-256 of the body, one of the canonical request and one
HMAC of the string to sign. The payload hash is taken over the bytes the client sent (before the
HTTP layer's gzip decoding: ``Request.raw_body``).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from ..errors import (
    AwsError,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from .auth import credential_scope
from .messages import Request

log = logging.getLogger("tidestream.auth")

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 300  # seconds: AWS's 5 minutes
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

MSG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)
MSG_UNKNOWN_KEY = "The security token included in the request is invalid."
MSG_HOST_UNSIGNED = "'Host' must be a 'SignedHeader' in the AWS Authorization."
MSG_TARGET_UNSIGNED = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
MAX_EXPIRES = 604800  # seconds: a presigned URL lives at most a week, as on AWS
MSG_EXPIRES_TOO_LONG = f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
MSG_EXPIRES_NOT_NUMBER = "X-Amz-Expires should be a number"

_BASIC_DATE = re.compile(r"\d{8}T\d{6}Z")
#: the service a credential scope names (``Credential=KEY/DAY/REGION/SERVICE/aws4_request``)
_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: X-Amz-Target prefix -> (signing name, "missing token" text)
_SERVICES = {
    "DynamoDB_20120810": ("dynamodb", "Request is missing Authentication Token"),
    "DynamoDBStreams_20120810": ("dynamodb", "Request is missing Authentication Token"),
    "Kinesis_20131202": ("kinesis", "Missing Authentication Token"),
}


def IncompleteSignatureException(message: str) -> AwsError:  # an error "type", not in errors.py
    return AwsError(message, code="IncompleteSignatureException", status=400)


def _invalid(message: str) -> AwsError:
    return InvalidSignatureException(message, status=400)


# --------------------------------------------------------------------------- credentials


def load_credentials(path: str) -> dict[str, tuple[str, str]]:
    """``{access_key_id: (secret_access_key, account_id)}`` from a credentials file."""
    creds: dict[str, tuple[str, str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3:
                raise ValueError(f"{path}:{n}: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID'")
            creds[parts[0]] = (parts[1], parts[2])
    return creds


# --------------------------------------------------------------------------- canonical form


def canonical_uri(path: str) -> str:
    """The path as SigV4 (non-S3) canonicalizes it: dot segments and empty segments removed,
    then every segment URI-encoded once more (the path on the wire is already encoded)."""
    if path == "/" or not path:
        return "/"
    segs = [s for s in path.split("/") if s and s != "."]
    out: list[str] = []
    for s in segs:
        if s == "..":
            if out:
                out.pop()
        else:
            out.append(s)
    norm = ("/" if path[0] == "/" else "") + "/".join(out)
    if path[-1] == "/" and out:
        norm += "/"
    return quote(norm, safe="/~")


def canonical_query(query: str, drop: str | None = None) -> str:
    """Query parameters decoded, re-encoded the SigV4 way, sorted by key then value."""
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        k, _, v = part.partition("=")
        k = quote(unquote(k), safe="-_.~")
        if k == drop:
            continue
        pairs.append((k, quote(unquote(v), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _header_value(headers: dict[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None and name == "host":
        value = headers.get(":authority")
    if value is None:
        return ""
    return " ".join(value.split())


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed: list[str],
    payload_hash: str,
    drop_query: str | None = None,
) -> str:
    """The SigV4 canonical request. ``headers`` are lower-cased (as :class:`Request` has them);
    ``signed`` is the client's SignedHeaders list, in its order."""
    lines = "".join(f"{h}:{_header_value(headers, h)}\n" for h in signed)
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query, drop_query),
            lines,
            ";".join(signed),
            payload_hash,
        )
    )


# --------------------------------------------------------------------------- request pieces

#: whitespace that starts another ``Key=`` component (a header separated by spaces only)
_SPACE_SEPARATOR = re.compile(r"\s+(?=[A-Za-z-]+=)")


def _components(rest: str) -> list[str]:
    """The ``Key=value`` components after the algorithm. AWS separates them by commas or by
    whitespace alone (a header "Credential=.../aws4_request SignedHeaders=..., Signature=..." is
    accepted: NetSPI AWSSigner PR 40, from real AWS traffic); botocore's ", " is the common
    case and costs one split."""
    out = []
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        if " " in part or "\t" in part:
            out.extend(_SPACE_SEPARATOR.split(part))
        else:
            out.append(part)
    return out


def _authorization_params(auth: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(algorithm, {Credential, SignedHeaders, Signature}) of an Authorization header, raising
    AWS's IncompleteSignatureException naming every missing part (and a missing date header)."""
    algorithm, _, rest = auth.strip().partition(" ")
    params: dict[str, str] = {}
    for part in _components(rest):
        k, eq, v = part.partition("=")
        if not eq:
            raise IncompleteSignatureException(
                f"'{k}' not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'."
            )
        params[k.strip()] = v.strip()
    msg = ""
    for name in ("Credential", "Signature", "SignedHeaders"):
        if not params.get(name):
            msg += f"Authorization header requires '{name}' parameter. "
    if "x-amz-date" not in headers and "date" not in headers:
        msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
    if msg:
        raise IncompleteSignatureException(msg + "Authorization=" + auth)
    return algorithm, params


def _check_signed_headers(signed: list[str], headers: dict[str, str]) -> None:
    """``host`` must be signed (AWS's rule), and ``x-amz-target`` whenever it is sent: it names
    the operation, so an unsigned one would let a signature be replayed as another operation."""
    if "host" not in signed:
        raise _invalid(MSG_HOST_UNSIGNED)
    if "x-amz-target" not in signed and "x-amz-target" in headers:
        raise _invalid(MSG_TARGET_UNSIGNED)


def _payload_hash(req: Request) -> str:
    """The SHA-256 of the body as sent (before gzip decoding: ``Request.raw_body``).

    Always the real hash: DynamoDB and Kinesis have no unsigned-payload operation, so a client
    that declares ``UNSIGNED-PAYLOAD`` (or any other value) in ``X-Amz-Content-SHA256`` gets
    the mismatch error instead of a signature that leaves the body open to change."""
    body = req.raw_body if req.raw_body is not None else req.body
    actual = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    declared = req.headers.get("x-amz-content-sha256")
    if declared is not None and declared != actual:
        raise _invalid(MSG_MISMATCH)
    return actual


def _expires_seconds(expires: str | None) -> float:
    """A presigned URL's lifetime: ``X-Amz-Expires`` seconds (at most a week, as on AWS), or
    the 5-minute clock skew when the URL names none."""
    if expires is None or expires == "":
        return MAX_SKEW
    if not expires.isdigit():
        raise IncompleteSignatureException(MSG_EXPIRES_NOT_NUMBER)
    seconds = int(expires)
    if seconds > MAX_EXPIRES:
        raise IncompleteSignatureException(MSG_EXPIRES_TOO_LONG)
    return float(seconds)


# --------------------------------------------------------------------------- verification


def _basic(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))


class Verifier:
    """Checks requests against a set of credentials; see the module docstring."""

    def __init__(
        self, credentials: dict[str, tuple[str, str]], clock: Callable[[], float] = time.time
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._last_date = ("", 0.0)

    def signing_key(self, access_key: str, day: str, region: str, service: str) -> bytes:
        ck = (access_key, day, region, service)
        key = self._keys.get(ck)
        if key is None:
            secret = self.credentials[access_key][0]
            k = hmac.digest(("AWS4" + secret).encode(), day.encode(), "sha256")
            k = hmac.digest(k, region.encode(), "sha256")
            k = hmac.digest(k, service.encode(), "sha256")
            key = hmac.digest(k, b"aws4_request", "sha256")
            if len(self._keys) >= 4096:
                self._keys.clear()
            self._keys[ck] = key
        return key

    def _epoch(self, stamp: str) -> float:
        last, value = self._last_date
        if stamp == last:
            return value
        value = float(
            calendar.timegm(
                (
                    int(stamp[0:4]),
                    int(stamp[4:6]),
                    int(stamp[6:8]),
                    int(stamp[9:11]),
                    int(stamp[11:13]),
                    int(stamp[13:15]),
                )
            )
        )
        self._last_date = (stamp, value)
        return value

    def __call__(self, req: Request) -> tuple[str, str]:
        """(account id, region) of a service request, whose X-Amz-Target picks the service."""
        prefix = req.headers.get("x-amz-target", "").partition(".")[0]
        service, missing_text = _SERVICES.get(prefix, _SERVICES["DynamoDB_20120810"])
        return self.verify(req, service, missing_text)

    def admin(self, req: Request) -> tuple[str, str]:
        """(account id, region) of an operator request (``/_tidestream/*``, ``/metrics``).

        The credential may be scoped to any service: the route belongs to no AWS service, and
        letting any signer (botocore's ``SigV4Auth`` for "dynamodb", curl's ``--aws-sigv4``...)
        work keeps operator scripts simple.  Everything else is checked as for the services.
        """
        claimed = credential_scope(req.headers.get("authorization") or unquote(req.path))
        service = claimed[3] if claimed else "dynamodb"
        return self.verify(req, service, _SERVICES["DynamoDB_20120810"][1])

    def verify(self, req: Request, service: str, missing_text: str) -> tuple[str, str]:
        """Check ``req``'s signature for ``service``; raise AWS's error when it does not hold."""
        headers = req.headers
        path, _, query = req.path.partition("?")
        auth = headers.get("authorization")
        if query and "X-Amz-Algorithm=" in query:
            if auth is not None:
                raise _invalid(
                    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
                )
            return self._presigned(req, path, query, service)
        if auth is None or not auth.strip().startswith("AWS4-"):
            raise MissingAuthenticationTokenException(missing_text, status=400)
        algorithm, params = _authorization_params(auth, headers)
        stamp = self._timestamp(headers.get("x-amz-date"), headers.get("date"))
        self._check_time(stamp, MAX_SKEW)
        signed = params["SignedHeaders"].split(";")
        _check_signed_headers(signed, headers)
        if algorithm != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). "
            )
        access_key, day, region = self._scope(params["Credential"], stamp, service)
        payload_hash = _payload_hash(req)
        creq = canonical_request(req.method, path, query, headers, signed, payload_hash)
        self._check_signature(creq, stamp, access_key, day, region, service, params["Signature"])
        return self.credentials[access_key][1], region

    # pieces ----------------------------------------------------------------------------
    def _timestamp(self, stamp: str | None, date_header: str | None) -> str:
        if stamp is not None:
            if not _BASIC_DATE.fullmatch(stamp):
                raise IncompleteSignatureException(
                    f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601"
                )
            try:
                self._epoch(stamp)
            except ValueError:
                raise IncompleteSignatureException(
                    f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601"
                ) from None
            return stamp
        try:
            dt = parsedate_to_datetime(date_header or "")
        except (TypeError, ValueError, IndexError):
            raise IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{date_header}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        return _basic(dt.timestamp())

    def _check_time(self, stamp: str, skew: float) -> None:
        t = self._epoch(stamp)
        now = self.clock()
        if t < now - skew:
            raise _invalid(
                f"Signature expired: {stamp} is now earlier than {_basic(now - skew)} "
                f"({_basic(now)} - {int(skew // 60)} min.)"
            )
        if t > now + MAX_SKEW:
            raise _invalid(
                f"Signature not yet current: {stamp} is still later than "
                f"{_basic(now + MAX_SKEW)} ({_basic(now)} + 5 min.)"
            )

    def _scope(self, credential: str, stamp: str, service: str) -> tuple[str, str, str]:
        parts = credential.rstrip("/").split("/")
        if len(parts) != 5:
            raise IncompleteSignatureException(
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                f"keyid/date/region/service/term, got '{credential}'"
            )
        access_key, day, region, svc, term = parts
        msgs = []
        if not _REGION.fullmatch(region):
            msgs.append(f"Credential should be scoped to a valid region, not '{region}'.")
        if svc != service:
            msgs.append(f"Credential should be scoped to correct service: '{service}'.")
        if term != "aws4_request":
            msgs.append(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{term}'.")
        if day != stamp[:8]:
            msgs.append(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                f"of date from HTTP: '{day}' != '{stamp[:8]}', from '{stamp}'."
            )
        if msgs:
            raise _invalid(" ".join(msgs))
        if access_key not in self.credentials:
            raise UnrecognizedClientException(MSG_UNKNOWN_KEY, status=400)
        return access_key, day, region

    def _check_signature(
        self, creq: str, stamp: str, access_key: str, day: str, region: str, service: str, signature: str
    ) -> None:
        try:  # header values are latin-1-decoded wire bytes: hash those very bytes
            raw = creq.encode("latin-1")
        except UnicodeEncodeError:
            raw = creq.encode("utf-8", "surrogateescape")
        sts = "%s\n%s\n%s/%s/%s/aws4_request\n%s" % (
            ALGORITHM,
            stamp,
            day,
            region,
            service,
            hashlib.sha256(raw).hexdigest(),
        )
        key = self.signing_key(access_key, day, region, service)
        # the one-shot C HMAC: hmac.new's Python object costs four calls more per request
        expected = hmac.digest(key, sts.encode(), "sha256").hex()
        if not hmac.compare_digest(expected, signature):
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "signature mismatch for %s; canonical request:\n%s\nstring to sign:\n%s",
                    access_key,
                    creq,
                    sts,
                )
            raise _invalid(MSG_MISMATCH)

    def _presigned(self, req: Request, path: str, query: str, service: str) -> tuple[str, str]:
        """The query-string form: X-Amz-Algorithm, -Credential, -Date, -Expires,
        -SignedHeaders and -Signature in the URL."""
        q: dict[str, str] = {}
        for part in query.split("&"):
            k, _, v = part.partition("=")
            q[unquote(k)] = unquote(v)
        msg = ""
        for name in (
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders",
            "X-Amz-Date",
        ):
            if not q.get(name):
                msg += f"AWS query-string parameters must include '{name}'. "
        if msg:
            raise IncompleteSignatureException(msg + "Re-examine the query-string parameters.")
        stamp = self._timestamp(q["X-Amz-Date"], None)
        self._check_time(stamp, _expires_seconds(q.get("X-Amz-Expires")))
        signed = q["X-Amz-SignedHeaders"].split(";")
        _check_signed_headers(signed, req.headers)
        if q["X-Amz-Algorithm"] != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{q['X-Amz-Algorithm']}' (only {ALGORITHM} for now). "
            )
        access_key, day, region = self._scope(q["X-Amz-Credential"], stamp, service)
        creq = canonical_request(
            req.method, path, query, req.headers, signed, _payload_hash(req), drop_query="X-Amz-Signature"
        )
        self._check_signature(creq, stamp, access_key, day, region, service, q["X-Amz-Signature"])
        return self.credentials[access_key][1], region


def make_authenticator(credentials_path: str) -> Verifier:
    """The ``--auth enforce`` authenticator for the credentials in ``credentials_path``."""
    return Verifier(load_credentials(credentials_path))
