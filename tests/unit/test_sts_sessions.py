"""Temporary credentials expire: the key leaves the authenticator's keys and its account map."""

from __future__ import annotations

from tidestream.context import RequestContext
from tidestream.http.auth import TEMPORARY_ACCOUNTS, account_for
from tidestream.sts.service import StsService


def test_issued_keys_expire():
    now = [1000.0]
    keys: dict[str, tuple[str, str]] = {}
    sts = StsService(keys, clock=lambda: now[0])
    ctx = RequestContext("000000000000", "us-east-1", "r1")
    out = sts.assume_role(
        ctx, {"RoleArn": "arn:aws:iam::999988887777:role/r", "RoleSessionName": "s1", "DurationSeconds": 900}
    )
    key = out["Credentials"]["AccessKeyId"]
    assert out["Credentials"]["Expiration"] == 1900.0
    assert keys[key][1] == "999988887777" and account_for(key, "000000000000") == "999988887777"
    now[0] = 1899.0
    sts.expire()
    assert key in keys
    now[0] = 1900.0
    sts.expire()
    assert key not in keys and key not in TEMPORARY_ACCOUNTS
    assert account_for(key, "000000000000") == "000000000000"
