"""Kinesis streaming destinations of a table, and their status machine.

    (none) --Enable--> ENABLING --stream ok--> ACTIVE --Update--> UPDATING --> ACTIVE
                               \\--no stream--> ENABLE_FAILED
    ACTIVE --Disable--> DISABLING --> DISABLED;  DISABLED | ENABLE_FAILED --Enable--> ENABLING

Transitions complete ``delay`` seconds after they start (``--status-delay``, default 0), evaluated
lazily when someone looks. Only changes made while a destination is ACTIVE are captured.
A destination is a plain dict stored on the table (so it survives restarts with it):
``{"arn", "status", "precision" (None until configured), "until", "description"}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..arns import parse_arn

ENABLING, ACTIVE, UPDATING = "ENABLING", "ACTIVE", "UPDATING"
DISABLING, DISABLED, ENABLE_FAILED = "DISABLING", "DISABLED", "ENABLE_FAILED"
_SETTLES_TO = {UPDATING: ACTIVE, DISABLING: DISABLED}

#: answers whether a stream ARN names an existing stream, and why not
StreamCheck = Callable[[str], str | None]


def foreign(arn: str, table: Any) -> str | None:
    """Why a stream can't serve this table: it must be in the table's account and region."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.service != "kinesis":
        return f"Invalid Kinesis stream ARN: {arn}"
    if parsed.region != table.region or parsed.account != table.account:
        return (
            f"Kinesis stream {arn} must be in the same account ({table.account}) and "
            f"region ({table.region}) as the table"
        )
    return None


def settle(dest: dict[str, Any], check: StreamCheck, table: Any, now: float | None = None) -> bool:
    """Finish a due transition; returns True if the destination changed."""
    status = dest["status"]
    if status not in (ENABLING, UPDATING, DISABLING):
        return False
    now = time.time() if now is None else now
    if now < dest.get("until", 0):
        return False
    if status == ENABLING:
        problem = foreign(dest["arn"], table) or check(dest["arn"])
        if problem:
            dest["status"], dest["description"] = ENABLE_FAILED, problem
        else:
            dest["status"], dest["description"] = ACTIVE, ""
    else:
        dest["status"] = _SETTLES_TO[status]
    return True


def begin(dest: dict[str, Any], status: str, delay: float) -> None:
    dest["status"] = status
    dest["until"] = time.time() + delay


def fail(dest: dict[str, Any], reason: str) -> None:
    """A destination whose stream went away stops capturing (Describe tells why)."""
    dest["status"], dest["description"] = ENABLE_FAILED, reason


def describe(dest: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"StreamArn": dest["arn"], "DestinationStatus": dest["status"]}
    if dest.get("description") and dest["status"] == ENABLE_FAILED:
        d["DestinationStatusDescription"] = dest["description"]
    if dest.get("precision"):
        d["ApproximateCreationDateTimePrecision"] = dest["precision"]
    return d
