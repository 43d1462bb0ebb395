"""TagResource, UntagResource, ListTagsOfResource (tables by ARN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...arns import parse_arn
from ...context import RequestContext
from ...errors import AccessDeniedException, ResourceNotFoundException, ValidationException
from ...tagging import is_valid_tag_text
from ..access import authorize_cross_account
from ..state import DynamoState
from ..tables import Table
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import ListTagsOfResourceInput, TagResourceInput, UntagResourceInput


MAX_TAGS = 50


_INVALID = "One or more parameter values were invalid: "


def check_resource_arn(arn: str) -> None:
    """A tag or policy operation's ARN, judged before any lookup, in AWS's words today
    (ack-api-quirks' catalogue DDB-TABLE-442, 2026-10-09; Alternator's
    ``test_tag_resource_incorrect``, run against AWS, sees "ARNs must start with 'arn:'")."""
    if not arn.startswith("arn:"):
        raise ValidationException(f"{_INVALID}ARNs must start with 'arn:': {arn}")
    parsed = parse_arn(arn)
    if parsed is not None and parsed.service != "dynamodb":
        raise ValidationException(f"{_INVALID}Provided Arn is not a DynamoDB resource arn: {arn}")
    if parsed is not None and (parsed.resource_type != "table" or "/index/" in parsed.resource):
        raise ValidationException(
            f"{_INVALID}Invalid resource arn provided, only table or stream is accepted. "
            f"Provided resource arn: {arn}"
        )


def _table_by_arn(state: DynamoState, ctx: RequestContext, arn: str) -> Table:
    check_resource_arn(arn)
    parsed = parse_arn(arn)
    if parsed is None or parsed.region != ctx.region:  # the catalogue: an ARN of another region
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    t = state.lookup(parsed.account, parsed.region, parsed.resource, control=True)
    if parsed.account != ctx.account_id:  # another account's table: its policy decides
        authorize_cross_account(ctx.account_id, ctx.operation, arn, t)
    if t is None:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    return t


#: AWS's tag texts (ack-api-quirks' ValidationException catalogue, DDB-TABLE-442, 2026-10-09,
#: also for "The Tag Key provided is invalid, Key: <k>" / "The Tag Value provided is invalid, Value: <v>")
TOO_MANY_TAGS = "Number of Tags exceed the current limit for the provided ResourceArn"


#: DynamoDB's punctuation in tag keys and values, besides Unicode letters, digits and spaces
#: (the Developer Guide's tagging restrictions; Alternator's ``test_tag_resource_incorrect``,
#: run against AWS, sees ``#``, ``!``, ``%``, ``;``, ``<``, ``|`` refused and letters of any
#: script accepted)
DYNAMODB_TAG_PUNCTUATION = "_.:/=+-@"


def check_tag_key(key: str) -> None:
    """A tag key's characters (TagResource, UntagResource, CreateTable), before the lookup."""
    if not is_valid_tag_text(key, DYNAMODB_TAG_PUNCTUATION):
        raise ValidationException(f"The Tag Key provided is invalid, Key: {key}")


def check_new_tags(tags: Sequence[Mapping[str, Any]]) -> None:
    """What a request's tags must satisfy before any table is looked at (TagResource and
    CreateTable): valid characters, no duplicate keys, no ``aws:`` keys, at most 50."""
    seen: set[str] = set()
    for tag in tags:
        key = tag["Key"]
        check_tag_key(key)
        if not is_valid_tag_text(tag["Value"], DYNAMODB_TAG_PUNCTUATION):
            raise ValidationException(f"The Tag Value provided is invalid, Value: {tag['Value']}")
        if key in seen:
            raise ValidationException(f"Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}")
        if key.startswith("aws:"):
            raise ValidationException(f"Tag Key cannot be prefixed with aws:, Key: {key}")
        seen.add(key)
    if len(seen) > MAX_TAGS:
        raise ValidationException(TOO_MANY_TAGS)


@operation("TagResource")
def tag_resource(state: DynamoState, ctx: RequestContext, p: TagResourceInput) -> dict:
    if not p["Tags"]:
        raise ValidationException("Atleast one Tag needs to be provided as Input.")
    check_new_tags(p["Tags"])
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    tags = dict(t.tags)
    for tag in p["Tags"]:
        tags[tag["Key"]] = tag["Value"]
    if len(tags) > MAX_TAGS:
        raise ValidationException(TOO_MANY_TAGS)
    t.tags = tags
    state.catalog.put(t)
    return {}


def _held_tag_keys(state: DynamoState, ctx: RequestContext, arn: str) -> set[str]:
    """The keys the table already holds, or none when it cannot be found: a key stored before
    tidestream checked tag characters stays removable (AWS never stored one), while a bad key
    for a missing table is still refused before the not-found answer."""
    try:
        return set(_table_by_arn(state, ctx, arn).tags)
    except (ValidationException, AccessDeniedException, ResourceNotFoundException):
        return set()


@operation("UntagResource")
def untag_resource(state: DynamoState, ctx: RequestContext, p: UntagResourceInput) -> dict:
    if not p["TagKeys"]:
        raise ValidationException("Atleast one Tag Key needs to be provided as Input.")
    check_resource_arn(p["ResourceArn"])
    held = _held_tag_keys(state, ctx, p["ResourceArn"])
    for key in p["TagKeys"]:
        if key not in held:
            check_tag_key(key)
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    for k in p["TagKeys"]:
        t.tags.pop(k, None)
    state.catalog.put(t)
    return {}


@operation("ListTagsOfResource")
def list_tags(state: DynamoState, ctx: RequestContext, p: ListTagsOfResourceInput) -> dict:
    t = _table_by_arn(state, ctx, p["ResourceArn"])
    items = [{"Key": k, "Value": v} for k, v in t.tags.items()]
    return {"Tags": items}
