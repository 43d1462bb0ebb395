"""Resource-based policies for tables and their streams: PutResourcePolicy, GetResourcePolicy,
DeleteResourcePolicy.

A policy is kept with its table (in the catalog record), so it is durable and goes away with
the table. Each distinct document gets a new revision id; putting the same document again keeps
it (AWS: the operation is idempotent). ``ExpectedRevisionId`` makes a put or delete
conditional (``NO_POLICY``: only when none is attached). Nothing enforces the policies:
tidestream has no IAM.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from ...arns import parse_arn
from ...context import RequestContext
from ...errors import AwsError, LimitExceededException, ResourceNotFoundException, ValidationException
from ..state import DynamoState
from ..tables import Table
from . import operation
from .tags import check_resource_arn

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        DeleteResourcePolicyInput,
        GetResourcePolicyInput,
        PutResourcePolicyInput,
    )


#: AWS's limit on a policy document (UTF-8 bytes)
MAX_POLICY_BYTES = 20 * 1024
NO_POLICY = "NO_POLICY"


def _resource(state: DynamoState, ctx: RequestContext, arn: str) -> Table:
    """The table owning ``arn``: the table itself or its current stream."""
    check_resource_arn(arn)
    table = state.table(ctx, arn, control=True) if arn.startswith("arn:") else None
    parsed = parse_arn(arn)
    if table is not None and parsed is not None:  # state.table found it by ARN: it parses
        rest = parsed.resource[len(table.name) :]
        if rest == "" or (rest.startswith("/stream/") and table.stream_arn == arn):
            return table
    raise ResourceNotFoundException(f"Requested resource not found: ResourceArn: {arn} not found")


def _not_found(arn: str, expected: str | None = None) -> AwsError:
    if expected is None:
        text = f"Resource-based policy not found for the provided ResourceArn: {arn}"
    else:
        text = (
            f"Resource-based policy not found for the provided ResourceArn and "
            f"ExpectedRevisionId: {arn}, {expected}"
        )
    return AwsError(text, code="PolicyNotFoundException")


def _check_expected(current: dict[str, str] | None, arn: str, expected: str | None) -> None:
    """A conditional put or delete: the attached policy must have the expected revision."""
    if expected is None:
        return
    if expected == NO_POLICY:
        if current is not None:
            raise _not_found(arn, expected)
    elif current is None or current["RevisionId"] != expected:
        raise _not_found(arn, expected)


def _check_document(policy: str) -> None:
    if len(policy.encode()) > MAX_POLICY_BYTES:
        raise LimitExceededException(
            f"Policy document size exceeds the maximum of {MAX_POLICY_BYTES} bytes (20 KB)"
        )
    try:
        doc: Any = orjson.loads(policy)
    except orjson.JSONDecodeError:
        raise ValidationException("Invalid policy document: the policy is not valid JSON") from None
    if not isinstance(doc, dict) or not doc.get("Statement"):
        raise ValidationException("Invalid policy document: the policy must contain a Statement")


def _next_revision(current: dict[str, str] | None) -> str:
    """Revision ids are epoch microseconds, always above the previous one."""
    revision = time.time_ns() // 1000
    if current is not None and current["RevisionId"].isdigit():
        revision = max(revision, int(current["RevisionId"]) + 1)
    return str(revision)


@operation("PutResourcePolicy")
def put_resource_policy(state: DynamoState, ctx: RequestContext, p: PutResourcePolicyInput) -> dict:
    arn, policy = p["ResourceArn"], p["Policy"]
    table = _resource(state, ctx, arn)
    current = table.policies.get(arn)
    _check_expected(current, arn, p.get("ExpectedRevisionId"))
    _check_document(policy)
    if current is not None and current["Policy"] == policy:
        return {"RevisionId": current["RevisionId"]}
    entry = {"Policy": policy, "RevisionId": _next_revision(current)}
    table.policies[arn] = entry
    try:
        state.catalog.put(table)
    except BaseException:
        _undo(table, arn, current)
        raise
    return {"RevisionId": entry["RevisionId"]}


def _undo(table: Table, arn: str, previous: dict[str, str] | None) -> None:
    """A refused catalog write must leave the policy as it was."""
    if previous is None:
        table.policies.pop(arn, None)
    else:
        table.policies[arn] = previous


def attach_at_creation(table: Table, policy: str) -> None:
    """CreateTable's ``ResourcePolicy``: checked like PutResourcePolicy's, before the table
    is written."""
    _check_document(policy)
    table.policies[table.arn] = {"Policy": policy, "RevisionId": _next_revision(None)}


@operation("GetResourcePolicy")
def get_resource_policy(state: DynamoState, ctx: RequestContext, p: GetResourcePolicyInput) -> dict:
    arn = p["ResourceArn"]
    current = _resource(state, ctx, arn).policies.get(arn)
    if current is None:
        raise _not_found(arn)
    return dict(current)


@operation("DeleteResourcePolicy")
def delete_resource_policy(state: DynamoState, ctx: RequestContext, p: DeleteResourcePolicyInput) -> dict:
    arn = p["ResourceArn"]
    table = _resource(state, ctx, arn)
    current = table.policies.get(arn)
    if current is None:
        raise _not_found(arn)
    _check_expected(current, arn, p.get("ExpectedRevisionId"))
    del table.policies[arn]
    try:
        state.catalog.put(table)
    except BaseException:
        _undo(table, arn, current)
        raise
    return {"RevisionId": current["RevisionId"]}
