"""STS logic: who a caller is, and temporary credentials that work against this server.

Temporary credentials (AssumeRole, GetSessionToken) are kept in memory only: they live at most
12 hours on AWS too, and a restarted server forgets them (callers ask for new ones, as SDKs do
when theirs expire). Each issued key is registered with the request authenticator: under
``--auth enforce`` its secret verifies signatures, and in every mode the key's requests act in
the role's account (see :data:`tidestream.http.auth.TEMPORARY_ACCOUNTS`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ..context import RequestContext
from ..errors import AwsError
from ..http.auth import TEMPORARY_ACCOUNTS
from ..service import Operation

if TYPE_CHECKING:
    from ..protocol.shapes.sts import (
        AssumeRoleRequest,
        AssumeRoleWithWebIdentityRequest,
        GetCallerIdentityRequest,
        GetSessionTokenRequest,
    )

DEFAULT_DURATION = 3600
#: seconds between sweeps of expired sessions (an expired key works at most this much longer)
EXPIRY_INTERVAL = 5.0
_UPPER = string.ascii_uppercase + string.digits
#: arn:aws:iam::<12 digits>:role/<path/>name
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})")


#: AWS's answer to a WebIdentityToken that is not a JWT (quoted from STS by AWS's Cognito
#: troubleshooting page and by EKS users: InvalidIdentityToken, HTTP 400)
_NOT_A_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (header.payload.signature). The signature cannot be checked here (no
    identity provider is reachable), so only the shape is: three parts, a JSON object inside."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise AwsError(_NOT_A_JWT, code="InvalidIdentityToken")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        claims = None
    if not isinstance(claims, dict):
        raise AwsError(_NOT_A_JWT, code="InvalidIdentityToken")
    return claims


def _oidc_provider(account: str, claims: dict[str, Any]) -> str:
    """The IAM OIDC provider an issuer stands for, as STS names it in ``Provider``."""
    issuer = str(claims.get("iss", "")).removeprefix("https://")
    return f"arn:aws:iam::{account}:oidc-provider/{issuer}"


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Session:
    """One set of temporary credentials and who they speak for."""

    access_key: str
    secret: str
    token: str
    account: str
    expires: float
    #: the identity GetCallerIdentity reports for the session
    arn: str
    user_id: str


class StsService:
    """Operations ``op(ctx, params) -> dict`` for the Query endpoint, and the issued sessions."""

    def __init__(
        self, credentials: dict[str, tuple[str, str]] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        #: the ``--auth enforce`` authenticator's keys ({access key: (secret, account)}), where
        #: issued keys are added so their signatures verify
        self.credentials = credentials
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.operations: dict[str, Operation] = {
            "GetCallerIdentity": self.get_caller_identity,
            "AssumeRole": self.assume_role,
            "GetSessionToken": self.get_session_token,
            "AssumeRoleWithWebIdentity": self.assume_role_with_web_identity,
        }

    # sessions ---------------------------------------------------------------------------
    def expire(self) -> None:
        """Forget sessions past their expiry (called by every STS request and periodically)."""
        now = self.clock()
        for key in [k for k, s in self.sessions.items() if s.expires <= now]:
            del self.sessions[key]
            TEMPORARY_ACCOUNTS.pop(key, None)
            if self.credentials is not None:
                self.credentials.pop(key, None)

    async def expiry(self, stopping: asyncio.Event, interval: float = EXPIRY_INTERVAL) -> None:
        """Expire sessions between STS requests too, so an expired key stops working."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), interval)
            except TimeoutError:
                self.expire()

    def _issue(self, account: str, duration: int, arn: str, user_id: str) -> Session:
        self.expire()
        token = base64.b64encode(b"tidestream" + secrets.token_bytes(150)).decode()
        s = Session(
            access_key="ASIA" + _random(_UPPER, 16),
            secret=base64.b64encode(secrets.token_bytes(30)).decode(),
            token=token,
            account=account,
            expires=self.clock() + duration,
            arn=arn,
            user_id=user_id,
        )
        self.sessions[s.access_key] = s
        TEMPORARY_ACCOUNTS[s.access_key] = account
        if self.credentials is not None:
            self.credentials[s.access_key] = (s.secret, account)
        return s

    @staticmethod
    def _credentials(s: Session) -> dict[str, Any]:
        return {
            "AccessKeyId": s.access_key,
            "SecretAccessKey": s.secret,
            "SessionToken": s.token,
            "Expiration": s.expires,
        }

    # operations -------------------------------------------------------------------------
    def get_caller_identity(self, ctx: RequestContext, params: GetCallerIdentityRequest) -> dict:
        s = self.sessions.get(ctx.access_key)
        if s is not None:
            return {"UserId": s.user_id, "Account": s.account, "Arn": s.arn}
        return {
            "UserId": ctx.account_id,
            "Account": ctx.account_id,
            "Arn": f"arn:aws:iam::{ctx.account_id}:root",
        }

    def _assume(self, params: AssumeRoleRequest | AssumeRoleWithWebIdentityRequest) -> Session:
        """A session for the role named by RoleArn, as AssumeRole and its web-identity form issue."""
        role_arn, session_name = params["RoleArn"], params["RoleSessionName"]
        m = _ROLE_ARN.fullmatch(role_arn)
        if m is None:
            raise AwsError(f"{role_arn} is invalid", code="ValidationError")
        account, role = m.group(1), m.group(2)
        role_id = "AROA" + _random(_UPPER, 17)
        arn = f"arn:aws:sts::{account}:assumed-role/{role}/{session_name}"
        return self._issue(
            account, params.get("DurationSeconds") or DEFAULT_DURATION, arn, f"{role_id}:{session_name}"
        )

    def assume_role(self, ctx: RequestContext, params: AssumeRoleRequest) -> dict:
        s = self._assume(params)
        return {
            "Credentials": self._credentials(s),
            "AssumedRoleUser": {"AssumedRoleId": s.user_id, "Arn": s.arn},
        }

    def assume_role_with_web_identity(
        self, ctx: RequestContext, params: AssumeRoleWithWebIdentityRequest
    ) -> dict:
        """What EKS pods, GitHub Actions and the SDKs' web-identity providers call, unsigned. The
        token's signature is not verified (there is no identity provider to ask), so under
        ``--auth enforce`` the unsigned request is refused before it reaches here."""
        claims = _jwt_claims(params["WebIdentityToken"])
        s = self._assume(params)
        audience = claims.get("aud")
        out: dict[str, Any] = {
            "Credentials": self._credentials(s),
            "SubjectFromWebIdentityToken": str(claims.get("sub", "")),
            "AssumedRoleUser": {"AssumedRoleId": s.user_id, "Arn": s.arn},
            "Provider": params.get("ProviderId") or _oidc_provider(s.account, claims),
        }
        if audience:
            out["Audience"] = str(audience[0] if isinstance(audience, list) else audience)
        return out

    def get_session_token(self, ctx: RequestContext, params: GetSessionTokenRequest) -> dict:
        """Session credentials speak for their caller (GetCallerIdentity answers the same). Session
        credentials may not ask for more: AWS answers 403 AccessDenied "Cannot call
        GetSessionToken with session credentials" (quoted by aws-sdk-net issue 1704 and Hadoop's
        S3A ITestS3ATemporaryCredentials run against AWS)."""
        if ctx.access_key in self.sessions:
            raise AwsError(
                "Cannot call GetSessionToken with session credentials", code="AccessDenied", status=403
            )
        caller = self.get_caller_identity(ctx, {})
        s = self._issue(
            caller["Account"], params.get("DurationSeconds") or 43200, caller["Arn"], caller["UserId"]
        )
        return {"Credentials": self._credentials(s)}
