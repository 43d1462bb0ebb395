"""Reading the SigV4 Authorization header: who is calling and for which region.

In the default ``--auth off`` mode the signature is not checked, but the credential scope still
picks the region and the access key picks the account, so resources stay isolated the way they
are on AWS.
"""

from __future__ import annotations

import re

_CRED_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def parse_credential(authorization: str) -> tuple[str, str] | None:
    """(access key id, region) from an ``AWS4-HMAC-SHA256 Credential=...`` header."""
    m = _CRED_RE.search(authorization)
    if m is None:
        return None
    return m.group(1), m.group(3)


def account_for(access_key: str, default_account: str) -> str:
    """A 12-digit access key id is taken as the account id, as LocalStack-style tools do."""
    if len(access_key) == 12 and access_key.isdigit():
        return access_key
    return default_account
