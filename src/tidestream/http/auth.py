"""Who is calling: the SigV4 credential's account and region, and whether a web page is.

In the default ``--auth off`` mode the signature is not checked, but the credential scope still
picks the region and the access key picks the account, so resources stay isolated the way they
are on AWS.

:func:`browser_refusal` keeps web pages away from the state-changing operator routes
(``POST /_tidestream/reset``): any page open in a developer's browser can send a plain POST to
``http://127.0.0.1:4566``, signed or not, so those routes demand a header no page may send
cross-origin without a CORS preflight (which tidestream refuses for these routes) and turn away
requests a browser marks as coming from another site.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_CREDENTIAL = "Credential="
_SCOPE_END = re.compile(r"[,&\s]")


def credential_scope(text: str) -> list[str] | None:
    """The parts of the first ``Credential=KEY/DATE/REGION/SERVICE/aws4_request`` in ``text``
    (an Authorization header or a query string), or None if it is not one.

    String operations in linear time: a regular expression searched over an attacker's header
    (``Credential=`` repeated to 64 KB) backtracked for seconds on every request. The scope
    ends at a comma, ``&`` or whitespace; the usual header has a comma right after it, found
    with one ``find`` (the character-class search cost ~5k instructions per request)."""
    start = text.find(_CREDENTIAL)
    if start < 0:
        return None
    start += len(_CREDENTIAL)
    comma = text.find(",", start)
    scope = text[start:] if comma < 0 else text[start:comma]
    if "&" in scope or scope.split() != [scope]:  # not botocore's "...aws4_request, ": rare
        end = _SCOPE_END.search(text, start)
        scope = text[start : end.start() if end else len(text)]
    parts = scope.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        return None
    if len(parts[1]) != 8 or not parts[1].isdigit():
        return None
    return parts


#: ``Credential=...`` text up to its comma -> (access key id, region) or None: a client sends
#: the same scope on every request of a day, and parsing it cost ~12k instructions of ~200k
#: per GetItem. Bounded (emptied when full); longer scopes are parsed each time.
_PARSED_SCOPES: dict[str, tuple[str, str] | None] = {}
_PARSED_SCOPES_MAX = 1024
_CACHED_SCOPE_LENGTH = 256


def parse_credential(authorization: str) -> tuple[str, str] | None:
    """(access key id, region) from an ``AWS4-HMAC-SHA256 Credential=...`` header."""
    start = authorization.find(_CREDENTIAL)
    end = authorization.find(",", start) if start >= 0 else -1
    if end < 0 or end - start > _CACHED_SCOPE_LENGTH:
        return _key_and_region(authorization)
    # the answer depends on this text alone: the scope ends at or before the comma
    scope = authorization[start:end]
    try:
        return _PARSED_SCOPES[scope]
    except KeyError:
        pass
    found = _key_and_region(scope)
    if len(_PARSED_SCOPES) >= _PARSED_SCOPES_MAX:
        _PARSED_SCOPES.clear()
    _PARSED_SCOPES[scope] = found
    return found


def _key_and_region(text: str) -> tuple[str, str] | None:
    parts = credential_scope(text)
    return None if parts is None else (parts[0], parts[2])


#: temporary access key id (STS AssumeRole, GetSessionToken) -> the account it acts in
TEMPORARY_ACCOUNTS: dict[str, str] = {}


def account_for(access_key: str, default_account: str) -> str:
    """A 12-digit access key id is taken as the account id, as LocalStack-style tools do; a
    temporary key issued by STS acts in its role's account."""
    if len(access_key) == 12 and access_key.isdigit():
        return access_key
    return TEMPORARY_ACCOUNTS.get(access_key, default_account)


#: the header a state-changing operator request must carry (a page cannot add it cross-origin)
ADMIN_HEADER = "X-Tidestream-Admin"


def browser_refusal(headers: dict[str, str]) -> str | None:
    """Why a state-changing operator request may come from a web page (None when it cannot).

    Scripts and test fixtures send no ``Origin``; browsers send one on every POST, so an
    ``Origin`` must name this very server, reached by an IP address or ``localhost`` (a DNS
    name could be rebound by the page's own site to 127.0.0.1)."""
    if headers.get(ADMIN_HEADER.lower()) != "1":
        return f"missing header {ADMIN_HEADER}: 1"
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"a request from a web page (Sec-Fetch-Site: {site})"
    origin = headers.get("origin")
    if origin is not None and not _is_own_loopback_origin(origin, headers):
        return f"a request from a web page on another origin (Origin: {origin})"
    return None


def _is_own_loopback_origin(origin: str, headers: dict[str, str]) -> bool:
    try:
        parts = urlsplit(origin)
        host = parts.hostname or ""
    except ValueError:
        return False
    own = headers.get("host") or headers.get(":authority") or ""
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != own.lower():
        return False
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
